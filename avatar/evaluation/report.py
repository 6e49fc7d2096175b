"""docs/benchmarks.md's tables, made from the committed bench results (bench/results/NAME.json).

A table's (or a generated paragraph's) place in the page is marked by `<!-- table: NAME -->` and
`<!-- end table -->`; the rest of the page is prose, written by hand. `python -m avatar.evaluation.report`
rewrites the marked tables from the results; `--check` only says whether the page is up to date (the test suite
checks the committed page).
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avatar.evaluation.results import RESULTS, read_results
from rigs.fileio import write_text_atomic
from rigs.paths import REPOSITORY

PAGE = REPOSITORY / "docs" / "benchmarks.md"
WIDTH = 116
MARKED = re.compile(r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end table -->)", re.S)


def rows(header: list[str], body: list[list[str]]) -> str:
    """A markdown table."""
    lines = [header, ["---"] * len(header), *body]
    return "".join("| " + " | ".join(cells) + " |\n" for cells in lines)


def source(*documents: dict) -> str:
    """Where the figures come from: each result's command and date, and the machine's load while it ran."""
    parts = []
    for document in documents:
        machine = document["machine"]
        # Above the core count, other work shared the machine, or (before) a bench run just before this one, or
        # (after) this run's own threads and encoders: the load alone cannot tell, so it is given, not judged.
        parts.append(
            f"`{document['command']}`, {document['date']}, {machine['cores']} cores, load average "
            f"{machine['load_average']:g} before the run and {machine['load_average_after']:g} after"
        )
    return prose("Measured by " + "; ".join(parts) + ".")


def prose(text: str) -> str:
    """A generated paragraph, wrapped as the page's hand-written prose is."""
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False) + "\n"


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def alignment_table(folder: Path) -> str:
    """Forced alignment on the BEAT takes (bench/alignment.py)."""
    document = read_results("alignment", folder)
    takes, long = document["figures"]["takes_one_by_one"], document["figures"]["long_input"]
    both = lambda key, show: [show(takes[key]), show(long[key])]  # noqa: E731
    milliseconds = lambda v: f"{v:.0f} ms"  # noqa: E731
    body = [
        ["word-start error, median", *both("word_median_ms", milliseconds), "≤ 40 ms"],
        ["words starting within 100 ms", *both("word_within_100ms", percent), "≥ 90 %"],
        ["phone-start error, median", *both("phone_median_ms", milliseconds), "≤ 40 ms"],
        ["phones starting within 50 ms", *both("phone_within_50ms", percent), "—"],
        ["real-time factor (alignment time / audio time)", *both("rtf", lambda v: f"{v:.3f}"), "≤ 0.15"],
        ["peak resident memory of the whole run", "", f"{document['figures']['peak_rss_mb']:.0f} MB", "bounded"],
    ]
    header = [
        "measure",
        "three takes, one by one",
        f"one {long['minutes']:.1f}-minute input (the takes three times)",
        "target",
    ]
    return rows(header, body) + "\n" + source(document)


def procedural_table(folder: Path) -> str:
    """The procedural face and body on the BEAT takes (bench/procedural_face.py, bench/procedural_body.py)."""
    face_document, body_document = read_results("procedural_face", folder), read_results("procedural_body", folder)
    faces, bodies = face_document["figures"], body_document["figures"]["takes"]
    capture = body_document["figures"]["capture"]
    takes = list(faces)
    per_take = lambda show: [show(faces[t], bodies[t]) for t in takes]  # noqa: E731

    def blinks(face: dict, _body: dict) -> str:
        lengths = face["blink_ms"]
        span = f" ({min(lengths):.0f}–{max(lengths):.0f} ms)" if lengths else ""
        return f"{face['blinks_per_min']:.1f}{span}"

    real_bps = capture["beats_per_s"]
    body = [
        [
            "bilabial closure (P/B/M intervals with a sealed frame)",
            *per_take(lambda f, b: percent(f["closure"])),
            "≥ 95 %",
        ],
        [
            "open-vowel jawOpen, and its ratio to P/B/M",
            *per_take(lambda f, b: f"{f['open_jaw']:.3f} ({f['jaw_ratio']:.1f}×)"),
            "≥ 0.25 and ≥ 3×",
        ],
        ["blinks at neutral, per minute (lengths)", *per_take(blinks), "8–30, 100–400 ms"],
        [
            f"BeatAlign, generated body, mean of seeds 0–{len(bodies[takes[0]]['beat_align']) - 1} (real capture "
            f"{capture['beat_align']:.3f})",
            *per_take(lambda f, b: f"{np.mean(b['beat_align']):.3f}"),
            "≥ real capture",
        ],
        [
            f"motion beats per second (real capture {real_bps:.2f})",
            *per_take(lambda f, b: f"{np.mean(b['beats_per_s']):.2f}"),
            f"{0.5 * real_bps:.2f}–{1.5 * real_bps:.2f}",
        ],
        [
            "wrist speed ordered anger, happiness, surprise, fear > neutral > sadness",
            *per_take(lambda f, b: "yes" if b["wrist_speed_ordered"] else "no"),
            "yes",
        ],
    ]
    header = ["measure", *(t.removeprefix("2_scott_") for t in takes), "target"]
    return rows(header, body) + "\n" + source(face_document, body_document)


def procedural_emotions(folder: Path) -> str:
    """How strongly the procedural face and body show each emotion, on the first take, as a paragraph."""
    faces = read_results("procedural_face", folder)["figures"]
    bodies = read_results("procedural_body", folder)["figures"]["takes"]
    first, *others = list(faces)
    shown, neutral = faces[first]["emotion_at_08"], faces[first]["emotion_at_neutral"]
    spread = max((abs(faces[t]["emotion_at_08"][e] - v) for t in others for e, v in shown.items()), default=0.0)
    speeds = sorted(bodies[first]["wrist_speed_cm_s"].items(), key=lambda item: -item[1])
    short = first.removeprefix("2_scott_")
    return prose(
        f"Mean of each emotion's defining ARKit shapes over speech frames at intensity 0.8 / at neutral (take "
        f"{short}; the other takes agree within {spread:.3f}): "
        + ", ".join(f"{e} {v:.2f}/{neutral[e]:.2f}" for e, v in shown.items())
        + f" (target ≥ 0.3 / ≤ 0.1). Mean wrist speed on {short} (cm/s): "
        + ", ".join(f"{e} {v:.1f}" for e, v in speeds)
        + "."
    )


def features_paragraph(folder: Path) -> str:
    """The front end's frame features on the first input: speed, F0 and voicing against pYIN, memory."""
    document = read_results("features", folder)
    name, f = next(iter(document["figures"]["inputs"].items()))
    peak = document["figures"]["peak_mib"]
    voicing = ""
    if "voiced_in_vowel" in f:
        voicing = (
            f" Against the TextGrid's phones it voices {percent(f['voiced_in_vowel'])} of vowel frames, "
            f"{percent(f['voiced_in_unvoiced_consonant'])} of unvoiced-consonant frames and "
            f"{percent(f['voiced_in_pause'])} of pause frames (pYIN: {percent(f['pyin_voiced_in_vowel'])}, "
            f"{percent(f['pyin_voiced_in_unvoiced_consonant'])}, {percent(f['pyin_voiced_in_pause'])})."
        )
    return prose(
        f"Frame features on the {f['duration_s']:.0f} s take `{name}`: `extract_features` runs at a real-time "
        f"factor of {f['rtf']:.3f} ({f['seconds']:.2f} s); its F0 tracker (vectorised YIN, chosen because librosa's "
        f"pYIN runs at RTF {f['pyin_rtf']:.2f} here) agrees with pYIN to a median {f['median_cents']:.0f} cents on "
        f"frames both call voiced (90th percentile {f['p90_cents']:.0f} cents, {percent(f['over_100_cents'])} off "
        f"by more than 100 cents), and its voicing agrees with pYIN on {percent(f['voicing_agreement'])} of frames."
        f"{voicing} Peak memory: {peak['1']:.0f} MiB for one minute of audio, {peak['10']:.0f} MiB for ten."
    ) + source(document)


def speed_table(folder: Path) -> str:
    """The verified pipeline's speed: 60 s of speech cold and warm, the page, batch scaling (bench/pipeline_speed.py,
    bench/page_speed.py, bench/batch_scale.py)."""
    page, batch = read_results("page_speed", folder), read_results("batch_scale", folder)
    # the 2-core runs, and the 1-core ones where they were measured apart (fewer repeats: they take longer)
    pipelines = [read_results(name, folder) for name in ("pipeline_speed", "pipeline_speed_1core")
                 if (Path(folder) / f"{name}.json").is_file()]
    seconds = lambda values: f"{np.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})"  # noqa: E731
    body = []
    measured = {key: run for pipeline in pipelines for key, run in pipeline["figures"].items()}
    for key, run in measured.items():
        if not isinstance(run, dict) or "median" not in run:
            continue
        name, cores = key.split("-")
        median, quality = run["median"], run["quality"]
        verify = median["timings"].get("verify", 0.0) / median["wall_s"]
        target = {"cold-2": "≤ 45 s", "warm-2": "≤ 30 s; verify ≤ 25 %"}.get(key, "reported")
        walls = run["walls_s"]
        wall, several = (seconds(walls), f" (median of {len(walls)})") if len(walls) > 1 else (f"{walls[0]:.1f} s", "")
        body.append([
            f"{name}, {cores} core{'s' * (cores != '1')}: wall{several}",
            f"**{wall}**; peak {median['peak_mb']:.0f} MB; verify {percent(verify)}; "
            f"{quality['verified']}/{quality['windows']} windows verified, P/B/M closure "
            f"{percent(quality['closure'])}, BeatAlign {quality['beat_align']:.3f}",
            target,
        ])
    runs = page["figures"]["runs"]
    later = [np.median(run["later_s"]) for run in runs]
    body.append([
        f"the page, {page['figures']['seconds_of_speech']:g} s of speech: first generation / later ones "
        f"({len(runs)} starts)",
        f"**{seconds([run['first_s'] for run in runs])}** / **{seconds(later)}**; the page answers after "
        f"{seconds([run['answers_s'] for run in runs])}",
        "≤ 10 s / ≤ 5 s",
    ])
    figures = batch["figures"]
    for backend, label in (("local", "worker processes"), ("ray", "a local Ray's CPUs")):
        one, two = figures.get(f"{backend}:1"), figures.get(f"{backend}:2")
        if one and two:
            speedup = figures[f"{backend} speed-up 1 -> 2"]
            body.append([
                f"batch, {figures['jobs']} jobs of {figures['seconds_per_job']:g} s, 1 → 2 {label}: jobs per minute",
                f"{one['jobs_per_min']:.1f} → {two['jobs_per_min']:.1f} (**{speedup:.2f}x**); steady "
                f"{one['steady_jobs_per_min']:.1f} → {two['steady_jobs_per_min']:.1f} "
                f"({figures[f'{backend} steady speed-up 1 -> 2']:.2f}x)",
                "≥ 1.7x",
            ])
    return rows(["measure", "figure", "target"], body) + "\n" + source(*pipelines, page, batch)


TABLES: dict[str, Callable[[Path], str]] = {
    "speed": speed_table,
    "features": features_paragraph,
    "alignment": alignment_table,
    "procedural": procedural_table,
    "procedural-emotions": procedural_emotions,
}


def render_page(page: str, folder: str | Path = RESULTS) -> str:
    """The page with every marked table made afresh from the results in `folder`."""

    def table(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"docs table '{name}' has no generator; known: {', '.join(TABLES)}")
        return match[1] + TABLES[name](Path(folder)) + match[4]

    return MARKED.sub(table, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--check", action="store_true", help="only say whether the page is up to date")
    args = parser.parse_args(argv)
    page = args.page.read_text(encoding="utf-8")
    made = render_page(page, args.results)
    if args.check:
        stale = f"{args.page} is stale: run python -m avatar.evaluation.report"
        print(f"{args.page} is up to date" if made == page else stale)
        return int(made != page)
    write_text_atomic(args.page, made)
    print(f"wrote the tables of {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

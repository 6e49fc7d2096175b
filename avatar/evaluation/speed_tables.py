"""The speed tables: the verified pipeline cold and warm, the page, batch scaling, and the video encoder's settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar.evaluation.markdown import percent, rows, source
from avatar.evaluation.results import read_results


def speed_table(folder: Path) -> str:
    """The verified pipeline's speed: 60 s of speech cold and warm, the page, batch scaling (bench/pipeline_speed.py,
    bench/page_speed.py, bench/batch_scale.py)."""
    page, batch = read_results("page_speed", folder), read_results("batch_scale", folder)
    # the 2-core runs, and the 1-core ones where they were measured apart (fewer repeats: they take longer)
    pipelines = [
        read_results(name, folder)
        for name in ("pipeline_speed", "pipeline_speed_1core")
        if (Path(folder) / f"{name}.json").is_file()
    ]
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
        body.append(
            [
                f"{name}, {cores} core{'s' * (cores != '1')}: wall{several}",
                f"**{wall}**; peak {median['peak_mb']:.0f} MB; verify {percent(verify)}; "
                f"{quality['verified']}/{quality['windows']} windows verified, P/B/M closure "
                f"{percent(quality['closure'])}, BeatAlign {quality['beat_align']:.3f}",
                target,
            ]
        )
    runs = page["figures"]["runs"]
    later = [np.median(run["later_s"]) for run in runs]
    body.append(
        [
            f"the page, {page['figures']['seconds_of_speech']:g} s of speech: first generation / later ones "
            f"({len(runs)} starts)",
            f"**{seconds([run['first_s'] for run in runs])}** / **{seconds(later)}**; the page answers after "
            f"{seconds([run['answers_s'] for run in runs])}",
            "≤ 10 s / ≤ 5 s",
        ]
    )
    figures = batch["figures"]
    for backend, label in (("local", "worker processes"), ("ray", "a local Ray's CPUs (Ray started by the batch)"),
                           ("head", "a running Ray head's CPUs (`ray start --head`)")):
        one, two = figures.get(f"{backend}:1"), figures.get(f"{backend}:2")
        if one and two:
            speedup = figures[f"{backend} speed-up 1 -> 2"]
            spread = "".join(f"; {len(run['walls_s'])} runs of {workers}: {min(run['walls_s']):.1f}-"
                             f"{max(run['walls_s']):.1f} s" for workers, run in (("1", one), ("2", two))
                             if len(run.get("walls_s", [])) > 1)
            body.append(
                [
                    f"batch, {figures['jobs']} jobs of {figures['seconds_per_job']:g} s, 1 → 2 {label}: "
                    "jobs per minute",
                    f"{one['jobs_per_min']:.1f} → {two['jobs_per_min']:.1f} (**{speedup:.2f}x**); steady "
                    f"{one['steady_jobs_per_min']:.1f} → {two['steady_jobs_per_min']:.1f} "
                    f"({figures[f'{backend} steady speed-up 1 -> 2']:.2f}x){spread}",
                    "≥ 1.7x",
                ]
            )
    return rows(["measure", "figure", "target"], body) + "\n" + source(*pipelines, page, batch)


def encoder_table(folder: Path) -> str:
    """x264 settings on both videos: encoder CPU, size and PSNR (bench/encoder_settings.py)."""
    document = read_results("encoder_settings", folder)
    videos = document["figures"]["videos"]
    settings = list(next(iter(videos.values()))["settings"])

    def cell(measured: dict) -> str:
        return f"{measured['cpu_ms']:.1f} ms, {measured['megabytes']:.2f} MB, {measured['psnr_db']:.1f} dB"

    body = [
        [f"**{name}**" if "shipped" in name else name, *(cell(v["settings"][name]) for v in videos.values())]
        for name in settings
    ]
    header = ["x264 setting", *(f"{video} ({v['size']}): CPU a frame, size, PSNR" for video, v in videos.items())]
    return rows(header, body) + "\n" + source(document)

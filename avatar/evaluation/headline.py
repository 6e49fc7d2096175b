"""README's headline figures: one row per measure, each made from its bench's result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from avatar.evaluation.face_tables import AU_TARGETS, au_lowest, loop_counts
from avatar.evaluation.front_end_tables import voice_activity_counts
from avatar.evaluation.markdown import rows
from avatar.evaluation.results import read_results


def short_command(document: dict) -> str:
    """The command a result came from, as the README shows it: the script and its settings, not where it wrote."""
    words = document["command"].removeprefix(".venv/bin/python ").split()
    if "--json" in words:
        at = words.index("--json")
        del words[at : at + 2]
    return f"`{' '.join(words)}`"


def speech_emotion_results() -> dict:
    """The speech emotion recognizer's measured results, as bench/speech_emotion.py stores them in the checkpoint."""
    from rigs.paths import checkpoint

    return json.loads((checkpoint("ser") / "config.json").read_text(encoding="utf-8"))["results"]


# A row: measure, figure, target, and the command its figures come from.
Row = tuple[str, str, str, str]


def pipeline_row(folder: Path) -> Row:
    """The verified pipeline's cold and warm wall time (bench/pipeline_speed.py)."""
    speed = read_results("pipeline_speed", folder)
    cold, warm = (speed["figures"][key] for key in ("cold-2", "warm-2"))
    return (
        f"BEAT take {speed['figures']['take']} to every output, cold CLI / warm pipeline (2 cores, median of "
        f"{len(cold['walls_s'])})",
        f"{cold['median']['wall_s']:.1f} s / {warm['median']['wall_s']:.1f} s",
        "≤ 45 / ≤ 30 s",
        short_command(speed),
    )


def page_row(folder: Path) -> Row:
    """The page's first and later generations (bench/page_speed.py)."""
    page = read_results("page_speed", folder)
    runs = page["figures"]["runs"]
    first, later = np.median([r["first_s"] for r in runs]), np.median([np.median(r["later_s"]) for r in runs])
    return (
        f"the page: first generation / later ones ({page['figures']['seconds_of_speech']:g} s of speech, "
        f"{len(runs)} starts)",
        f"{first:.1f} s / {later:.1f} s",
        "≤ 10 / ≤ 5 s",
        short_command(page),
    )


def batch_row(folder: Path) -> Row:
    """Batch scaling from one worker to two (bench/batch_scale.py)."""
    batch = read_results("batch_scale", folder)
    b = batch["figures"]
    backends = [(key, name) for key, name in (("local", "processes"), ("head", "a running Ray head"),
                                              ("ray", "a Ray the batch starts")) if f"{key} speed-up 1 -> 2" in b]
    return (
        f"batch, {b['jobs']} jobs of {b['seconds_per_job']:g} s, 2 workers vs 1: "
        + " / ".join(name for _, name in backends)
        + " (steady rates: " + " / ".join(f"{b[f'{key} steady speed-up 1 -> 2']:.2f}x" for key, _ in backends) + ")",
        " / ".join(f"{b[f'{key} speed-up 1 -> 2']:.2f}x" for key, _ in backends),
        "≥ 1.7x",
        short_command(batch),
    )


def alignment_row(folder: Path) -> Row:
    """Forced alignment's word-start error (bench/alignment.py)."""
    alignment = read_results("alignment", folder)
    median = alignment["figures"]["takes_one_by_one"]["word_median_ms"]
    return (
        "forced alignment on BEAT, word-start error (median)",
        f"{median:.0f} ms",
        "≤ 40 ms",
        short_command(alignment),
    )


def loop_row(folder: Path) -> Row:
    """What FER reads after the verification loop on every portrait (bench/verification_loop.py)."""
    loop = read_results("verification_loop", folder)
    enough, portraits, verified, windows = loop_counts(loop["figures"])
    return (
        f"FER after the loop: portraits reading ≥ 5 of {len(loop['figures']['emotions'])} emotions; windows verified",
        f"{enough} of {portraits}; {100 * verified / windows:.0f} %",
        "16 of 20; 90 %",
        short_command(loop),
    )


def action_units_row(folder: Path) -> Row:
    """Action units re-detected in the talking head's pixels (bench/face_au_geometry.py)."""
    au = read_results("face_au_geometry", folder)
    portraits = au["figures"]["portraits"]
    unit_names = {unit.split()[0]: unit for unit in reversed(next(iter(portraits.values()))["units"])}

    def lowest(units):
        return " / ".join(f"{au_lowest(au['figures'], unit_names[u], 'sweep_r', glasses=False):.2f}" for u in units)

    plain = sum(not p["glasses"] for p in portraits.values())
    return (
        f"talking head, AU re-detected by MediaPipe, each AU alone ({plain} portraits without glasses, lowest r): "
        f"{' / '.join(AU_TARGETS)}; AU5 / AU9",
        f"{lowest(AU_TARGETS)}; {lowest(('AU5', 'AU9'))}",
        "≥ 0.7",
        short_command(au),
    )


def talking_head_row(folder: Path) -> Row:
    """The talking head's speed, teeth and identity (bench/talking_head.py)."""
    head = read_results("talking_head", folder)
    portraits = head["figures"]
    first = next(iter(portraits))
    speeds = " / ".join(f"{p['speed']['render_fps']:.0f}" for p in portraits.values())
    teeth = " / ".join(f"{p['teeth_lightness']:.0f}" for p in portraits.values())
    identity = portraits[first]["identity"]["neutralize=True"]["landmarks_vs_photo_px"]
    return (
        f"talking head at 512², one thread, {' / '.join(portraits)}: render speed; teeth L*; {first}'s identity at "
        "neutral",
        f"{speeds} frames/s; {teeth}; {identity:.3f} px",
        "≥ 30; ≥ 70; ≤ 2 px",
        short_command(head),
    )


def speech_emotion_row(folder: Path) -> Row:
    """The speech emotion recognizer on held-out speakers (from its checkpoint)."""
    corpora = speech_emotion_results()["speaker_folds"]["corpora"]
    return (
        "speech emotion, held-out speakers (UAR): CREMA-D / RAVDESS / EmoDB",
        " / ".join(f"{100 * corpora[c]['uar']:.1f}" for c in ("crema_d", "ravdess", "emodb")) + " %",
        "70 / 75 / 80 %",
        "`avatar train ser` (its speaker folds, kept in `checkpoints/ser/config.json`)",
    )


def capture_row(folder: Path) -> Row:
    """Arm speed and its share of power above 3 Hz against the real capture (bench/body_vs_capture.py)."""
    capture = read_results("body_vs_capture", folder)
    motions = capture["figures"]["motions"].values()
    arms = " / ".join(f"{m['speed']['arms']['mean']:.1f}" for m in motions)
    tremor = " / ".join(f"{m['arm_high_frequency_share']:.3f}" for m in motions)
    return (
        "body vs real capture (capture / procedural / learned): arm speed; its share of power above 3 Hz",
        f"{arms} cm/s; {tremor}",
        "± 20 %; ± 30 %",
        short_command(capture),
    )


def voice_activity_row(folder: Path) -> Row:
    """The speech detector's false rejects and accepts (bench/voice_activity.py)."""
    vad = read_results("voice_activity", folder)
    rejected, clips, accepted, non_speech = voice_activity_counts(vad["figures"])
    return (
        "speech detection: real clips refused / non-speech accepted",
        f"{rejected} of {clips} / {accepted} of {non_speech}",
        "0 / 0",
        short_command(vad),
    )


ROWS = (
    pipeline_row,
    page_row,
    batch_row,
    alignment_row,
    loop_row,
    action_units_row,
    talking_head_row,
    speech_emotion_row,
    capture_row,
    voice_activity_row,
)


def headline_table(folder: Path) -> str:
    """README's headline figures, one row per measure, each from its bench's result."""
    return rows(["measure", "figure", "target", "command"], [list(make(Path(folder))) for make in ROWS])

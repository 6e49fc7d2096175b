"""The talking head's generated tables: identity, lips, teeth and speed, the action units seen in its pixels, and
what FER reads after the verification loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar.evaluation.markdown import percent, prose, rows, source
from avatar.evaluation.results import read_results


def talking_head_table(folder: Path) -> str:
    """The talking head's identity, lips, teeth, stillness and speed per portrait (bench/talking_head.py)."""
    document = read_results("talking_head", folder)
    portraits = document["figures"]
    per = lambda show: [show(p) for p in portraits.values()]  # noqa: E731

    def lips(show):
        return [" / ".join(show(lip) for lip in p["lips"].values()) for p in portraits.values()]

    inputs = " / ".join(next(iter(portraits.values()))["lips"])

    def identity(p: dict) -> str:
        # A photo with an expression of its own is neutralized: its neutral face is not the photo's, so it is
        # measured against the neutralized landmarks it was drawn to, and without neutralizing against the photo.
        shown, kept = p["identity"]["neutralize=True"], p["identity"]["neutralize=False"]
        if p["identity"]["photo_expression"] <= 0.1:
            return f"{shown['landmarks_vs_photo_px']:.3f} px ({shown['redetected_vs_photo_px']:.2f} px)"
        return (
            f"not neutralized {kept['landmarks_vs_photo_px']:.3f} px ({kept['redetected_vs_photo_px']:.2f} px); "
            f"neutralized, MediaPipe against the drawn neutral face {shown['redetected_vs_drawn_px']:.2f} px"
        )

    def teeth(p: dict) -> str:
        own = p["photo_teeth_lightness"]
        return f"{p['teeth_lightness']:.1f}" + (f" (the photo's own {own[0]:.0f}–{own[1]:.0f})" if own else "")

    body = [
        [
            "identity at neutral: drawn landmarks against the photo's (MediaPipe on the frame against on the photo)",
            *per(identity),
            "≤ 2 px",
        ],
        [f"P/B/M with the lips within 1 mm ({inputs})", *lips(lambda lip: percent(lip["pbm_within_1mm"])), "—"],
        [
            f"inner-lip gap at P/B/M / open vowels, drawn ({inputs})",
            *lips(lambda lip: f"{lip['gap_at_pbm_px']:.1f} / {lip['gap_at_open_vowels_px']:.1f} px"),
            "—",
        ],
        [
            f"the same re-detected by MediaPipe on the frames ({inputs})",
            *lips(
                lambda lip: f"{lip['redetected_gap_at_pbm_px']:.1f} / {lip['redetected_gap_at_open_vowels_px']:.1f} px"
            ),
            "—",
        ],
        ["teeth CIE L* in the most open fifth of a neutral TTS sentence", *per(teeth), "≥ 70"],
        [
            "upper / lower teeth CIE L* at an open jaw (jawOpen 0.7)",
            *per(lambda p: "{:.1f} / {:.1f}".format(*p["open_jaw_teeth_lightness"])),
            "—",
        ],
        [
            "largest change between frames of a still neutral track",
            *per(lambda p: f"{p['largest_change_grey_levels']}"),
            "0 grey levels",
        ],
        [
            "render speed at 512², one thread (MP4 encoding excluded)",
            *per(lambda p: f"{p['speed']['render_fps']:.0f} frames/s ({p['speed']['frames']} frames)"),
            "≥ 30 frames/s",
        ],
        ["H.264 encoding alone (libx264, one thread)", *per(lambda p: f"{p['speed']['encode_fps']:.0f} frames/s"), "—"],
    ]
    return rows(["measure", *portraits, "target"], body) + "\n" + source(document)


AU_TARGETS = ("AU1", "AU2", "AU4", "AU6", "AU12", "AU15", "AU26")


def au_lowest(figures: dict, unit: str, measure: str, glasses: bool | None = None) -> float:
    """The lowest of a measure over the portraits (only those with or without glasses when `glasses` is given)."""
    values = [
        p["units"][unit][measure] for p in figures["portraits"].values() if glasses is None or p["glasses"] == glasses
    ]
    return min(v for v in values if v is not None)


def face_au_table(folder: Path) -> str:
    """Action units re-detected by MediaPipe in the talking head's pixels (bench/face_au_geometry.py)."""
    document = read_results("face_au_geometry", folder)
    figures = document["figures"]
    portraits = figures["portraits"]
    units = list(next(iter(portraits.values()))["units"])

    def mean_low(unit: str, measure: str) -> str:
        values = [p["units"][unit][measure] for p in portraits.values() if p["units"][unit][measure] is not None]
        return f"{np.mean(values):+.2f} ({min(values):+.2f})" if values else "—"

    with_glasses = [name for name, p in portraits.items() if p["glasses"]]
    body = [
        [
            unit,
            mean_low(unit, "sweep_r"),
            f"{au_lowest(figures, unit, 'sweep_r', glasses=False):+.2f}",
            mean_low(unit, "gain"),
            mean_low(unit, "speech_r_weight"),
            mean_low(unit, "speech_r_drawn"),
            "≥ 0.7" if unit.split()[0] in AU_TARGETS and "..." not in unit else "—",
        ]
        for unit in units
    ]
    header = [
        "action unit",
        "sweep: r of weight and seen geometry, mean (lowest)",
        "lowest without glasses",
        "gain seen / drawn",
        "in speech: r with the AU's weight",
        "r with the drawn geometry",
        "target (sweep r)",
    ]
    return (
        rows(header, body)
        + "\n"
        + prose(
            f"{len(portraits)} portraits ({', '.join(portraits)}; with glasses: {', '.join(with_glasses) or 'none'}); "
            f"the sweep at weights {', '.join(f'{w:g}' for w in figures['levels'])}; in speech every "
            f"{figures['stride']}th frame of the bundled sentence in the 8 emotions at 0.8."
        )
        + source(document)
    )


def loop_counts(figures: dict) -> tuple[int, int, int, int]:
    """Of bench/verification_loop.py's clips (keyed "portrait | input"): how many portraits read at least 5
    emotions right after the loop on every input, how many portraits there are, and the windows verified of all
    windows."""
    portraits: dict[str, bool] = {}
    for key, clip in figures["clips"].items():
        portrait = key.split(" | ")[0]
        portraits[portrait] = portraits.get(portrait, True) and "error" not in clip and clip["right_after"] >= 5
    done = [clip for clip in figures["clips"].values() if "error" not in clip]
    return sum(portraits.values()), len(portraits), sum(c["verified"] for c in done), sum(c["windows"] for c in done)


def verification_loop_table(folder: Path) -> str:
    """What FER reads of each emotion after the loop, per portrait and input (bench/verification_loop.py)."""
    document = read_results("verification_loop", folder)
    emotions, clips = document["figures"]["emotions"], document["figures"]["clips"]
    body = []
    for key, clip in clips.items():
        if "error" in clip:
            body.append([*key.split(" | "), "refused", "", "", clip["error"]])
            continue
        wrong = ", ".join(f"{asked} as {read}" for asked, read in clip["read_as"].items() if asked != read)
        body.append(
            [
                *key.split(" | "),  # portrait, input
                f"{clip['right_before']} → **{clip['right_after']}** of {len(emotions)}",
                f"{clip['verified']} of {clip['windows']}",
                f"{clip['neutral_drift_px']:.2f} px",
                wrong or "—",
            ]
        )
    done = [clip for clip in clips.values() if "error" not in clip]
    by_emotion = {e: sum(clip["read_as"].get(e) == e for clip in done) for e in emotions}
    enough, portraits, verified, windows = loop_counts(document["figures"])
    summary = prose(
        f"{enough} of {portraits} portraits read at least 5 of {len(emotions)} right after the loop on every input "
        "(target 16 of 20); "
        f"{verified} of {windows} windows verify ({100 * verified / windows:.0f} %; "
        "target 90 %). Clips (a portrait on an input) reading each emotion right after the loop: "
        + ", ".join(f"{e} {n}" for e, n in sorted(by_emotion.items(), key=lambda item: -item[1]))
        + f"; generator {document['figures']['generator']}. Identity at neutral (the landmarks a neutral track draws "
        f"against the photo's; only a photo's smile and open mouth are taken out): median "
        f"{np.median([clip['neutral_drift_px'] for clip in done]):.2f} px (target ≤ 2 px)."
    )
    header = ["portrait", "input", "emotions read right, before → after the loop", "windows verified",
              "identity at neutral", "read wrong"]
    return rows(header, body) + "\n" + summary + source(document)

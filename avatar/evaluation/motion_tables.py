"""The generated tables of the motion: the procedural animators, the body against the real capture, the learned
generator against its teacher (also the shipped motion model card's results)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar.evaluation.markdown import distribution, percent, prose, rows, source
from avatar.evaluation.results import read_results


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


def body_vs_capture_rows(figures: dict) -> str:
    """The body against the real capture (bench/body_vs_capture.py's figures) as a table and its Fréchet baselines;
    the last column checks issue 21's targets (speed ±20 %, high-frequency share and beats ±30 %, BeatAlign at
    least the capture's)."""
    motions, frechet = figures["motions"], figures["frechet"]
    real = motions["real capture"]
    generated = [name for name in motions if name != "real capture"]

    def check(get, tolerance):
        within = lambda name: abs(get(motions[name]) - get(real)) <= tolerance * abs(get(real))  # noqa: E731
        return ", ".join(f"{name.split()[0]} {'yes' if within(name) else 'NO'}" for name in generated)

    def cells(get, show=distribution):
        return [show(get(motion)) for motion in motions.values()]

    body = [
        [
            f"speed, {group} (cm/s): mean (p10 / p50 / p90)",
            *cells(lambda m, g=group: m["speed"][g]),
            check(lambda m: m["speed"]["arms"]["mean"], 0.2) if group == "arms" else "",
        ]
        for group in real["speed"]
    ]
    body += [
        [f"acceleration, {group} (cm/s²): mean (p10 / p50 / p90)", *cells(lambda m, g=group: m["acceleration"][g]), ""]
        for group in real["acceleration"]
    ]
    body += [
        [
            "share of arm speed power above 3 Hz",
            *cells(lambda m: m["arm_high_frequency_share"], "{:.3f}".format),
            check(lambda m: m["arm_high_frequency_share"], 0.3),
        ],
        [
            "arm motion beats per second (0.1 s smoothing)",
            *cells(lambda m: m["arm_beats_per_second"], "{:.2f}".format),
            check(lambda m: m["arm_beats_per_second"], 0.3),
        ],
        [
            "BeatAlign (upper body, sigma 0.1 s)",
            *cells(lambda m: m["beat_align"], "{:.3f}".format),
            ", ".join(
                f"{n.split()[0]} {'yes' if motions[n]['beat_align'] >= real['beat_align'] else 'NO'}" for n in generated
            ),
        ],
        ["hand height above hips (cm): mean (p10 / p50 / p90)", *cells(lambda m: m["hand_height"]), ""],
        ["hand spread (cm): mean (p10 / p50 / p90)", *cells(lambda m: m["hand_spread"]), ""],
        ["rest fraction in pauses (hands < 10 cm/s)", *cells(lambda m: m["rest_in_pauses"], "{:.2f}".format), ""],
        [
            "head sway relative to the hips (cm RMS): sideways / forward",
            *cells(lambda m: m["head_sway"], lambda v: f"{v[0]:.1f} / {v[1]:.1f}"),
            "",
        ],
        ["shoulder rise per cm of hand rise", *cells(lambda m: m["shoulder_follow"], "{:.3f}".format), ""],
        ["Fréchet kinematic distance to the capture", *(f"{frechet[name]:.1f}" for name in motions), ""],
    ]
    mismatched = figures["frechet_mismatched"]
    below = ", ".join(f"{n.split()[0]} {'yes' if frechet[n] < mismatched else 'NO'}" for n in generated)
    learned, procedural = (frechet[next(n for n in generated if n.startswith(k))] for k in ("learned", "procedural"))
    return (
        rows(["measure", *motions, "target met?"], body)
        + "\n"
        + prose(
            f"Fréchet baselines: the capture against itself shifted in time {frechet['real capture']:.1f} (the floor); "
            f"the capture on mismatched audio ({figures['mismatched_take']}) {mismatched:.1f}. Below the mismatched "
            f"baseline: {below}; learned ≤ procedural: {'yes' if learned <= procedural else 'NO'}. "
            + posture_sway_prose(figures.get("posture_sway"))
            + standing_prose(figures.get("standing"))
        )
    )


def standing_prose(standing: dict | None) -> str:
    """How each generator's body stands under the pipeline's weight-shift layer (kinematics.standing_figures)."""
    if not standing:
        return ""
    parts = [
        f"{name.split()[0]}: feet at most {s['feet_speed_max']:.2f} cm/s, hips sideways "
        f"{s['hips_sideways_p5']:+.1f} to {s['hips_sideways_p95']:+.1f} cm (5th-95th percentile), "
        f"{s['shifts_per_minute']:.1f} weight shifts a minute, "
        f"knees bent up to {s['knee_flexion_max']:.0f}°, hips lowered up to {s['root_drop_max']:.1f} cm"
        for name, s in standing.items()
    ]
    return " Standing, as the pipeline delivers the bodies (weight shifts over planted feet): " + "; ".join(parts) + "."


def posture_sway_prose(sway: dict | None) -> str:
    """How much the spine, neck and head and a clavicle sway (RMS of their summed Euler angles) in each motion."""
    if not sway:
        return ""
    groups = next(iter(sway.values()))
    parts = [
        f"{group} " + " / ".join(f"{', '.join(f'{v:.1f}' for v in sway[name][group])}" for name in sway)
        for group in groups
    ]
    return (f"Posture sway, degrees RMS of pitch, yaw, roll summed over each chain's joints ({' / '.join(sway)}): "
            + "; ".join(parts) + ".")


def body_vs_capture_table(folder: Path) -> str:
    """The body against the real BEAT capture (bench/body_vs_capture.py)."""
    document = read_results("body_vs_capture", folder)
    return body_vs_capture_rows(document["figures"]) + source(document)


def body_stages_rows(figures: dict) -> str:
    """The learned body stage by stage (bench/body_vs_capture.py --stages' figures) as a table and the body latent's
    power per band."""
    shown = {"the real capture": figures["capture"], **figures["stages"]}
    body = [
        [
            name,
            f"{f['arm_speed']:.1f}",
            f"{f['arm_high_frequency_share']:.3f}",
            f"{f['arm_beats_per_second']:.2f}",
            f"{f['beat_align']:.3f}",
            f"{f['head_sway'][0]:.1f} / {f['head_sway'][1]:.1f}" if "head_sway" in f else "",
        ]
        for name, f in shown.items()
    ]
    header = ["stage", "arm speed (cm/s)", "arm speed power above 3 Hz", "arm beats/s", "BeatAlign",
              "head sway (cm): sideways / forward"]
    bands = figures["latent_power_sampled_over_teacher"]
    return (
        rows(header, body)
        + "\n"
        + prose(
            "Body-latent power, sampled over the teacher's encoded latent, per band (token rate 7.5 Hz): "
            + ", ".join(f"{band} {ratio:.2f}" for band, ratio in bands.items())
            + "."
            + " In the top band, the x0 prediction of each sampler step, over the teacher's: "
            + ", ".join(f"{ratio:.2f}" for ratio in figures["top_band_power_of_each_step_x0_over_teacher"])
            + "."
        )
    )


def body_stages_table(folder: Path) -> str:
    """The learned body stage by stage (bench/body_vs_capture.py --stages)."""
    document = read_results("body_stages", folder)
    return body_stages_rows(document["figures"]) + source(document)


# The learned generator's figures that pass when within 10 % of its teacher's (bench/learned_motion.py).
WITHIN_10_PERCENT = ("closure", "open_jaw", "jaw_ratio", "blinks_per_min", "emotion_shows", "beat_align", "beats_per_s")


def learned_motion_text(figures: dict) -> str:
    """The learned generator against its teacher on held-out speech (bench/learned_motion.py's figures): the model
    card's results."""
    teacher, learned = figures["teacher"], figures["learned"]
    scheduler = "DPM-Solver++" if figures["scheduler"] == "dpm" else "DDIM"
    lines = [
        f"Held-out inputs: {figures['inputs']} ({figures['seconds_of_speech']:.0f} s of speech: BEAT take "
        f"{figures['take']} and held-out TTS sentences); {figures['steps']} {scheduler} steps.",
        "",
        "| measure | procedural (teacher) | learned | within 10 %? |",
        "|---|---|---|---|",
    ]
    for key in WITHIN_10_PERCENT:
        t, s = teacher[key], learned[key]
        lines.append(f"| {key} | {t:.3f} | {s:.3f} | {'yes' if abs(s - t) <= 0.1 * abs(t) else 'NO'} |")
    lines.append(f"| neutral_shapes (max) | {teacher['neutral_shapes']:.3f} | {learned['neutral_shapes']:.3f} | |")
    for name, f in (("teacher", teacher), ("learned", learned)):
        speeds = ", ".join(f"{e} {speed:.1f}" for e, speed in f["wrist_speed"].items())
        lines.append(f"| wrist speed (cm/s), {name} | {speeds} | ordered: {f['ordered']} | |")
    diversity, guidance = figures["diversity"], figures["guidance"]
    means = guidance["anger_shapes"]
    lines += [
        "",
        f"Diversity over {diversity['seeds']} seeds ({figures['take']}, neutral): face features RMS "
        f"{diversity['face_rms']:.4f}, wrists RMS {diversity['wrists_rms_cm']:.2f} cm; closure per seed "
        + ", ".join(f"{c:.1%}" for c in diversity["closure_per_seed"])
        + ".",
        f"Blinks per minute ({figures['take']}, neutral) by seed, teacher: "
        + ", ".join(f"{r:.1f}" for r in teacher["blink_rates"])
        + "; learned: "
        + ", ".join(f"{r:.1f}" for r in learned["blink_rates"])
        + f". Eyelid peaks (closure rising >= 0.1) per minute and their mean height: teacher "
        f"{teacher['lid_peaks'][0]:.1f} at {teacher['lid_peaks'][1]:.2f}, learned {learned['lid_peaks'][0]:.1f} at "
        f"{learned['lid_peaks'][1]:.2f}.",
        "Guidance (anger's defining shapes at emotion scale "
        + ", ".join(f"{s:g}" for s in guidance["scales"])
        + "): "
        + ", ".join(f"{m:.3f}" for m in means)
        + f"; monotone: {all(a < b for a, b in zip(means, means[1:], strict=False))}.",
    ]
    return "\n".join(lines) + "\n"


def learned_motion_card(folder: Path) -> str:
    """The shipped motion checkpoint's results (bench/learned_motion.py)."""
    document = read_results("learned_motion", folder)
    return learned_motion_text(document["figures"]) + "\n" + source(document)


def capture_paragraph(folder: Path) -> str:
    """Teacher and learned body against the real capture, in one paragraph (bench/body_vs_capture.py)."""
    document = read_results("body_vs_capture", folder)
    figures = document["figures"]
    motions = figures["motions"]

    def cells(get, show):
        return " / ".join(show(get(motion)) for motion in motions.values())

    return prose(
        f"Against the real capture ({figures['take']}, neutral, seed {figures['seed']}, {figures['fps']:g} fps; "
        f"docs/benchmarks.md has the whole table), {' / '.join(motions)}: arm speed "
        f"{cells(lambda m: m['speed']['arms']['mean'], '{:.1f}'.format)} cm/s, share of arm-speed power above 3 Hz "
        f"{cells(lambda m: m['arm_high_frequency_share'], '{:.3f}'.format)}, arm beats "
        f"{cells(lambda m: m['arm_beats_per_second'], '{:.2f}'.format)} per s, BeatAlign "
        f"{cells(lambda m: m['beat_align'], '{:.3f}'.format)}, Fréchet kinematic distance "
        + " / ".join(f"{figures['frechet'][name]:.1f}" for name in motions)
        + " (the first is the capture against itself shifted in time: the floor)."
    ) + source(document)

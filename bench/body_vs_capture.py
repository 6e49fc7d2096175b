"""Body motion against the real capture: real BEAT capture vs procedural vs learned, neutral, on the same audio.

Run: .venv/bin/python bench/body_vs_capture.py [--checkpoint checkpoints/motion-diffusion] [--seed 0]
     (needs ../shared/data/beat)

Take 2_scott_0_1_1: its real capture (BVH, 15 fps rows under a 120-fps header) against the procedural and the
learned body generated on its audio and TextGrid at neutral (intensity 0.8), all at 15 fps over the whole take
(63.8 s). Every measure is defined in avatar/evaluation/kinematics.py. The Fréchet baselines: the capture against
itself shifted in time (its second half against its first), and the capture's motion played on mismatched audio
(take 2_scott_0_2_2's). The last column checks issue 21's targets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from avatar.emotion import constant_emotion
from avatar.evaluation.beat import BEAT, beat_content
from avatar.evaluation.kinematics import (
    Kinematics,
    Motion,
    audio_frames,
    audio_onsets,
    frechet_to_capture,
    kinematics,
    load_capture,
    motion_from_track,
)
from avatar.frontend.audio import load_audio
from generators.learned.animate import DEFAULT_CHECKPOINT
from generators.procedural.body import animate_body

TAKE = "2_scott_0_1_1"
MISMATCHED = "2_scott_0_2_2"


def rows(figures: dict[str, Kinematics], frechet: dict[str, float]) -> list[tuple[str, list[str], str]]:
    """(measure, one cell per column, target check) for the table."""
    real = figures["real capture"]
    generated = [k for k in figures if k != "real capture"]

    def within(value, target, tolerance):
        return "yes" if abs(value - target) <= tolerance * abs(target) else "NO"

    def check(get, tolerance):
        return ", ".join(f"{k.split()[0]} {within(get(figures[k]), get(real), tolerance)}" for k in generated)

    def cells(get, fmt):
        return [fmt(get(f)) for f in figures.values()]

    table = [
        (
            f"speed, {g} (cm/s): mean (p10 / p50 / p90)",
            [str(f.speed[g]) for f in figures.values()],
            check(lambda f: f.speed["arms"].mean, 0.2) if g == "arms" else "",
        )
        for g in real.speed
    ]
    table += [
        (f"acceleration, {g} (cm/s²): mean (p10 / p50 / p90)", [str(f.acceleration[g]) for f in figures.values()], "")
        for g in real.acceleration
    ]
    table += [
        (
            "share of arm speed power above 3 Hz",
            cells(lambda f: f.arm_high_frequency_share, "{:.3f}".format),
            check(lambda f: f.arm_high_frequency_share, 0.3),
        ),
        (
            "arm motion beats per second (0.1 s smoothing)",
            cells(lambda f: f.arm_beats_per_second, "{:.2f}".format),
            check(lambda f: f.arm_beats_per_second, 0.3),
        ),
        (
            "BeatAlign (upper body, sigma 0.1 s)",
            cells(lambda f: f.beat_align, "{:.3f}".format),
            ", ".join(
                f"{k.split()[0]} {'yes' if figures[k].beat_align >= real.beat_align else 'NO'}" for k in generated
            ),
        ),
        ("hand height above hips (cm): mean (p10 / p50 / p90)", [str(f.hand_height) for f in figures.values()], ""),
        ("hand spread (cm): mean (p10 / p50 / p90)", [str(f.hand_spread) for f in figures.values()], ""),
        ("rest fraction in pauses (hands < 10 cm/s)", cells(lambda f: f.rest_in_pauses, "{:.2f}".format), ""),
        ("Fréchet kinematic distance to the capture", [f"{frechet[k]:.1f}" for k in figures], ""),
    ]
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat", file=sys.stderr)
        return 1
    from generators.learned.animate import LearnedAnimator

    capture = load_capture(BEAT / "bvh" / f"{TAKE}.bvh")
    content = beat_content(TAKE)
    onsets = audio_onsets(load_audio(BEAT / "wav" / f"{TAKE}.wav").samples)
    audio = audio_frames(content.rms, content.onset, content.voiced, content.fps, capture.fps)
    other = beat_content(MISMATCHED)
    mismatched_audio = audio_frames(other.rms, other.onset, other.voiced, other.fps, capture.fps)
    neutral = constant_emotion("neutral", 0.8, content.n_frames)
    learned = LearnedAnimator.from_pretrained(args.checkpoint)
    motions: dict[str, Motion] = {
        "real capture": capture,
        "procedural": motion_from_track(animate_body(content, neutral, seed=args.seed)),
        "learned (default)": motion_from_track(learned.animate(content, neutral, args.seed)[1]),
    }
    figures = {name: kinematics(motion, content.words, onsets) for name, motion in motions.items()}
    frechet = {name: frechet_to_capture(capture, audio, motion, audio) for name, motion in motions.items()}
    shifted = frechet["real capture"]
    mismatched = frechet_to_capture(capture, audio, capture, mismatched_audio)

    print(
        f"Neutral on {TAKE}'s audio ({capture.duration:.1f} s at {capture.fps:g} fps), seed {args.seed}; "
        f"`.venv/bin/python bench/body_vs_capture.py --seed {args.seed}`\n"
    )
    print("| measure | " + " | ".join(motions) + " | target met? |")
    print("|---" * (len(motions) + 2) + "|")
    for name, cells, check in rows(figures, frechet):
        print(f"| {name} | " + " | ".join(cells) + f" | {check} |")
    verdict = ", ".join(
        f"{k.split()[0]} {'yes' if frechet[k] < mismatched else 'NO'}" for k in motions if k != "real capture"
    )
    print(
        f"\nFréchet baselines: the capture against itself shifted in time {shifted:.1f} (floor); the capture on "
        f"mismatched audio ({MISMATCHED}) {mismatched:.1f}. Below the mismatched baseline: {verdict}; learned <= "
        f"procedural: {'yes' if frechet['learned (default)'] <= frechet['procedural'] else 'NO'}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

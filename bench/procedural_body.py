"""The procedural body animator on the real BEAT takes: gesture timing, emotion and speed.

Run: .venv/bin/python bench/procedural_body.py [--json bench/results/procedural_body.json]   (needs ../shared/data/beat)

For each BEAT take (its wav and TextGrid words/phones -> Content at 30 fps, as the front end builds it):
- BeatAlign (avatar/evaluation/kinematics.py states the exact formula, sigma = 0.1 s) and motion beats per second of the
  generated body (neutral, as the takes are; seeds 0-4) against librosa onsets of the take's audio. Both the
  generated body and the real capture 2_scott_0_1_1.bvh (which is 15 fps) are compared at 15 fps: the generated
  30-fps track is resampled (slerp) to 15 fps. Only upper-body joints count (kinematics.UPPER_BODY), because the
  capture's hips, spine below the chest and legs are zero after its first row; that first row is dropped.
- Mean wrist speed (cm/s, both wrists, at 30 fps) per emotion at intensity 0.8, seed 0.
- Body animation time for the first 60 s of speech (take 0_1_1 cut to 60 s, 30 fps): best of 5 runs; and face +
  body together when the procedural face animator is present (front end excluded in both).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from avatar.emotion import constant_emotion
from avatar.evaluation.beat import BEAT, BEAT_TAKES, beat_content, beat_take
from avatar.evaluation.kinematics import (
    audio_onsets,
    beat_align_times,
    mean_wrist_speed,
    motion_beats,
    upper_body_positions,
)
from avatar.evaluation.results import run_conditions, write_results
from generators.conditioning import EMOTIONS, Content
from generators.procedural.body import animate_body
from generators.procedural.face import animate_face
from rigs.formats.bvh import BvhHeaderWarning, read_bvh

CAPTURE = "2_scott_0_1_1"
COMPARE_FPS = 15.0
FPS = 30.0
SEEDS = range(5)
ORDER = ("anger", "happiness", "surprise", "fear", "neutral", "sadness")


def cut(content: Content, seconds: float) -> Content:
    """The first `seconds` of a Content."""
    n = int(round(seconds * content.fps))
    keep = lambda segments: tuple(s for s in segments if s.start < seconds)  # noqa: E731
    return Content(
        content.fps,
        keep(content.phones),
        keep(content.words),
        content.rms[:n],
        content.f0_hz[:n],
        content.voiced[:n],
        content.onset[:n],
        None if content.log_mel is None else content.log_mel[:n],
    )


def capture_figures(onsets: np.ndarray) -> tuple[float, float]:
    """BeatAlign and motion beats per second of the real capture at 15 fps (first row dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)  # its header is known to disagree with its rows
        track = read_bvh(BEAT / "bvh" / f"{CAPTURE}.bvh")
    positions = upper_body_positions(track, COMPARE_FPS)[1:]
    beats = motion_beats(positions, COMPARE_FPS) + 1.0 / COMPARE_FPS
    return beat_align_times(onsets, beats), len(beats) / (len(positions) / COMPARE_FPS)


def generated_figures(content: Content, onsets: np.ndarray, seed: int) -> tuple[float, float]:
    """BeatAlign and motion beats per second of the neutral generated body at 15 fps."""
    track = animate_body(content, constant_emotion("neutral", 0.8, content.n_frames), seed=seed)
    positions = upper_body_positions(track, COMPARE_FPS)
    beats = motion_beats(positions, COMPARE_FPS)
    return beat_align_times(onsets, beats), len(beats) / (len(positions) / COMPARE_FPS)


def main(argv: list[str] | None = None) -> int:
    """Print the figures for every take (and write them with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/procedural_body.json)")
    args = parser.parse_args(argv)
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}", file=sys.stderr)
        return 1
    started = run_conditions()
    contents, results = {}, {"takes": {}}
    print(
        f"BeatAlign (sigma 0.1 s) and motion beats/s at {COMPARE_FPS:g} fps, upper body; generated: neutral, "
        f"seeds {SEEDS.start}-{SEEDS.stop - 1}"
    )
    for take in BEAT_TAKES:
        content, samples = beat_content(take, fps=FPS), beat_take(take)[0].samples
        contents[take] = content
        onsets = audio_onsets(samples)
        if take == CAPTURE:
            real_ba, real_bps = capture_figures(onsets)
            results["capture"] = {"take": CAPTURE, "beat_align": real_ba, "beats_per_s": real_bps}
            print(
                f"  real capture {CAPTURE}.bvh on its audio: BeatAlign {real_ba:.3f}, {real_bps:.2f} beats/s "
                f"({len(onsets) / content.duration:.2f} audio onsets/s)"
            )
        scores = np.array([generated_figures(content, onsets, seed) for seed in SEEDS])
        results["takes"][take] = {"beat_align": scores[:, 0].tolist(), "beats_per_s": scores[:, 1].tolist(),
                                  "onsets_per_s": len(onsets) / content.duration}
        print(
            f"  {take} ({content.duration:.1f} s, {len(onsets) / content.duration:.2f} onsets/s): generated "
            f"BeatAlign {scores[:, 0].mean():.3f} (min {scores[:, 0].min():.3f}), "
            f"{scores[:, 1].mean():.2f} beats/s (range {scores[:, 1].min():.2f}-{scores[:, 1].max():.2f})"
        )
    real_ba, real_bps = results["capture"]["beat_align"], results["capture"]["beats_per_s"]
    print(f"  pass bars: BeatAlign >= {real_ba:.3f}; beats/s within {0.5 * real_bps:.2f}-{1.5 * real_bps:.2f}")

    print("\nMean wrist speed (cm/s, 30 fps) per emotion at intensity 0.8, seed 0")
    print("  take            " + " ".join(f"{e:>9}" for e in EMOTIONS) + "   ordered?")
    for take, content in contents.items():
        speeds = {
            e: mean_wrist_speed(animate_body(content, constant_emotion(e, 0.8, content.n_frames), seed=0))
            for e in EMOTIONS
        }
        ordered = min(speeds[e] for e in ORDER[:4]) > speeds["neutral"] > speeds["sadness"]
        results["takes"][take] |= {"wrist_speed_cm_s": speeds, "wrist_speed_ordered": bool(ordered)}
        print(f"  {take}   " + " ".join(f"{speeds[e]:9.1f}" for e in EMOTIONS) + f"   {ordered}")

    minute = cut(contents[CAPTURE], 60.0)
    emotion = constant_emotion("neutral", 0.8, minute.n_frames)
    animate_body(minute, emotion)  # warm-up (imports, caches)
    runs = []
    for seed in range(5):
        start = time.perf_counter()
        animate_body(minute, emotion, seed=seed)
        runs.append(time.perf_counter() - start)
    print(
        f"\nBody animation of 60 s of speech at {FPS:g} fps ({minute.n_frames} frames): best {min(runs):.3f} s, "
        f"median {np.median(runs):.3f} s of 5 runs"
    )
    animate_face(minute, emotion)
    both = []
    for seed in range(5):
        start = time.perf_counter()
        animate_face(minute, emotion, seed=seed)
        animate_body(minute, emotion, seed=seed)
        both.append(time.perf_counter() - start)
    print(f"Face + body for the same 60 s: best {min(both):.3f} s, median {np.median(both):.3f} s of 5 runs")
    results["seconds_per_minute"] = {"body": runs, "face_and_body": both}
    if args.json:
        write_results(args.json, results, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Face-motion recognizer (FACS/EMFACS prototypes on ARKit tracks) on procedural face tracks: confusion and speed.

Input: the procedural face (generators.procedural.face.animate_face) speaking the real BEAT takes of
../shared/data/beat (audio features + TextGrid phones), each of the eight emotions held at an intensity, seeds 0-1.
Printed: the 8x8 confusion matrix of the 2-s windows (rows: the emotion asked for; columns: the label read) and the
accuracy of the windows and of the whole tracks, at intensity 0.8 and at a weaker 0.4; the mean probability of the
target; and the speed of predict (frames per second, one thread, best of 5, on a 60-s track at 30 fps).
With --learned, also the latent-diffusion checkpoint's face tracks (first BEAT take, seed 0, 20 DDIM steps; about
10 s of CPU per emotion), a generator the recognizer was not written against.
Run: .venv/bin/python bench/face_motion.py [--intensity 0.8 0.4] [--seeds 0 1] [--learned]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np  # noqa: E402

from avatar.evaluation.beat import BEAT, BEAT_TAKES, beat_content  # noqa: E402
from avatar.evaluation.face import constant  # noqa: E402
from avatar.recognizers.face_motion import FaceMotionRecognizer  # noqa: E402
from generators.conditioning import EMOTIONS  # noqa: E402
from generators.procedural.face import animate_face  # noqa: E402
from rigs.face.track import FaceTrack  # noqa: E402


def confusion(intensity: float, contents, seeds, recognizer: FaceMotionRecognizer, animate=None):
    """Window and whole-track confusion matrices (8, 8) and the mean target probability of the windows."""
    windows = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    tracks = np.zeros_like(windows)
    target_prob = np.zeros(len(EMOTIONS))
    counts = np.zeros(len(EMOTIONS))
    for e, emotion in enumerate(EMOTIONS):
        for content in contents:
            for seed in seeds:
                track = (animate or animate_face)(content, constant(emotion, intensity, content.n_frames), seed=seed)
                result = recognizer.predict(track)
                for w in result.windows:
                    windows[e, EMOTIONS.index(w.label)] += 1
                    target_prob[e] += w.probs[emotion]
                    counts[e] += 1
                tracks[e, EMOTIONS.index(result.overall.label)] += 1
    return windows, tracks, target_prob / np.maximum(counts, 1)


def print_matrix(matrix: np.ndarray) -> None:
    """The confusion matrix with row and column names, and each row's recall."""
    short = [name[:5] for name in EMOTIONS]
    print("  asked \\ read " + " ".join(f"{s:>6}" for s in short) + "  recall")
    for e, row in enumerate(matrix):
        print(f"  {EMOTIONS[e]:<13}" + " ".join(f"{v:6d}" for v in row) + f"  {row[e] / max(row.sum(), 1):6.1%}")


def frames_per_second(recognizer: FaceMotionRecognizer, content) -> float:
    """predict's frames per second on 60 s of a procedural track (tiled to length), best of 5."""
    track = animate_face(content, constant("happiness", 0.8, content.n_frames), seed=0)
    n = int(60 * track.fps)
    weights = np.resize(track.weights, (n, track.weights.shape[1]))
    long = FaceTrack(weights, track.fps)
    recognizer.predict(long)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        recognizer.predict(long)
        best = min(best, time.perf_counter() - started)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intensity", type=float, nargs="+", default=[0.8, 0.4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--learned", action="store_true", help="also read the learned generator's face tracks")
    args = parser.parse_args()
    if not BEAT.is_dir():
        sys.exit(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat.")
    import torch

    torch.set_num_threads(1)  # the recognizer is numpy/scipy; this keeps the animator's imports polite too
    recognizer = FaceMotionRecognizer.from_pretrained()
    contents = [beat_content(take) for take in BEAT_TAKES]
    seconds = sum(c.duration for c in contents)
    print(f"face tracks of {len(BEAT_TAKES)} BEAT takes ({seconds:.0f} s), seeds {args.seeds}, windows "
          f"{recognizer.window_s:g} s every {recognizer.hop_s:g} s")
    runs = [("procedural", None, contents, args.seeds, args.intensity)]
    if args.learned:
        from generators.learned.animate import LearnedAnimator

        learned = LearnedAnimator.from_pretrained()
        runs.append(("learned", lambda c, e, seed: learned.animate(c, e, seed=seed)[0], contents[:1], [0], [0.8]))
    for generator, animate, inputs, seeds, intensities in runs:
        for intensity in intensities:
            report(generator, intensity, confusion(intensity, inputs, seeds, recognizer, animate))
    print(f"speed: {frames_per_second(recognizer, contents[0]):,.0f} frames/s (60 s at 30 fps, one call)")


def report(generator: str, intensity: float, figures) -> None:
    """Print one confusion run."""
    windows, tracks, target = figures
    print(f"{generator}, intensity {intensity:g}: window accuracy {np.trace(windows) / windows.sum():.1%} "
          f"({windows.sum()} windows), track accuracy {np.trace(tracks) / tracks.sum():.1%} ({tracks.sum()} tracks)")
    print_matrix(windows)
    print("  mean probability of the target: " + ", ".join(
        f"{name} {p:.2f}" for name, p in zip(EMOTIONS, target, strict=True)))


if __name__ == "__main__":
    main()

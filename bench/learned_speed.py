"""The learned motion generator's speed, streaming latency, memory and window seams on 60 s of real speech.

Run: .venv/bin/python bench/learned_speed.py [--checkpoint checkpoints/motion-diffusion] [--threads 1]

Input: the first 60 s of BEAT take 2_scott_0_3_3 (held out of training), at neutral and at anger 0.8.
- Speed: one call of the pipeline with its default sampler (10 DPM-Solver++ steps, emotion and style guidance, the
  style read from the take as `avatar render` does), face and body; real-time factor = seconds of compute per
  second of speech (median of 3 runs). Target RTF <= 0.02 on this 2-core machine (`--threads 2` uses both cores).
- Streaming: the features fed in 0.1-s chunks (as a microphone would give them), 10 DPM-Solver steps; latency of
  a frame = the time its chunk went in -> the time it came out, counting the hop it waited for (frames leave at
  most one hop after their audio arrives) and the compute. Target <= 0.5 s.
- Peak memory: the process's maximum resident set size after all of it (ru_maxrss).
- Seams: mean jerk (third difference, per second^3, over the face features and the body's 6D rotations) within
  +-3 frames of the window edges (where each window begins and where the one before it ends), against the mean
  elsewhere. Target <= 1.5x.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

from avatar.evaluation.beat import BEAT, beat_content
from generators.learned.animate import DEFAULT_CHECKPOINT

TAKE = "2_scott_0_3_3"
SECONDS = 60.0
CHUNK_S = 0.1


def jerk(features: np.ndarray, fps: float) -> np.ndarray:
    """(T,) magnitude of the third difference of (T, D) features, per frame (zero-padded at the ends)."""
    third = np.diff(features.astype(np.float64), n=3, axis=0) * fps**3
    magnitude = np.sqrt(np.mean(third**2, axis=1))
    return np.r_[np.zeros(2), magnitude, np.zeros(1)]


def seam_ratio(pipe, features: np.ndarray, n_frames: int, fps: float, reach: int = 3) -> tuple[float, int]:
    """Mean jerk within +-reach frames of the window edges / the mean elsewhere, and the number of edges."""
    from generators.learned.vae import DOWNSAMPLE

    plan = pipe.windows(-(-n_frames // DOWNSAMPLE))
    joins = sorted({DOWNSAMPLE * start for start, _, _ in plan[1:]} | {DOWNSAMPLE * end for _, end, _ in plan[:-1]})
    values = jerk(features, fps)
    near = np.zeros(n_frames, bool)
    for frame in joins:
        near[max(frame - reach, 0): frame + reach + 1] = True
    near[:3] = near[-3:] = False  # the padded ends are not seams
    far = ~near
    far[:3] = far[-3:] = False
    return float(values[near].mean() / values[far].mean()), len(joins)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: this 2-core machine)")
    args = parser.parse_args()
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat", file=sys.stderr)
        return 1
    import torch

    from avatar.emotion import constant_emotion
    from avatar.frontend.audio import load_audio
    from avatar.frontend.style import estimate_style
    from generators.learned import representation as rep
    from generators.learned.pipeline import MotionDiffusionPipeline

    torch.set_num_threads(args.threads)
    pipe = MotionDiffusionPipeline.from_pretrained(args.checkpoint)
    content = beat_content(TAKE)
    n = int(SECONDS * content.fps)
    features = rep.content_features(content)[:n]
    neutral = rep.emotion_features(constant_emotion("neutral", 0.8, n))
    anger = rep.emotion_features(constant_emotion("anger", 0.8, n))
    style = estimate_style(load_audio(BEAT / "wav" / f"{TAKE}.wav")).vector()

    pipe(features[:120], neutral[:120])  # warm-up
    times = []
    for _ in range(3):
        started = time.perf_counter()
        face, body = pipe(features, neutral, style, seed=0)
        times.append(time.perf_counter() - started)
    seconds = float(np.median(times))
    print(f"{args.checkpoint.name}, {args.threads} thread(s), {SECONDS:.0f} s of speech ({TAKE}), default sampler "
          f"(10 DPM-Solver++ steps, emotion + style guidance)")
    print(f"  offline: {seconds:.2f} s for face + body, real-time factor {seconds / SECONDS:.4f} (target <= 0.02)")

    chunk = int(round(CHUNK_S * content.fps))
    arrived: list[float] = []
    latencies: list[float] = []

    def chunks():
        for start in range(0, n, chunk):
            arrived.extend([time.perf_counter()] * len(features[start:start + chunk]))
            yield features[start:start + chunk], neutral[start:start + chunk]

    emitted = 0
    for face_chunk, _ in pipe.stream(chunks(), style):
        now = time.perf_counter()
        # A frame's audio is complete when its chunk arrived; latency counts from then.
        latencies += [now - arrived[i] for i in range(emitted, emitted + len(face_chunk))]
        emitted += len(face_chunk)
    latencies = np.array(latencies)
    print(f"  streaming ({CHUNK_S:.1f}-s chunks, 10 DPM-Solver steps): latency mean {latencies.mean():.3f} s, "
          f"95th percentile {np.percentile(latencies, 95):.3f} s, max {latencies.max():.3f} s (target <= 0.5 s); "
          f"{emitted} of {n} frames out")

    ratios = []
    for name, emotion in (("neutral", neutral), ("anger 0.8", anger)):
        face, body = pipe(features, emotion, style, seed=1)
        for part, values in (("face", face), ("body", body)):
            ratio, joins = seam_ratio(pipe, values, n, content.fps)
            ratios.append(ratio)
            print(f"  seams, {name}, {part}: jerk near the {joins} window edges / elsewhere = {ratio:.2f} "
                  f"(target <= 1.5)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (max RSS of the process): {peak:.0f} MiB")
    ok = seconds / SECONDS <= 0.02 and latencies.max() <= 0.5 and max(ratios) <= 1.5
    print(f"  all targets met: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The procedural face on the real BEAT takes in ../shared/data/beat: the four quality measures and the speed.

Input per take: its audio (frame features) and its TextGrid words and phones. Measures and their definitions are
in avatar/evaluation/face.py (bilabial closure, open-vowel jaw, blinks at neutral, emotion shows); speed is the
face animation time alone (front end excluded), scaled to 60 s of speech at 30 fps, best of 5.
Run: .venv/bin/python bench/procedural_face.py [--json bench/results/procedural_face.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

from avatar.evaluation.beat import BEAT, BEAT_TAKES, beat_content
from avatar.evaluation.face import FaceFigures, constant, measure
from avatar.evaluation.results import run_conditions, write_results
from generators.procedural.face import animate_face


def seconds_per_minute(content, repeats: int = 5) -> float:
    """Face animation time for 60 s of this speech (best of `repeats`, neutral emotion)."""
    emotion = constant("neutral", 0.8, content.n_frames)
    animate_face(content, emotion)  # warm-up (imports, caches)
    best = float("inf")
    for seed in range(repeats):
        started = time.perf_counter()
        animate_face(content, emotion, seed=seed)
        best = min(best, time.perf_counter() - started)
    return best * 60.0 / content.duration


def as_json(figures: FaceFigures) -> dict:
    """The figures of one take, JSON-ready (blink lengths in ms)."""
    return {**{k: v for k, v in asdict(figures).items() if k != "blink_s"},
            "blink_ms": [1000 * float(s) for s in figures.blink_s]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/procedural_face.json)")
    args = parser.parse_args(argv)
    if not BEAT.is_dir():
        sys.exit(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat.")
    started = run_conditions()
    failed, results = False, {}
    for take in BEAT_TAKES:
        content = beat_content(take)
        figures = measure(lambda c, e: animate_face(c, e, seed=0), content)
        speed = seconds_per_minute(content)
        print(f"{take} ({content.duration:.1f} s, {len(content.phones)} phones):")
        for line in figures.lines():
            print(f"  {line}")
        print(f"  face animation: {speed:.3f} s per 60 s of speech at {content.fps:g} fps")
        for failure in figures.failures():
            failed = True
            print(f"  MISSED: {failure}")
        results[take] = {**as_json(figures), "seconds_per_minute": speed}
    print("targets: closure >= 95 %; open-vowel jawOpen >= 0.25 and >= 3x P/B/M; 8-30 blinks/min of 100-400 ms; "
          "defining shapes >= 0.3 at 0.8 and <= 0.1 at neutral; face well under 0.5 s per 60 s")
    if args.json:
        write_results(args.json, results, started)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

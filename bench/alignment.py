"""Forced-alignment accuracy, speed and memory on the real BEAT takes in ../shared/data/beat.

Transcript = the words of each take's TextGrid; the reference timings are its words and phones tiers. The
three takes are aligned one by one, then as one 10-minute input (the three takes three times over), which
takes the long-input path (phone alignment in pause-delimited chunks). The measures: avatar/evaluation/alignment.py.
Run: .venv/bin/python bench/alignment.py [--json bench/results/alignment.json]   (or `make bench`)
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

from avatar.evaluation.alignment import concatenate, evaluate_takes, score
from avatar.evaluation.beat import BEAT, BEAT_TAKES, beat_take
from avatar.evaluation.results import run_conditions, write_results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/alignment.json)")
    args = parser.parse_args(argv)
    if not BEAT.is_dir():
        sys.exit(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat.")
    started = run_conditions()
    figures = evaluate_takes()
    print(f"targets: word start median <= 40 ms ({figures['word_median_ms']:.0f}), >= 90 % within 100 ms "
          f"({figures['word_within_100ms']:.1%}), phone start median <= 40 ms ({figures['phone_median_ms']:.0f}), "
          f"RTF <= 0.15 ({figures['rtf']:.3f})")
    takes = [beat_take(take) for take in BEAT_TAKES]
    part, result = score(*concatenate(takes * 3))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"one {part.audio_seconds / 60:.1f}-minute input: {part.line()}; peak resident memory {peak_mb:.0f} MB"
          + "".join(f"; {n}" for n in result.notes))
    if args.json:
        long_input = {**part.figures(), "minutes": part.audio_seconds / 60}
        write_results(args.json, {"takes_one_by_one": figures, "long_input": long_input, "peak_rss_mb": peak_mb},
                      started)


if __name__ == "__main__":
    main()

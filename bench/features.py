"""Speed and F0 quality of the front-end features: real-time factor, agreement with librosa.pyin, memory.

Run: .venv/bin/python bench/features.py [WAV ...] [--json bench/results/features.json]   (default: the 64 s
BEAT take in the shared data)
Where a BEAT TextGrid sits beside the take (../textgrid/NAME.TextGrid), the voicing of both trackers is also
checked against the phone alignment: the voiced share inside vowels, unvoiced consonants and pauses.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import librosa
import numpy as np

from avatar.evaluation.beat import BEAT
from avatar.evaluation.results import run_conditions, write_results
from avatar.frontend.alignment import Interval
from avatar.frontend.audio import Audio, load_audio
from avatar.frontend.features import ANALYSIS_FPS, F0_MAX, F0_MIN, HOP, extract_features
from avatar.frontend.textgrid import load_alignment_textgrid
from rigs.phones import VOWELS

DEFAULT_WAV = BEAT / "wav" / "2_scott_0_1_1.wav"


def best_time(fn, repeats: int = 3) -> float:
    """Fastest wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


UNVOICED = {"P", "T", "K", "F", "TH", "S", "SH", "HH", "CH"}


def alignment_masks(wav: Path, n: int) -> dict[str, np.ndarray] | None:
    """100 Hz frames well inside vowels, unvoiced consonants and pauses of the take's TextGrid, if any."""
    grid = wav.parent.parent / "textgrid" / f"{wav.stem}.TextGrid"
    if not grid.exists():
        return None
    alignment = load_alignment_textgrid(grid)
    times = np.arange(n) / ANALYSIS_FPS
    masks = {name: np.zeros(n, dtype=bool) for name in ("vowel", "unvoiced_consonant", "pause")}

    def mark(name: str, span: Interval) -> None:  # 20 ms in from each edge, to discount aligner slack
        masks[name] |= (times >= span.start + 0.02) & (times < span.end - 0.02)

    for pause in alignment.pauses():
        mark("pause", pause)
    for phone in alignment.phones:
        if phone.label in VOWELS or phone.label in UNVOICED:
            mark("vowel" if phone.label in VOWELS else "unvoiced_consonant", phone)
    return masks


def f0_agreement(audio: Audio, wav: Path) -> dict[str, float]:
    """Compare our 100 Hz F0 and voicing with pyin's on the same frames (pyin as the reference)."""
    ours = extract_features(audio, fps=ANALYSIS_FPS)
    start = time.perf_counter()
    ref, ref_voiced, _ = librosa.pyin(
        audio.samples, fmin=F0_MIN, fmax=F0_MAX, sr=audio.sample_rate, frame_length=1024, hop_length=HOP
    )
    pyin_s = time.perf_counter() - start
    n = min(len(ref), ours.n_frames)
    f0, ref, ref_voiced = ours.f0_hz[:n, 0], ref[:n], ref_voiced[:n]
    voiced = f0 > 0
    both = voiced & ref_voiced
    cents = np.abs(1200 * np.log2(f0[both] / ref[both]))
    stats = {
        "pyin_rtf": pyin_s / audio.duration,
        "voicing_agreement": float(np.mean(voiced == ref_voiced)),
        "voiced_recall": float(both.sum() / max(ref_voiced.sum(), 1)),
        "voiced_precision": float(both.sum() / max(voiced.sum(), 1)),
        "median_cents": float(np.median(cents)),
        "p90_cents": float(np.percentile(cents, 90)),
        "over_100_cents": float(np.mean(cents > 100)),
    }
    for name, mask in (alignment_masks(wav, n) or {}).items():
        stats[f"voiced_in_{name}"] = float(voiced[mask].mean())
        stats[f"pyin_voiced_in_{name}"] = float(ref_voiced[mask].mean())
    return stats


def peak_memory_mib(audio: Audio, minutes: float = 10.0) -> float:
    """Peak memory traced while extracting features of `audio` tiled to `minutes` long, beyond the input."""
    reps = int(np.ceil(minutes * 60 / audio.duration))
    long = Audio(np.tile(audio.samples, reps)[: int(minutes * 60 * audio.sample_rate)], audio.sample_rate)
    tracemalloc.start()
    extract_features(long, fps=30)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wavs", nargs="*", type=Path, default=[DEFAULT_WAV])
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/features.json)")
    args = parser.parse_args(argv)
    started = run_conditions()
    results = {"inputs": {}, "peak_mib": {}}
    for path in args.wavs:
        audio = load_audio(path)
        seconds = best_time(lambda audio=audio: extract_features(audio, fps=30))
        rtf = seconds / audio.duration
        print(f"{path.name}: {audio.duration:.1f} s, extract_features {seconds:.2f} s, RTF {rtf:.4f}")
        stats = f0_agreement(audio, path)
        print("  F0 vs pyin: " + ", ".join(f"{key} {value:.3f}" for key, value in stats.items()))
        results["inputs"][path.stem] = {"duration_s": audio.duration, "seconds": seconds, "rtf": rtf, **stats}
    audio = load_audio(args.wavs[0])
    for minutes in (1, 10):  # after a warm-up above, so one-off import and cache costs are not counted
        results["peak_mib"][str(minutes)] = peak_memory_mib(audio, minutes)
        print(f"peak traced memory for {minutes} min of audio: {results['peak_mib'][str(minutes)]:.0f} MiB")
    if args.json:
        write_results(args.json, results, started)


if __name__ == "__main__":
    main()

"""Forced-alignment accuracy and speed on the real BEAT takes in ../shared/data/beat.

Transcript = the words of each take's TextGrid; the reference timings are its words and phones tiers.
Run: .venv/bin/python bench/alignment.py   (or `make bench`)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from avatar.frontend.alignment import align
from avatar.frontend.audio import load_audio
from avatar.frontend.scoring import start_errors
from avatar.frontend.textgrid import load_alignment_textgrid

BEAT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "beat"
TAKES = ("2_scott_0_1_1", "2_scott_0_2_2", "2_scott_0_3_3")


def evaluate(beat: Path = BEAT) -> dict[str, float]:
    """Pooled figures over the three takes, with one line printed per take."""
    words, phones, n_words, n_phones, seconds, audio_s = [], [], 0, 0, 0.0, 0.0
    for take in TAKES:
        reference = load_alignment_textgrid(beat / "textgrid" / f"{take}.TextGrid")
        audio = load_audio(beat / "wav" / f"{take}.wav")
        started = time.perf_counter()
        result = align(audio, reference.transcript)
        elapsed = time.perf_counter() - started
        w, nw = start_errors(result.words, reference.words)
        p, n_p = start_errors(result.phones, reference.phones)
        notes = "".join(f"; {note}" for note in result.notes)
        rtf = elapsed / audio.duration
        print(f"{take}: {audio.duration:5.1f} s audio aligned in {elapsed:4.1f} s (RTF {rtf:.3f}); "
              f"word start median {1000 * np.median(w):.0f} ms, {np.sum(w <= 0.1) / nw:.1%} within 100 ms; "
              f"phone start median {1000 * np.median(p):.0f} ms{notes}")
        words.append(w), phones.append(p)
        n_words, n_phones = n_words + nw, n_phones + n_p
        seconds, audio_s = seconds + elapsed, audio_s + audio.duration
    w, p = np.concatenate(words), np.concatenate(phones)
    return {
        "word_median_ms": 1000 * float(np.median(w)),
        "word_within_100ms": float(np.sum(w <= 0.1) / n_words),
        "phone_median_ms": 1000 * float(np.median(p)),
        "phone_within_50ms": float(np.sum(p <= 0.05) / n_phones),
        "rtf": seconds / audio_s,
    }


if __name__ == "__main__":
    if not BEAT.is_dir():
        sys.exit(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat.")
    figures = evaluate()
    print(f"all three takes: word start median {figures['word_median_ms']:.0f} ms (target <= 40), "
          f"{figures['word_within_100ms']:.1%} within 100 ms (target >= 90 %); "
          f"phone start median {figures['phone_median_ms']:.0f} ms (target <= 40), "
          f"{figures['phone_within_50ms']:.1%} within 50 ms; real-time factor {figures['rtf']:.3f} (target <= 0.15)")

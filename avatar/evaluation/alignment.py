"""Forced-alignment accuracy against a reference alignment: start-time errors of words and phones, and speed.

The reference is a TextGrid made by people or a trusted aligner (BEAT's); the transcript given to the aligner is
the reference's words. Errors are per reference word or phone: |aligned start - reference start| (see
avatar/frontend/scoring.py for how words and phones are matched).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.evaluation.beat import BEAT, BEAT_TAKES, beat_take
from avatar.frontend.alignment import Alignment, Interval, align
from avatar.frontend.audio import Audio
from avatar.frontend.scoring import phone_start_errors, start_errors


@dataclass
class Score:
    """Start-time errors against a reference, pooled over inputs, and the time spent."""

    word_errors: np.ndarray
    n_words: int
    phone_errors: np.ndarray
    n_phones: int
    seconds: float
    audio_seconds: float

    def __add__(self, other: Score) -> Score:
        return Score(np.concatenate([self.word_errors, other.word_errors]), self.n_words + other.n_words,
                     np.concatenate([self.phone_errors, other.phone_errors]), self.n_phones + other.n_phones,
                     self.seconds + other.seconds, self.audio_seconds + other.audio_seconds)

    def figures(self) -> dict[str, float]:
        """The headline figures."""
        return {
            "word_median_ms": 1000 * float(np.median(self.word_errors)),
            "word_within_100ms": float(np.sum(self.word_errors <= 0.1) / self.n_words),
            "phone_median_ms": 1000 * float(np.median(self.phone_errors)),
            "phone_within_50ms": float(np.sum(self.phone_errors <= 0.05) / self.n_phones),
            "rtf": self.seconds / self.audio_seconds,
        }

    def line(self) -> str:
        """The figures in one line."""
        f = self.figures()
        return (f"word start median {f['word_median_ms']:.0f} ms, {f['word_within_100ms']:.1%} within 100 ms; "
                f"phone start median {f['phone_median_ms']:.0f} ms, {f['phone_within_50ms']:.1%} within 50 ms; "
                f"RTF {f['rtf']:.3f}")


def score(audio: Audio, reference: Alignment) -> tuple[Score, Alignment]:
    """Align `audio` to the reference's transcript and score it."""
    started = time.perf_counter()
    result = align(audio, reference.transcript)
    elapsed = time.perf_counter() - started
    words, n_words = start_errors(result.words, reference.words)
    phones, n_phones = phone_start_errors(result, reference)
    return Score(words, n_words, phones, n_phones, elapsed, audio.duration), result


def concatenate(pieces: list[tuple[Audio, Alignment]]) -> tuple[Audio, Alignment]:
    """One long input made of several takes, with their references shifted into place."""
    words, phones, offset = [], [], 0.0
    for audio, reference in pieces:
        words += [Interval(i.start + offset, i.end + offset, i.label) for i in reference.words]
        phones += [Interval(i.start + offset, i.end + offset, i.label) for i in reference.phones]
        offset += audio.duration
    audio = Audio(np.concatenate([a.samples for a, _ in pieces]), source="three BEAT takes, three times")
    transcript = " ".join(r.transcript for _, r in pieces)
    return audio, Alignment(tuple(words), tuple(phones), audio.duration, transcript, "textgrid")


def evaluate_takes(beat: Path = BEAT, verbose: bool = True) -> dict[str, float]:
    """Pooled figures over the three takes aligned one by one."""
    total = None
    for take in BEAT_TAKES:
        part, result = score(*beat_take(take, beat))
        if verbose:
            print(f"{take}: {part.audio_seconds:5.1f} s, {part.line()}" + "".join(f"; {n}" for n in result.notes))
        total = part if total is None else total + part
    if verbose:
        print(f"all three takes: {total.line()}")
    return total.figures()

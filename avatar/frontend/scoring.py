"""Alignment accuracy against a reference alignment (e.g. BEAT's TextGrids)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np

from avatar.frontend.alignment import Alignment, Interval


def _key(label: str) -> str:
    return re.sub(r"\d", "", label).lower()


def _matched(hypothesis: Sequence[Interval], reference: Sequence[Interval]) -> list[tuple[int, int]]:
    """(hypothesis index, reference index) of the intervals whose labels match in order."""
    matcher = difflib.SequenceMatcher(a=[_key(i.label) for i in reference], b=[_key(i.label) for i in hypothesis],
                                      autojunk=False)
    return [(block.b + k, block.a + k) for block in matcher.get_matching_blocks() for k in range(block.size)]


def start_errors(hypothesis: Sequence[Interval], reference: Sequence[Interval]) -> tuple[np.ndarray, int]:
    """Absolute start-time errors (s) of the intervals whose labels match in order, and the reference count.

    Labels are compared case-insensitively without stress digits, and the sequences are matched with difflib,
    so a differing pronunciation or word costs only itself, not every later comparison. Callers divide by the
    reference count, so unmatched reference intervals count as misses.
    """
    pairs = _matched(hypothesis, reference)
    return np.array([abs(hypothesis[h].start - reference[r].start) for h, r in pairs]), len(reference)


def phone_start_errors(hypothesis: Alignment, reference: Alignment) -> tuple[np.ndarray, int]:
    """Start-time errors of matching phones inside matching words, and the reference phone count.

    Matching phones word by word keeps long inputs with repeated passages from pairing a phone with its twin
    in another repetition.
    """
    def inside(phones: Sequence[Interval], word: Interval) -> list[Interval]:
        return [p for p in phones if word.start <= (p.start + p.end) / 2 <= word.end]

    errors = [start_errors(inside(hypothesis.phones, hypothesis.words[h]),
                           inside(reference.phones, reference.words[r]))[0]
              for h, r in _matched(hypothesis.words, reference.words)]
    return np.concatenate(errors) if errors else np.zeros(0), len(reference.phones)

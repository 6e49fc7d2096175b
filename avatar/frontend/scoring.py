"""Alignment accuracy against a reference alignment (e.g. BEAT's TextGrids)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np

from avatar.frontend.alignment import Interval


def start_errors(hypothesis: Sequence[Interval], reference: Sequence[Interval]) -> tuple[np.ndarray, int]:
    """Absolute start-time errors (s) of the intervals whose labels match in order, and the reference count.

    Labels are compared case-insensitively without stress digits, and the sequences are matched with difflib,
    so a differing pronunciation or word costs only itself, not every later comparison. Callers divide by the
    reference count, so unmatched reference intervals count as misses.
    """
    def key(label: str) -> str:
        return re.sub(r"\d", "", label).lower()

    hyp, ref = [key(i.label) for i in hypothesis], [key(i.label) for i in reference]
    matcher = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False)
    errors = [abs(hypothesis[block.b + k].start - reference[block.a + k].start)
              for block in matcher.get_matching_blocks() for k in range(block.size)]
    return np.array(errors), len(ref)

"""The learned generator's sampling windows are the recognizers' sliding windows (rigs.clock.sliding_spans), with
the same plan as the generator's own loop had before they shared it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from avatar.emotion.windows import sliding_windows
from generators.learned.pipeline import MotionDiffusionPipeline
from rigs.clock import sliding_spans


def plan_before(n_tokens: int, window: int, overlap: int) -> list[tuple[int, int, int]]:
    """The generator's window plan as written before it used sliding_spans (commit 2d1dfde)."""
    plan, done = [], 0
    while done < n_tokens:
        start = 0 if done == 0 else max(min(done - overlap, n_tokens - window), 0)
        end = min(start + window, n_tokens)
        plan.append((start, end, done - start))
        done = end
    return plan


@pytest.mark.parametrize(("window", "overlap"), [(32, 8), (16, 4), (32, 0), (32, 16), (8, 7), (1, 0)])
def test_the_generator_plans_its_windows_as_before(window, overlap):
    pipe = SimpleNamespace(window_tokens=window, overlap_tokens=overlap)
    for n_tokens in range(1, 200):
        assert MotionDiffusionPipeline.windows(pipe, n_tokens) == plan_before(n_tokens, window, overlap)


def test_recognizer_windows_are_the_same_spans_in_seconds():
    assert sliding_windows(230, 100, 1.5, 0.5) == sliding_spans(230, 150, 50) == [(0, 150), (50, 200), (80, 230)]
    with pytest.raises(ValueError, match="at least 1"):
        sliding_spans(10, 4, 0)

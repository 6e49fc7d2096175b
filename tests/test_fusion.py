"""Fusing the speech and text timelines into one emotion curve with confidence."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.emotion import EMOTIONS, top_label
from avatar.emotion.fusion import fuse
from avatar.emotion.timeline import EmotionTimeline
from avatar.emotion.windows import spread
from avatar.errors import InputError

FPS = 10.0


def onehot(label: str, share: float = 1.0) -> np.ndarray:
    p = np.full(len(EMOTIONS), (1 - share) / (len(EMOTIONS) - 1))
    p[EMOTIONS.index(label)] = share
    return p


def timeline(n: int, *readings: tuple[float, float, np.ndarray, float]) -> EmotionTimeline:
    """A source's timeline of n frames from (start s, end s, probabilities, confidence) readings."""
    return spread([(a, b) for a, b, _, _ in readings], [p for *_, p, _ in readings], [c for *_, c in readings], n,
                  FPS)


def test_agreeing_sources_give_a_confident_curve_and_gaps_are_neutral():
    timelines = {"speech": timeline(40, (0, 2, onehot("anger", 0.7), 0.7)),
                 "text": timeline(40, (0, 2, onehot("anger", 0.9), 0.9))}
    fused = fuse(timelines, 40, FPS, smooth_s=0)
    assert top_label(fused.emotion)[:20] == ["anger"] * 20
    assert top_label(fused.emotion)[25:] == ["neutral"] * 15
    assert fused.confidence[:20] == pytest.approx(0.8)
    assert fused.confidence[25:] == pytest.approx(0.0)
    assert np.isnan(fused.per_source["speech"][25:]).all()  # where a source says nothing


def test_the_more_confident_and_heavier_source_wins_disagreements():
    timelines = {"speech": timeline(30, (0, 3, onehot("sadness", 0.5), 0.3)),
                 "text": timeline(30, (0, 3, onehot("happiness", 0.8), 0.9))}
    assert set(top_label(fuse(timelines, 30, FPS).emotion)) == {"happiness"}
    speech_heavy = fuse(timelines, 30, FPS, weights={"speech": 0.95, "text": 0.05})
    assert set(top_label(speech_heavy.emotion)) == {"sadness"}


def test_overlapping_windows_average_and_the_curve_is_smooth():
    windows = timeline(55, *[(s, s + 1.5, onehot("fear" if s < 2 else "surprise", 0.8), 0.8)
                             for s in np.arange(0, 4, 0.5)])
    fused = fuse({"speech": windows}, 55, FPS, smooth_s=0.4)
    shown = fused.emotion.categories * fused.emotion.intensity[:, None]
    assert np.abs(np.diff(shown, axis=0)).max() < 0.25
    assert top_label(fused.emotion)[5] == "fear" and top_label(fused.emotion)[45] == "surprise"
    assert set(fused.per_source) == {"speech"}


def test_bad_timelines_are_clear_errors():
    with pytest.raises(InputError, match="no fusion weight"):
        fuse({"face": timeline(10, (0, 1, onehot("anger"), 1.0))}, 10, FPS)
    with pytest.raises(InputError, match="has 10 frames at 10 fps; fusion needs 12 at 10"):
        fuse({"speech": timeline(10, (0, 1, onehot("anger"), 1.0))}, 12, FPS)

"""Windows on the frame clock (the recognizers' and the verification loop's) and readings spread back onto frames."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.emotion import EMOTIONS
from avatar.emotion.space import VAD_TABLE
from avatar.emotion.windows import consecutive_windows, equal_parts, sliding_windows, spread
from avatar.errors import InputError


def onehot(label: str, share: float = 1.0) -> np.ndarray:
    p = np.full(len(EMOTIONS), (1 - share) / (len(EMOTIONS) - 1))
    p[EMOTIONS.index(label)] = share
    return p


def test_sliding_windows_reach_the_end():
    # The speech recognizer's windows on its 100-per-second log-mel frames: 1.5 s every 0.5 s.
    assert sliding_windows(100, 100, 1.5, 0.5) == [(0, 100)]  # shorter than a window: one window
    assert sliding_windows(150, 100, 1.5, 0.5) == [(0, 150)]
    assert sliding_windows(200, 100, 1.5, 0.5) == [(0, 150), (50, 200)]
    assert sliding_windows(230, 100, 1.5, 0.5) == [(0, 150), (50, 200), (80, 230)]  # the tail gets its own
    assert sliding_windows(95, 30, 2.0, 1.0) == [(0, 60), (30, 90), (35, 95)]  # the face-motion recognizer's


def test_consecutive_windows_partition_the_frames():
    assert consecutive_windows(240, 30.0, 2.0) == [(0, 60), (60, 120), (120, 180), (180, 240)]
    assert consecutive_windows(250, 30.0, 2.0)[-1] == (180, 250)  # a short tail joins the last window
    assert consecutive_windows(280, 30.0, 2.0)[-1] == (240, 280)  # a tail of at least half a window is its own
    assert consecutive_windows(20, 30.0, 2.0) == [(0, 20)]


def test_equal_parts_of_about_the_length_asked():
    assert equal_parts(300, 100, 4.0) == [(0, 300)]  # up to ~6 s is one part...
    assert equal_parts(1300, 100, 4.0) == [(0, 433), (433, 867), (867, 1300)]  # ...longer in equal parts of ~4 s
    assert equal_parts(10, 100, 4.0) == [(0, 10)]


def test_spread_weighs_overlapping_readings_by_confidence():
    times = [(0.0, 1.0), (0.5, 1.5)]
    timeline = spread(times, [onehot("anger"), onehot("sadness")], [0.9, 0.3], 20, 10.0)
    assert timeline.n_frames == 20 and timeline.fps == 10.0
    np.testing.assert_allclose(timeline.probs[2], onehot("anger"))  # 0.2 s: the first reading alone
    np.testing.assert_allclose(timeline.probs[7], 0.75 * onehot("anger") + 0.25 * onehot("sadness"))
    np.testing.assert_allclose(timeline.confidence[[2, 7, 12]], [0.9, 0.6, 0.3])
    np.testing.assert_allclose(timeline.vad[2], onehot("anger") @ VAD_TABLE)  # the VAD of its probabilities
    # From 1.5 s on no reading speaks: neutral, not trusted at all.
    np.testing.assert_array_equal(timeline.probs[15:], np.tile(onehot("neutral"), (5, 1)))
    assert timeline.confidence[15:].max() == 0.0
    np.testing.assert_allclose(
        timeline.frames(0, 10).mean(), timeline.probs[:10].T @ timeline.confidence[:10] / timeline.confidence[:10].sum()
    )


def test_spread_keeps_given_vad_and_checks_probabilities():
    timeline = spread([(0.0, 1.0)], [onehot("happiness", 0.6)], [0.5], 10, 10.0, vad=[(0.4, 0.2, 0.1)])
    np.testing.assert_allclose(timeline.vad, np.tile([0.4, 0.2, 0.1], (10, 1)))
    with pytest.raises(InputError, match="text at 0-1 s: probabilities need 8"):
        spread([(0.0, 1.0)], [np.ones(7)], [1.0], 10, 10.0, source="text")
    with pytest.raises(InputError, match="non-negative"):
        spread([(0.0, 1.0)], [-onehot("anger")], [1.0], 10, 10.0)

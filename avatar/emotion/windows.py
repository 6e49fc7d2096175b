"""Windows on a frame clock: how recognizers and the verification loop cut frames into spans, and how readings of
timed spans go back onto frames.

A span is (start, end) frames, end exclusive. Window lengths are given in seconds and rounded to whole frames (at
least one), so the same call works on any clock: a track at 30 fps, log-mel frames at 100 per second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from avatar.emotion.space import VAD_TABLE
from avatar.emotion.timeline import EmotionTimeline
from avatar.errors import InputError
from generators.conditioning import EMOTIONS
from rigs.clock import sliding_spans

Span = tuple[int, int]


def _frames(seconds: float, fps: float) -> int:
    return max(1, int(round(seconds * fps)))


def sliding_windows(n_frames: int, fps: float, window_s: float, hop_s: float) -> list[Span]:
    """Windows window_s long every hop_s, plus one ending at the last frame if the hop leaves a tail; n_frames up to
    one window long is one window (rigs.clock.sliding_spans in seconds)."""
    return sliding_spans(n_frames, _frames(window_s, fps), _frames(hop_s, fps))


def consecutive_windows(n_frames: int, fps: float, window_s: float) -> list[Span]:
    """Windows of window_s side by side; a tail shorter than half a window joins the last."""
    size = _frames(window_s, fps)
    edges = list(range(0, n_frames, size)) + [n_frames]
    if len(edges) > 2 and edges[-1] - edges[-2] < size / 2:
        del edges[-2]
    return list(zip(edges[:-1], edges[1:], strict=True))


def equal_parts(n_frames: int, fps: float, part_s: float) -> list[Span]:
    """round(length / part_s) parts of equal length (at least one) that cover all n_frames."""
    n = max(1, round(n_frames / (part_s * fps)))
    edges = np.linspace(0, n_frames, n + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def spread(
    times: Sequence[tuple[float, float]],
    probs,
    confidence,
    n_frames: int,
    fps: float,
    vad=None,
    source: str = "reading",
) -> EmotionTimeline:
    """Readings of timed spans (start, end seconds) as a timeline of n_frames at fps.

    A frame takes the confidence-weighted mean of the readings whose span holds its time (start <= t < end) and
    their mean confidence; a frame no span holds is neutral with confidence 0. VAD (N, 3) is averaged the same
    way (when not given, the VAD of each reading's probabilities).
    """
    t = np.arange(n_frames) / fps
    total, total_vad = np.zeros((n_frames, len(EMOTIONS))), np.zeros((n_frames, 3))
    weight, count = np.zeros(n_frames), np.zeros(n_frames)
    for k, ((start, end), p, c) in enumerate(zip(times, probs, confidence, strict=True)):
        p, c = np.asarray(p, np.float64), float(np.clip(c, 0.0, 1.0))
        if p.shape != (len(EMOTIONS),) or not np.isfinite(p).all() or p.min() < 0:
            raise InputError(
                f"{source} at {start:g}-{end:g} s: probabilities need {len(EMOTIONS)} finite non-negative values"
            )
        p = p / max(p.sum(), 1e-12)
        inside = (t >= start) & (t < end)
        total[inside] += c * p
        total_vad[inside] += c * (p @ VAD_TABLE if vad is None else np.asarray(vad[k], np.float64))
        weight[inside] += c
        count[inside] += 1
    held = weight > 0
    frames = np.tile(np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")], (n_frames, 1))
    frames[held] = total[held] / weight[held, None]
    total_vad[held] /= weight[held, None]
    return EmotionTimeline(fps, frames, np.where(count > 0, weight / np.maximum(count, 1), 0.0), total_vad)


class WindowReadings:
    """A recognizer's readings of the windows of a clip: `windows`, each with start and end (seconds) and
    categories (8,) in EMOTIONS order."""

    windows: Sequence

    @property
    def matrix(self) -> np.ndarray:
        """Per-window category probabilities, float32 (n_windows, 8) in EMOTIONS order."""
        return np.stack([w.categories for w in self.windows])

    @property
    def times(self) -> np.ndarray:
        """(n_windows, 2) start and end of each window in seconds."""
        return np.array([(w.start, w.end) for w in self.windows])

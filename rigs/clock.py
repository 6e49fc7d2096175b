"""The frame clock every stage shares: one frame-rate range, and which frames a stretch of time holds.

Frame k stands for the time k / fps; a clip of d seconds holds ceil(d * fps) frames. Audio features, motion, videos
and exports all count frames this way, so their frames line up without resampling.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rigs.errors import InputError

MIN_FPS, MAX_FPS = 1.0, 200.0  # the one frame-rate range of every command and the pipeline


def check_fps(fps: float) -> float:
    """Return `fps` as a float if it is a usable frame rate, else raise an InputError."""
    if isinstance(fps, bool) or not (isinstance(fps, numbers.Real) and math.isfinite(fps) and
                                     MIN_FPS <= fps <= MAX_FPS):
        raise InputError(
            f"Frame rate fps={fps!r} is not usable: it must be a number from {MIN_FPS:g} to {MAX_FPS:g}. "
            "Use a video or animation rate such as 25, 30 or 60."
        )
    return float(fps)


def frame_count(duration_s: float, fps: float) -> int:
    """Number of frames on the frame clock for `duration_s` seconds of audio (at least 1)."""
    # The epsilon keeps an exact multiple (e.g. 2 s at 30 fps) from gaining a frame through float round-off.
    return max(1, math.ceil(duration_s * check_fps(fps) - 1e-9))


def frame_times(n: int, fps: float) -> np.ndarray:
    """Times in seconds (float64) that frames 0..n-1 stand for."""
    return np.arange(n, dtype=np.float64) / check_fps(fps)


class OnFrameClock:
    """What every value on the frame clock has (tracks, features, content): its duration and frame times.

    A subclass holds `fps` and says how many frames it has (`n_frames`).
    """

    fps: float

    @property
    def n_frames(self) -> int:
        raise NotImplementedError

    @property
    def duration(self) -> float:
        """Seconds covered: frames / fps."""
        return self.n_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        """The time in seconds each frame stands for."""
        return np.arange(self.n_frames, dtype=np.float64) / self.fps


def sliding_spans(n: int, size: int, hop: int) -> list[tuple[int, int]]:
    """(start, end) spans of `size` frames (or tokens) every `hop`, end exclusive, plus one flush with the end when
    the hop leaves a tail; up to one span long is one span. Recognizers cut their windows this way, and the learned
    generator its sampling windows."""
    if size < 1 or hop < 1:
        raise ValueError(f"spans need a size and a hop of at least 1 (got size {size}, hop {hop})")
    if n <= size:
        return [(0, n)]
    spans = [(start, start + size) for start in range(0, n - size + 1, hop)]
    if spans[-1][1] < n:
        spans.append((n - size, n))
    return spans

"""What every generator is conditioned on, as plain arrays on one frame clock: content, emotion and style.

The front end (``avatar``) builds these; generators only read them, so a generator can be run and tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rigs.clock import OnFrameClock

# BEAT's eight emotion categories, in this order everywhere (columns of EmotionFrames.categories).
EMOTIONS: tuple[str, ...] = ("neutral", "happiness", "anger", "sadness", "contempt", "surprise", "fear", "disgust")


class Segment(NamedTuple):
    """A labelled span in seconds: a word, or an ARPAbet phone without stress digits."""

    start: float
    end: float
    label: str


def _column(name: str, values, n_frames: int, width: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    expected = (n_frames,) if width is None else (n_frames, width)
    if array.shape != expected:
        raise ValueError(f"{name} has shape {array.shape}; expected {expected}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


@dataclass(frozen=True)
class Content(OnFrameClock):
    """Speech content on the frame clock: timed words and phones, and per-frame acoustic features."""

    fps: float
    phones: tuple[Segment, ...]
    words: tuple[Segment, ...]
    rms: np.ndarray  # (T,) RMS amplitude, samples in [-1, 1]
    f0_hz: np.ndarray  # (T,) fundamental frequency, 0 where unvoiced
    voiced: np.ndarray  # (T,) probability the frame is voiced
    onset: np.ndarray  # (T,) onset strength (mean mel rise, dB per 10 ms)
    log_mel: np.ndarray | None = None  # (T, 80) for learned generators

    def __post_init__(self) -> None:
        n = len(self.rms)
        for name in ("rms", "f0_hz", "voiced", "onset"):
            object.__setattr__(self, name, _column(name, getattr(self, name), n))
        if self.log_mel is not None:
            object.__setattr__(self, "log_mel", _column("log_mel", self.log_mel, n, np.shape(self.log_mel)[-1]))

    @property
    def n_frames(self) -> int:
        return len(self.rms)


@dataclass(frozen=True)
class EmotionFrames:
    """Emotion per frame: category weights (T, 8) in EMOTIONS order summing to 1, intensity (T,) in [0, 1], and
    valence, arousal, dominance (T, 3) in [-1, 1]."""

    categories: np.ndarray
    intensity: np.ndarray
    vad: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.intensity)
        object.__setattr__(self, "categories", _column("categories", self.categories, n, len(EMOTIONS)))
        object.__setattr__(self, "intensity", _column("intensity", self.intensity, n))
        object.__setattr__(self, "vad", _column("vad", self.vad, n, 3))
        if np.abs(self.categories.sum(1) - 1).max(initial=0) > 1e-3 or self.categories.min(initial=0) < 0:
            raise ValueError("emotion category weights must be non-negative and sum to 1 on every frame")
        if self.intensity.min(initial=0) < 0 or self.intensity.max(initial=0) > 1:
            raise ValueError("emotion intensity must lie in [0, 1]")

    @property
    def n_frames(self) -> int:
        return len(self.intensity)

    def weight(self, emotion: str) -> np.ndarray:
        """How much of one category is shown per frame: its weight times the intensity (T,)."""
        return self.categories[:, EMOTIONS.index(emotion)] * self.intensity

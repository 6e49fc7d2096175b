"""What a recognizer reads, on the frame clock: EmotionTimeline.

Every recognizer that reads a signal over time (the face-motion recognizer on a track, FER on rendered frames) can
give its reading as per-frame probabilities over the eight EMOTIONS with a per-frame confidence: how much that
frame's reading can be trusted (1: fully; a frame the recognizer cannot judge well counts less). A stretch's reading
is the confidence-weighted mean of its frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from generators.conditioning import EMOTIONS


@dataclass(frozen=True)
class EmotionTimeline:
    """Per-frame probabilities (T, 8) over EMOTIONS and confidence (T,) at fps."""

    fps: float
    probs: np.ndarray
    confidence: np.ndarray

    def __post_init__(self):
        shape_ok = self.probs.ndim == 2 and self.probs.shape[1] == len(EMOTIONS)
        if not shape_ok or self.confidence.shape != (len(self.probs),):
            raise ValueError(f"an emotion timeline needs probabilities (T, {len(EMOTIONS)}) and confidence (T,), got "
                             f"{self.probs.shape} and {self.confidence.shape}")

    @classmethod
    def certain(cls, probs: np.ndarray, fps: float) -> EmotionTimeline:
        """A timeline whose every frame is fully trusted."""
        probs = np.asarray(probs, np.float64)
        return cls(fps, probs, np.ones(len(probs)))

    @classmethod
    def concatenate(cls, parts: Sequence[EmotionTimeline]) -> EmotionTimeline:
        """Consecutive stretches of one clock as one timeline."""
        probs, confidence = (np.concatenate([getattr(p, name) for p in parts]) for name in ("probs", "confidence"))
        return cls(parts[0].fps, probs, confidence)

    @property
    def n_frames(self) -> int:
        return len(self.probs)

    def frames(self, start: int, end: int) -> EmotionTimeline:
        """Frames start..end."""
        return EmotionTimeline(self.fps, self.probs[start:end], self.confidence[start:end])

    def mean(self) -> np.ndarray:
        """(8,) the confidence-weighted mean probabilities: the reading of the whole stretch."""
        return (self.probs * self.confidence[:, None]).sum(0) / self.confidence.sum()

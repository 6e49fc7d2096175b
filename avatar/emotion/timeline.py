"""What a recognizer reads, on the frame clock: EmotionTimeline, and EmotionReader, the shape of every recognizer
that reads emotion over time.

A timeline holds per-frame probabilities over the eight EMOTIONS with a per-frame confidence: how much that frame's
reading can be trusted (1: fully; a frame the recognizer cannot judge well counts less, 0 not at all), and, from a
recognizer that reads it, valence/arousal/dominance. A stretch's reading is the confidence-weighted mean of its
frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from generators.conditioning import EMOTIONS


@dataclass(frozen=True)
class EmotionTimeline:
    """Per-frame probabilities (T, 8) over EMOTIONS, confidence (T,) and optionally VAD (T, 3), at fps."""

    fps: float
    probs: np.ndarray
    confidence: np.ndarray
    vad: np.ndarray | None = None

    def __post_init__(self):
        shape_ok = self.probs.ndim == 2 and self.probs.shape[1] == len(EMOTIONS)
        if not shape_ok or self.confidence.shape != (len(self.probs),):
            raise ValueError(
                f"an emotion timeline needs probabilities (T, {len(EMOTIONS)}) and confidence (T,), got "
                f"{self.probs.shape} and {self.confidence.shape}"
            )
        if self.vad is not None and self.vad.shape != (len(self.probs), 3):
            raise ValueError(f"an emotion timeline's VAD is (T, 3), got {self.vad.shape} for {len(self.probs)} frames")

    @classmethod
    def certain(cls, probs: np.ndarray, fps: float) -> EmotionTimeline:
        """A timeline whose every frame is fully trusted."""
        probs = np.asarray(probs, np.float64)
        return cls(fps, probs, np.ones(len(probs)))

    @classmethod
    def concatenate(cls, parts: Sequence[EmotionTimeline]) -> EmotionTimeline:
        """Consecutive stretches of one clock as one timeline (VAD kept when every part has it)."""
        probs, confidence = (np.concatenate([getattr(p, name) for p in parts]) for name in ("probs", "confidence"))
        vad = np.concatenate([p.vad for p in parts]) if all(p.vad is not None for p in parts) else None
        return cls(parts[0].fps, probs, confidence, vad)

    @property
    def n_frames(self) -> int:
        return len(self.probs)

    def frames(self, start: int, end: int) -> EmotionTimeline:
        """Frames start..end."""
        vad = None if self.vad is None else self.vad[start:end]
        return EmotionTimeline(self.fps, self.probs[start:end], self.confidence[start:end], vad)

    def mean(self) -> np.ndarray:
        """(8,) the confidence-weighted mean probabilities: the reading of the whole stretch."""
        return (self.probs * self.confidence[:, None]).sum(0) / self.confidence.sum()


@runtime_checkable
class EmotionReader(Protocol):
    """A recognizer that reads emotion over time: loaded with from_pretrained (path None: the shipped model), read
    gives its EmotionTimeline on the frame clock of what it reads. Each takes its own signal: the face-motion
    recognizer a FaceTrack, FER rendered frames with their landmarks and fps, the speech recognizer audio and the
    fps of the frames wanted. Their `predict...` methods give the richer readings behind the timeline (windows,
    explanations, the utterance)."""

    @classmethod
    def from_pretrained(cls, path=None) -> EmotionReader: ...

    def read(self, *signal, **options) -> EmotionTimeline: ...

"""The emotion space every stage speaks: BEAT's eight categories, valence/arousal/dominance, and intensity.

A frame's emotion is its category weights (summing to 1) and an intensity in [0, 1]; what a generator shows of
each category is their product, the *display vector* `categories * intensity`. Valence, arousal and dominance
follow from it: `vad = display @ VAD_TABLE` (neutral is the origin), unless a constructor is given VAD itself.
"""

from __future__ import annotations

import numpy as np

from avatar.errors import InputError
from generators.conditioning import EMOTIONS, EmotionFrames

# Valence, arousal, dominance in [-1, 1]. Six are the PAD ratings of the matching emotion terms in Russell &
# Mehrabian (1977), "Evidence for a three-factor theory of emotions", J. Research in Personality 11:273-294
# (happy, angry, sad, surprised, afraid, disgusted). Contempt is not rated there: ours puts it negative, calm and
# dominant, as appraisal theories describe it. Neutral is the origin.
VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),
    "happiness": (0.81, 0.51, 0.46),
    "anger": (-0.51, 0.59, 0.25),
    "sadness": (-0.63, -0.27, -0.33),
    "contempt": (-0.55, 0.10, 0.45),
    "surprise": (0.40, 0.67, -0.13),
    "fear": (-0.64, 0.60, -0.43),
    "disgust": (-0.60, 0.35, 0.11),
}
VAD_TABLE = np.array([VAD[e] for e in EMOTIONS], np.float32)  # (8, 3), rows in EMOTIONS order
VAD_NAMES = ("valence", "arousal", "dominance")


def check_emotion(label: str) -> str:
    """The canonical label, or a clear error listing the valid ones."""
    key = str(label).strip().lower()
    if key not in EMOTIONS:
        raise InputError(f"unknown emotion {label!r}; choose one of: {', '.join(EMOTIONS)}")
    return key


def check_intensity(intensity: float, name: str = "emotion intensity") -> float:
    """Intensity in [0, 1], or a clear error."""
    if not (np.isfinite(intensity) and 0.0 <= intensity <= 1.0):
        raise InputError(f"{name} {intensity} is outside [0, 1]; give e.g. 0.8")
    return float(intensity)


def check_vad(vad, name: str = "valence/arousal/dominance") -> np.ndarray:
    """VAD values (..., 3) in [-1, 1], or a clear error naming the dimension."""
    values = np.asarray(vad, np.float32)
    if values.shape[-1:] != (3,):
        raise InputError(f"{name} needs three values (valence, arousal, dominance); got shape {values.shape}")
    for axis, dimension in enumerate(VAD_NAMES):
        column = values[..., axis]
        if not np.isfinite(column).all() or np.abs(column).max(initial=0) > 1:
            raise InputError(f"{dimension} must lie in [-1, 1]; got {column.min():g}..{column.max():g}")
    return values


def from_display(display, vad=None) -> EmotionFrames:
    """EmotionFrames from display vectors (T, 8) = categories * intensity; all-zero rows are neutral at 0."""
    display = np.clip(np.asarray(display, np.float64), 0.0, None)
    intensity = np.minimum(display.sum(1), 1.0)
    total = display.sum(1, keepdims=True)
    categories = np.where(total > 1e-9, display / np.maximum(total, 1e-9), 0.0)
    categories[total[:, 0] <= 1e-9, EMOTIONS.index("neutral")] = 1.0
    if vad is None:
        vad = (categories * intensity[:, None]) @ VAD_TABLE
    return EmotionFrames(categories.astype(np.float32), intensity.astype(np.float32),
                         np.clip(vad, -1, 1).astype(np.float32))


def display_vector(emotion: EmotionFrames) -> np.ndarray:
    """(T, 8) how much of each category shows per frame: categories * intensity."""
    return emotion.categories.astype(np.float64) * emotion.intensity[:, None]


def top_label(emotion: EmotionFrames) -> list[str]:
    """The strongest category per frame."""
    return [EMOTIONS[i] for i in np.argmax(emotion.categories, axis=1)]

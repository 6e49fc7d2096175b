"""The emotion space users speak: BEAT's eight categories, valence/arousal/dominance, and intensity.

Only the basics the animators need live here so far (one label held over a clip); keyframes, blending and the
recognizers' output arrive with the emotion-understanding issue.
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


def check_emotion(label: str) -> str:
    """The canonical label, or a clear error listing the valid ones."""
    key = label.strip().lower()
    if key not in EMOTIONS:
        raise InputError(f"unknown emotion {label!r}; choose one of: {', '.join(EMOTIONS)}")
    return key


def check_intensity(intensity: float) -> float:
    """Intensity in [0, 1], or a clear error."""
    if not (np.isfinite(intensity) and 0.0 <= intensity <= 1.0):
        raise InputError(f"emotion intensity {intensity} is outside [0, 1]; give e.g. 0.8")
    return float(intensity)


def constant_emotion(label: str, intensity: float, n_frames: int) -> EmotionFrames:
    """One emotion held at one intensity over n_frames; VAD is the category's coordinates scaled by intensity."""
    label, intensity = check_emotion(label), check_intensity(intensity)
    categories = np.zeros((n_frames, len(EMOTIONS)), np.float32)
    categories[:, EMOTIONS.index(label)] = 1.0
    vad = np.tile(np.asarray(VAD[label], np.float32) * intensity, (n_frames, 1))
    return EmotionFrames(categories, np.full(n_frames, intensity, np.float32), vad)

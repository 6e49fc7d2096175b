"""Emotion to body expression: per-frame gesture and posture parameters from an EmotionFrames curve.

Two explainable layers, summed per frame:

- the dimensions (valence, arousal, dominance), as in the body-expression literature (Wallbott 1998; Dael,
  Mortillaro & Scherer 2012): arousal drives energy, tempo and how often the hands move; valence opens the posture
  (hands apart, palms up) or closes it; dominance makes it expansive (reach, elbows out, chest out, chin up);
- each category's own signature, weighted by category weight x intensity: sadness slumps with the head down,
  anger leans in with fists, fear raises the shoulders and pulls the hands to the chest, surprise lifts and opens
  the hands and makes them restless, contempt leans back with the chin up and turned, disgust turns the body away.

The result is smoothed over ~0.3 s so keyed emotion changes blend instead of snapping.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.ndimage import gaussian_filter1d

from generators.conditioning import EMOTIONS, EmotionFrames

# name: (neutral value, low clip, high clip)
_RANGES: dict[str, tuple[float, float, float]] = {
    "energy": (1.0, 0.35, 2.0),  # gesture amplitude scale
    "tempo": (1.0, 0.55, 1.8),  # movement speed scale (shorter moves, shorter gaps)
    "activity": (1.0, 0.25, 1.6),  # share of beat candidates that become gestures
    "height": (0.0, -16.0, 18.0),  # cm, gesture space up (+) or down
    "openness": (0.0, -1.0, 1.0),  # hands apart and palms up (+), or together, palms in/down (-)
    "expansive": (0.0, -1.0, 1.0),  # reach, elbows out, chest out (+), or small and tucked (-)
    "withdraw": (0.0, 0.0, 1.0),  # hands drawn in to the chest, elbows in
    "lean": (0.0, -10.0, 12.0),  # deg, whole-torso lean back (+) or in (-)
    "slump": (0.0, -6.0, 24.0),  # deg, upper-spine flexion (sadness)
    "shoulders": (0.0, -8.0, 16.0),  # deg, clavicle elevation (+) or drop
    "head_pitch": (0.0, -16.0, 26.0),  # deg, head down (+) or chin up
    "head_tilt": (0.0, -12.0, 12.0),  # deg, roll towards the character's left (+)
    "head_turn": (0.0, -25.0, 25.0),  # deg, yaw towards the character's left (+)
    "torso_turn": (0.0, -15.0, 15.0),  # deg, chest yaw towards the character's left (+)
    "fist": (0.0, 0.0, 1.0),  # fingers curled into a fist
    "spread": (0.0, -0.5, 1.0),  # fingers opened and fanned (+) or limp (-)
    "asymmetry": (0.0, 0.0, 1.0),  # preference for one-handed, lopsided gestures
    "fidget": (0.0, 0.0, 1.0),  # restless, trembling hands (a fear cue)
}
FIELDS = tuple(_RANGES)

# Change per unit of valence, arousal, dominance (rows) for each field (columns given by name).
_VAD_GAINS: dict[str, tuple[float, float, float]] = {
    "energy": (0.0, 0.6, 0.2),
    "tempo": (0.0, 0.5, 0.0),
    "activity": (0.0, 0.45, 0.1),
    "height": (3.0, 8.0, 3.0),
    "openness": (0.8, 0.0, 0.2),
    "expansive": (0.0, 0.2, 1.0),
    "head_pitch": (0.0, 0.0, -5.0),
    "shoulders": (0.0, 2.0, -1.0),
}

# Change per unit of category weight x intensity, beyond what its VAD coordinates already give.
_CATEGORY: dict[str, dict[str, float]] = {
    "neutral": {},
    "happiness": {"energy": 0.1, "activity": 0.2, "openness": 0.5, "height": 4.0, "lean": 2.0, "head_pitch": -4.0,
                  "head_tilt": 5.0, "spread": 0.4},
    "anger": {"energy": 0.4, "tempo": 0.1, "activity": 0.25, "height": 8.0, "expansive": 0.6, "lean": -7.0,
              "slump": -3.0, "head_pitch": 7.0, "shoulders": 3.0, "fist": 1.0},
    "sadness": {"energy": -0.4, "tempo": -0.3, "activity": -0.5, "height": -14.0, "expansive": -0.4,
                "openness": -0.2, "slump": 22.0, "head_pitch": 22.0, "shoulders": -6.0, "withdraw": 0.25,
                "spread": -0.4},
    "contempt": {"energy": -0.15, "activity": -0.3, "lean": 7.0, "head_pitch": -11.0, "head_tilt": 10.0,
                 "head_turn": 13.0, "torso_turn": 7.0, "asymmetry": 1.0},
    "surprise": {"energy": 0.2, "tempo": 0.1, "height": 16.0, "openness": 0.5, "expansive": 0.2, "lean": 7.0,
                 "head_pitch": -9.0, "shoulders": 6.0, "spread": 1.0},
    "fear": {"energy": 0.2, "tempo": 0.5, "activity": 0.5, "height": 6.0, "expansive": -0.8, "openness": -0.4,
             "withdraw": 1.0, "lean": 7.0, "slump": 7.0, "head_pitch": 9.0, "shoulders": 14.0, "asymmetry": 0.2,
             "fidget": 1.0},
    "disgust": {"energy": -0.05, "activity": -0.1, "openness": -0.5, "withdraw": 0.5, "lean": 8.0, "head_pitch": 5.0,
                "head_turn": -20.0, "torso_turn": -13.0, "head_tilt": -5.0, "asymmetry": 0.5},
}


@dataclass(frozen=True)
class BodyExpression:
    """Per-frame body-expression parameters (each (T,) float64); see the module docstring for their meaning."""

    energy: np.ndarray
    tempo: np.ndarray
    activity: np.ndarray
    height: np.ndarray
    openness: np.ndarray
    expansive: np.ndarray
    withdraw: np.ndarray
    lean: np.ndarray
    slump: np.ndarray
    shoulders: np.ndarray
    head_pitch: np.ndarray
    head_tilt: np.ndarray
    head_turn: np.ndarray
    torso_turn: np.ndarray
    fist: np.ndarray
    spread: np.ndarray
    asymmetry: np.ndarray
    fidget: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.energy)

    def at(self, time: float, fps: float) -> dict[str, float]:
        """All parameters at one time (seconds), as floats."""
        i = int(np.clip(round(time * fps), 0, self.n_frames - 1))
        return {f.name: float(getattr(self, f.name)[i]) for f in fields(self)}


def _matrices() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = np.array([_RANGES[name][0] for name in FIELDS])
    vad = np.zeros((3, len(FIELDS)))
    for name, gains in _VAD_GAINS.items():
        vad[:, FIELDS.index(name)] = gains
    category = np.zeros((len(EMOTIONS), len(FIELDS)))
    for c, label in enumerate(EMOTIONS):
        for name, value in _CATEGORY[label].items():
            category[c, FIELDS.index(name)] = value
    return base, vad, category


def body_expression(emotion: EmotionFrames, fps: float, smooth_s: float = 0.3) -> BodyExpression:
    """Gesture and posture parameters per frame for an emotion curve."""
    base, vad_gains, category = _matrices()
    weights = emotion.categories.astype(np.float64) * emotion.intensity.astype(np.float64)[:, None]
    values = base[None] + emotion.vad.astype(np.float64) @ vad_gains + weights @ category
    if len(values) > 1 and smooth_s > 0:
        values = gaussian_filter1d(values, smooth_s * fps, axis=0, mode="nearest")
    low = np.array([_RANGES[name][1] for name in FIELDS])
    high = np.array([_RANGES[name][2] for name in FIELDS])
    values = np.clip(values, low, high)
    return BodyExpression(**{name: values[:, i] for i, name in enumerate(FIELDS)})

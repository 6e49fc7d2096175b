"""Finger poses: a relaxed curl and four other hand shapes (open, fist, point, flat), blended per frame.

Angles are the BEAT skeleton's local Euler angles (XYZ, degrees) for the character's right hand; the left hand is
the mirror image, (x, y, z) -> (x, -y, -z), since the skeleton is symmetric about its X = 0 plane. For the right
hand +Z curls a finger towards the palm and Y spreads it.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("relaxed", "open", "fist", "point", "flat")

# Relaxed hand: rounded medians of the BEAT capture 2_scott_0_1_1 (right hand), a speaker's hand at ease.
_RELAXED: dict[str, tuple[float, float, float]] = {
    "Index": (-4.0, 6.0, 1.0), "Index1": (10.0, -19.0, 22.0), "Index2": (2.0, 0.0, 22.0), "Index3": (1.0, 0.0, 15.0),
    "Middle1": (3.0, -7.0, 23.0), "Middle2": (0.0, 0.0, 18.0), "Middle3": (0.0, 0.0, 14.0),
    "Ring": (-7.5, -1.6, -1.2), "Ring1": (1.0, -8.0, 22.0), "Ring2": (-2.0, 0.0, 22.0), "Ring3": (-1.0, 0.0, 10.0),
    "Pinky": (-5.6, -2.4, -1.3), "Pinky1": (-1.5, -6.0, 12.0), "Pinky2": (-4.5, -1.0, 21.0),
    "Pinky3": (-5.0, -1.0, 22.0),
    "Thumb1": (52.0, 4.5, 4.0), "Thumb2": (0.5, -4.4, 2.0), "Thumb3": (4.0, -6.0, 10.0),
}
FINGER_JOINTS = tuple(_RELAXED)
_FIST_CURL = {"1": 70.0, "2": 95.0, "3": 50.0}  # a loose fist: proximal, middle, distal flexion
_THUMB_FIST = {"Thumb1": (52.0, 4.5, 18.0), "Thumb2": (0.5, -4.4, 25.0), "Thumb3": (4.0, -6.0, 35.0)}


def _shape_table() -> np.ndarray:
    """Angles (n_shapes, n_joints, 3) in degrees, right hand."""
    relaxed = np.array([_RELAXED[j] for j in FINGER_JOINTS])
    curl_joint = np.array([j[-1] in "123" and not j.startswith("Thumb") for j in FINGER_JOINTS])
    spread = relaxed.copy()
    spread[:, 1] *= 1.6
    open_hand = spread.copy()
    open_hand[curl_joint, 2] *= 0.15
    open_hand[[FINGER_JOINTS.index("Thumb2"), FINGER_JOINTS.index("Thumb3")], 2] = 0.0
    fist = relaxed.copy()
    for k, name in enumerate(FINGER_JOINTS):
        if curl_joint[k]:
            fist[k, 2] = _FIST_CURL[name[-1]]
            fist[k, 1] *= 0.3
        if name in _THUMB_FIST:
            fist[k] = _THUMB_FIST[name]
    point = fist.copy()
    for k, name in enumerate(FINGER_JOINTS):
        if name.startswith("Index"):
            point[k] = relaxed[k] * np.array([1.0, 0.3, 0.1])
    flat = relaxed.copy()
    flat[curl_joint, 2] *= 0.1
    flat[:, 1] *= 0.5
    return np.stack([relaxed, open_hand, fist, point, flat])


SHAPE_ANGLES = _shape_table()


def finger_angles(weights: np.ndarray, rng: np.random.Generator, fps: float) -> np.ndarray:
    """Right-hand finger angles (T, n_joints, 3) in degrees from shape weights (T, n_shapes), with a little life.

    Weights are normalised per frame. A slow, seeded drift of a few degrees per finger keeps the hand from looking
    frozen, and fingers further from the thumb curl slightly more (a relaxed cascade).
    """
    weights = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    weights = weights / np.maximum(weights.sum(1, keepdims=True), 1e-9)
    angles = np.einsum("ts,sjc->tjc", weights, SHAPE_ANGLES)
    n = len(weights)
    t = np.arange(n) / fps
    curl_joint = np.array([j[-1] in "123" for j in FINGER_JOINTS])
    freq = rng.uniform(0.05, 0.2, len(FINGER_JOINTS))
    phase = rng.uniform(0, 2 * np.pi, len(FINGER_JOINTS))
    offset = rng.uniform(-3.0, 3.0, len(FINGER_JOINTS))
    drift = offset[None] + 2.5 * np.sin(2 * np.pi * freq[None] * t[:, None] + phase[None])
    # A fist or a pointing hand is held firmly: drift only where the hand is relaxed, open or flat.
    loose = 1.0 - weights[:, SHAPES.index("fist")] - weights[:, SHAPES.index("point")]
    angles[:, :, 2] += np.where(curl_joint[None], drift * loose[:, None], 0.0)
    return angles


def mirror_angles(angles: np.ndarray) -> np.ndarray:
    """Euler angles (..., 3) of the mirror-image joint on the other side: (x, y, z) -> (x, -y, -z)."""
    return np.asarray(angles) * np.array([1.0, -1.0, -1.0])

"""Posture: the standing rest pose, breathing, idle sway and the emotion's stance, as local joint angles.

Everything here is Euler angles in degrees for the BEAT skeleton (XYZ order on every joint, +X pitches a spine or
neck joint forward, +Y yaws towards the character's left, +Z rolls towards its right). The legs hold one stance
and the root does not move, so the feet stay planted; sway lives in the spine.
"""

from __future__ import annotations

import numpy as np

from generators.procedural.affect import BodyExpression
from generators.procedural.trajectory import smooth_noise

SPINE = ("Spine", "Spine1", "Spine2", "Spine3")
NECK = ("Neck", "Neck1", "Head")
# Shares of a whole-spine bend taken by each spine joint: lean from the lower back, slump from the upper back.
_LEAN_SHARE = np.array([0.45, 0.3, 0.15, 0.1])
_SLUMP_SHARE = np.array([0.1, 0.2, 0.35, 0.35])
_EVEN_SHARE = np.full(4, 0.25)
_NECK_SHARE = np.array([0.4, 0.25, 0.35])
# The rest skeleton's chest sits ~5 cm behind its hips; this forward bend brings the neck over the hips.
NEUTRAL_FLEX = 4.0
# Clavicles (right side; mirrored for the left): shoulders a little back and down from the T-pose, as in BEAT.
_CLAVICLE_REST = np.array([0.0, -8.0, 6.0])
# Toes turned out a little; the legs otherwise straight.
_UPLEG_REST = np.array([0.0, -6.0, 0.0])
BREATHS_PER_MINUTE = 14.0


def breathing(expr: BodyExpression, speaking: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Inhalation (T,) in [0, 1]: a breathing cycle, faster when aroused and shallower while speaking."""
    rate = BREATHS_PER_MINUTE / 60.0 * np.clip(expr.tempo, 0.7, 1.6)
    phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(rate) / fps
    depth = np.where(speaking, 0.5, 1.0)
    depth = np.convolve(depth, np.ones(int(fps)) / int(fps), mode="same") if len(depth) > fps else depth
    return 0.5 * (1.0 - np.cos(phase)) * depth


def posture_angles(expr: BodyExpression, speaking: np.ndarray, fps: float, rng: np.random.Generator,
                   head_extra: np.ndarray, torso_extra: np.ndarray) -> dict[str, np.ndarray]:
    """Local Euler angles in degrees, (T, 3) per joint name, of the spine, neck, head, clavicles and legs.

    `head_extra` and `torso_extra` (T, 3) are gesture-driven additions (nods, shakes, accent leans, turns towards
    the gesturing hand) as pitch, yaw, roll in degrees.
    """
    n = expr.n_frames
    breath = breathing(expr, speaking, fps, rng)
    liveliness = np.clip(0.6 + 0.4 * expr.tempo, 0.5, 1.4)[:, None]
    sway = smooth_noise(rng, n, fps, 0.04, 0.22, channels=3) * np.array([0.5, 1.2, 0.8]) * liveliness
    head_drift = smooth_noise(rng, n, fps, 0.08, 0.4, channels=3) * np.array([1.2, 1.8, 1.0]) * liveliness

    # Whole-torso pitch (+ forward) and its split along the spine.
    lean = NEUTRAL_FLEX - expr.lean
    spine = np.zeros((n, 4, 3))
    spine[..., 0] = (lean + sway[:, 0] + torso_extra[:, 0])[:, None] * _LEAN_SHARE + expr.slump[:, None] * _SLUMP_SHARE
    # Chest out with dominance, and a breath lifts the upper chest a little.
    spine[:, 2:, 0] -= (2.0 * np.clip(expr.expansive, 0, None) + 0.8 * breath)[:, None] * np.array([0.4, 0.6])
    spine[..., 1] = (expr.torso_turn + sway[:, 1] + torso_extra[:, 1])[:, None] * _EVEN_SHARE
    spine[..., 2] = (sway[:, 2] + torso_extra[:, 2])[:, None] * _EVEN_SHARE
    trunk_pitch = spine[..., 0].sum(1)

    # The neck keeps the gaze level against most of the trunk's pitch, then adds the emotion's head pose.
    neck = np.zeros((n, 3, 3))
    neck_pitch = expr.head_pitch - 0.8 * trunk_pitch + head_drift[:, 0] + head_extra[:, 0] + 0.3 * breath
    neck[..., 0] = neck_pitch[:, None] * _NECK_SHARE
    neck[..., 1] = (expr.head_turn - 0.7 * spine[..., 1].sum(1) + head_drift[:, 1] + head_extra[:, 1])[:, None] \
        * _NECK_SHARE
    neck[..., 2] = (-expr.head_tilt - 0.7 * spine[..., 2].sum(1) + head_drift[:, 2] + head_extra[:, 2])[:, None] \
        * _NECK_SHARE

    # Clavicles: raised by fear or a breath (right: -Z raises), dropped and rolled forward (+Y) by a slump,
    # pulled back by an expansive chest.
    clavicle = np.tile(_CLAVICLE_REST, (n, 1))
    clavicle[:, 2] -= expr.shoulders + 1.2 * breath
    clavicle[:, 1] += 0.5 * expr.slump + 4.0 * expr.withdraw - 5.0 * np.clip(expr.expansive, 0, None)

    out = {name: spine[:, k] for k, name in enumerate(SPINE)}
    out.update({name: neck[:, k] for k, name in enumerate(NECK)})
    out["RightShoulder"] = clavicle
    out["LeftShoulder"] = clavicle * np.array([1.0, -1.0, -1.0])
    out["RightUpLeg"] = np.tile(_UPLEG_REST, (n, 1))
    out["LeftUpLeg"] = np.tile(_UPLEG_REST * np.array([1.0, -1.0, -1.0]), (n, 1))
    return out

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
# Idle motion of the torso (the whole spine) and of the neck and head, in degrees RMS (pitch, yaw, roll) at neutral,
# while speaking (half in silence): the BEAT capture 2_scott_0_1_1 sways its spine 2.2, 0.6, 3.1 degrees and its
# neck chain 4.4, 6.5, 4.1 (avatar.evaluation.kinematics.posture_sway), three fifths of it slower than 0.3 Hz and
# the rest up to about 0.7 Hz. The neck's part here comes on top of what it takes from the torso (NECK_FOLLOWS)
# and of the gestures' nods and turns.
SWAY_DEG = np.array([2.2, 0.5, 3.2])
HEAD_DRIFT_DEG = np.array([4.2, 7.6, 4.0])
_SLOW_HZ, _SWAY_HZ = (0.03, 0.3), (0.3, 0.7)
_SLOW_SHARE = 0.6  # of the drift's power
# How much of the torso's sway yaw and roll the neck follows (the capture's spine and neck roll correlate at +0.5).
NECK_FOLLOWS = np.array([0.0, 0.2, 0.3])
# Degrees of right-clavicle (yaw, roll) per cm the hand is (up, forward) of its rest: the scapula turns with the arm
# (scapulohumeral rhythm). A least-squares fit to the capture's clavicles against its hands (R² 0.4-0.5 in roll).
CLAVICLE_PER_CM = np.array([[-0.07, -0.1], [0.075, 0.0]])


def breathing(expr: BodyExpression, speaking: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Inhalation (T,) in [0, 1]: a breathing cycle, faster when aroused and shallower while speaking."""
    rate = BREATHS_PER_MINUTE / 60.0 * np.clip(expr.tempo, 0.7, 1.6)
    phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(rate) / fps
    return 0.5 * (1.0 - np.cos(phase)) * _over_a_second(np.where(speaking, 0.5, 1.0), fps)


def _over_a_second(values: np.ndarray, fps: float) -> np.ndarray:
    """values (T,) averaged over a sliding second (unchanged when shorter), so a switch ramps in over a second."""
    values = np.asarray(values, dtype=np.float64)
    return np.convolve(values, np.ones(int(fps)) / int(fps), mode="same") if len(values) > fps else values


def _drift(rng: np.random.Generator, n: int, fps: float, rms: np.ndarray) -> np.ndarray:
    """(n, 3) smooth drift of the given RMS per axis: a slow wander and a quicker sway, as the capture's."""
    slow = smooth_noise(rng, n, fps, *_SLOW_HZ, channels=3)
    quick = smooth_noise(rng, n, fps, *_SWAY_HZ, channels=3)
    return (np.sqrt(_SLOW_SHARE) * slow + np.sqrt(1.0 - _SLOW_SHARE) * quick) * rms


def posture_angles(expr: BodyExpression, speaking: np.ndarray, fps: float, rng: np.random.Generator,
                   head_extra: np.ndarray, torso_extra: np.ndarray,
                   reach: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Local Euler angles in degrees, (T, 3) per joint name, of the spine, neck, head, clavicles and legs.

    `head_extra` and `torso_extra` (T, 3) are gesture-driven additions (nods, shakes, accent leans, turns towards
    the gesturing hand) as pitch, yaw, roll in degrees; `reach` (T, 2) per hand ("right", "left") is how far (cm)
    the hand is up and forward of hanging at rest, which the clavicle follows.
    """
    n = expr.n_frames
    breath = breathing(expr, speaking, fps, rng)
    # A speaker sways and moves the head more while talking than while standing in silence.
    liveliness = (np.clip(0.6 + 0.4 * expr.tempo, 0.5, 1.4) * (0.5 + 0.5 * _over_a_second(speaking, fps)))[:, None]
    sway = _drift(rng, n, fps, SWAY_DEG) * liveliness
    head_drift = _drift(rng, n, fps, HEAD_DRIFT_DEG) * liveliness

    # Whole-torso pitch (+ forward) and its split along the spine.
    lean = NEUTRAL_FLEX - expr.lean
    spine = np.zeros((n, 4, 3))
    spine[..., 0] = (lean + sway[:, 0] + torso_extra[:, 0])[:, None] * _LEAN_SHARE + expr.slump[:, None] * _SLUMP_SHARE
    # Chest out with dominance, and a breath lifts the upper chest a little.
    spine[:, 2:, 0] -= (2.0 * np.clip(expr.expansive, 0, None) + 0.8 * breath)[:, None] * np.array([0.4, 0.6])
    spine[..., 1] = (expr.torso_turn + sway[:, 1] + torso_extra[:, 1])[:, None] * _EVEN_SHARE
    spine[..., 2] = (sway[:, 2] + torso_extra[:, 2])[:, None] * _LEAN_SHARE  # a sideways lean, from the lower back
    trunk_pitch = spine[..., 0].sum(1)

    # The neck keeps the gaze level against most of the trunk's pitch, then adds the emotion's head pose.
    neck = np.zeros((n, 3, 3))
    neck_pitch = expr.head_pitch - 0.8 * trunk_pitch + head_drift[:, 0] + head_extra[:, 0] + 0.3 * breath
    neck[..., 0] = neck_pitch[:, None] * _NECK_SHARE
    # The emotion's torso turn is mostly turned back by the neck (the face stays on the listener); the sway's turn
    # and sideways lean are followed a little, as the real speaker's head goes with his torso.
    neck[..., 1] = (expr.head_turn - 0.7 * expr.torso_turn + NECK_FOLLOWS[1] * (sway[:, 1] + torso_extra[:, 1])
                    + head_drift[:, 1] + head_extra[:, 1])[:, None] * _NECK_SHARE
    neck[..., 2] = (-expr.head_tilt + NECK_FOLLOWS[2] * (sway[:, 2] + torso_extra[:, 2]) + head_drift[:, 2]
                    + head_extra[:, 2])[:, None] * _NECK_SHARE

    # Clavicles: raised by fear or a breath (right: -Z raises), dropped and rolled forward (+Y) by a slump,
    # pulled back by an expansive chest.
    clavicle = np.tile(_CLAVICLE_REST, (n, 1))
    clavicle[:, 2] -= expr.shoulders + 1.2 * breath
    clavicle[:, 1] += 0.5 * expr.slump + 4.0 * expr.withdraw - 5.0 * np.clip(expr.expansive, 0, None)

    out = {name: spine[:, k] for k, name in enumerate(SPINE)}
    out.update({name: neck[:, k] for k, name in enumerate(NECK)})
    for hand, side, mirror in (("right", "Right", 1.0), ("left", "Left", -1.0)):
        follow = np.zeros((n, 3))
        follow[:, 1:] = reach[hand] @ CLAVICLE_PER_CM  # a raised hand lifts its shoulder, a forward one brings it on
        out[f"{side}Shoulder"] = (clavicle + follow) * np.array([1.0, mirror, mirror])
    out["RightUpLeg"] = np.tile(_UPLEG_REST, (n, 1))
    out["LeftUpLeg"] = np.tile(_UPLEG_REST * np.array([1.0, -1.0, -1.0]), (n, 1))
    return out

"""The procedural body animator: speech content and an emotion curve in, co-speech motion on the BEAT skeleton out.

Stages, each in its own module: emotion -> body-expression parameters (affect.py); speech -> stroke candidates
(accents.py) -> gesture keyframes (gestures.py); posture, breathing and sway (posture.py); keyframes -> smooth
curves (trajectory.py); hand targets kept out of the torso, then two-bone IK for the arms (arm_ik.py); finger
shapes (hands.py). Deterministic for a seed; different seeds vary which syllables get beats, the handedness of
each gesture unit, where in the gesture space it happens, sway and finger drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
from scipy.ndimage import gaussian_filter1d

from generators.conditioning import Content, EmotionFrames
from generators.procedural.accents import speaking_frames
from generators.procedural.affect import body_expression
from generators.procedural.arm_ik import (
    arm_frames,
    away_from_line,
    folded_reach,
    keep_outside,
    partial_fk,
    two_bone_ik,
)
from generators.procedural.gestures import CHANNELS, HANDS, REST, BodyStyle, plan_gestures
from generators.procedural.hands import FINGER_JOINTS, SHAPES, finger_angles, mirror_angles
from generators.procedural.posture import posture_angles
from generators.procedural.trajectory import smooth_noise
from rigs.body.skeleton import Skeleton, load_beat_skeleton
from rigs.body.track import BodyTrack
from rigs.rotations import euler_to_matrix, matrix_to_euler, matrix_to_euler_continuous

# Hands stay this far (cm) from the spine line Hips..Neck: the torso's half-depth in front of the spine joints.
TORSO_RADIUS = 15.0
TORSO_JOINTS = ("Hips", "Spine", "Spine1", "Spine2", "Spine3", "Neck")
ELBOW_CLEARANCE = 13.0  # cm from the spine line: elbows may rest against the torso's side, not sink in
PALM_CLEARANCE = 14.0  # cm: the palm rests on the chest at most, never inside it
HAND_INERTIA_S = 0.06  # s, the Gaussian time constant that rounds off the hand's planned path
PUSH_SOFTNESS = 1.0  # cm over which the torso clearances start to push
PUSH_DONE = 0.05  # cm: pushes smaller than this end the arm solve
FOLDED_ELBOW_OUT = 1.0  # how far a fully folded arm's elbow hint turns outwards (the hint's down is 1)
FOLD_MARGIN = 3.0  # cm beyond the folded arm's reach that hand targets keep from the shoulder
ARM_PASSES = 4
WANDER_AXES = np.array([1.15, 1.15, 0.5])  # (out, up, fwd): drifting back and forth would fold the arm by the body
HAND_WANDER = 10.0  # cm RMS per axis at neutral energy: the slow drift between gestures that real capture shows
FIDGET = 0.6  # cm RMS per axis of the quick restless motion at full fidget
PRONATION_LIMITS = (-85.0, 90.0)  # deg: supination, pronation from mid-prone
WRIST_FLEX_LIMITS = (-60.0, 70.0)  # deg: extension, flexion
WRIST_DEVIATION_LIMITS = (-30.0, 20.0)  # deg: ulnar, radial


def _style(style) -> BodyStyle:
    if style is None:
        return BodyStyle()
    if isinstance(style, BodyStyle):
        return style
    if isinstance(style, Mapping):
        known = {f.name for f in fields(BodyStyle)}
        unknown = sorted(set(style) - known)
        if unknown:
            raise ValueError(f"unknown body style keys {unknown}; use some of {sorted(known)}")
        return BodyStyle(**style)
    raise ValueError(f"body style is a {type(style).__name__}; give a BodyStyle, a dict of its fields, or None")


def _check(content: Content, emotion: EmotionFrames) -> None:
    if emotion.n_frames != content.n_frames:
        raise ValueError(
            f"emotion has {emotion.n_frames} frames but the content has {content.n_frames}; build the emotion on "
            "the content's frame clock (e.g. constant_emotion(label, intensity, content.n_frames))"
        )
    if content.n_frames < 1:
        raise ValueError("content has no frames; give at least one frame of speech or silence")


@dataclass(frozen=True)
class _Torso:
    """World positions and rotations of the torso chain per frame, its spine line, and the chest joint."""

    positions: dict[int, np.ndarray]
    rotations: dict[int, np.ndarray]
    spine_line: np.ndarray  # (T, K, 3): TORSO_JOINTS
    chest: int

    def to_world(self, vectors: np.ndarray) -> np.ndarray:
        """Chest-heading vectors (T, 3) in world axes: turned by the chest's yaw only, so arms hang with gravity."""
        heading = self.rotations[self.chest] @ np.array([0.0, 0.0, 1.0])
        yaw = np.arctan2(heading[:, 0], heading[:, 2])
        cos, sin = np.cos(yaw), np.sin(yaw)
        x, y, z = vectors[:, 0], vectors[:, 1], vectors[:, 2]
        return np.stack([cos * x + sin * z, y, -sin * x + cos * z], axis=1)


def _euler(matrices: np.ndarray, order: str = "XYZ") -> np.ndarray:
    """Euler angles (T, 3) continuous in time from rotation matrices (T, 3, 3); also for a single frame."""
    if len(matrices) < 2:
        return matrix_to_euler(matrices, order)
    return matrix_to_euler_continuous(matrices, order)


def _intrusion(depth: np.ndarray) -> np.ndarray:
    """How far (cm) a point is inside a clearance, eased in over PUSH_SOFTNESS: a push that starts with a kink
    would put a kink in the arm's speed."""
    return PUSH_SOFTNESS * np.logaddexp(0.0, depth / PUSH_SOFTNESS)


def _clearance(
    points: np.ndarray, line: np.ndarray, radius: float, preferred: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (T,) of points from the spine line and the unit direction (T, 3) away from it (towards `preferred`
    deep inside, where the radial direction is unstable)."""
    _, dist, away = away_from_line(points, line, radius, preferred)
    return dist, away


def _solve_arm(
    skeleton: Skeleton, side: str, channels: np.ndarray, wander: np.ndarray, fingers: np.ndarray, torso: _Torso
) -> dict[int, np.ndarray]:
    """Local Euler angles (radians, (T, 3)) of one arm's joints, wrist and fingers for its hand channels."""
    n = len(channels)
    ch = {name: channels[:, k] for k, name in enumerate(CHANNELS)}
    arm, fore_arm, wrist = (skeleton.index(f"{side}{part}") for part in ("Arm", "ForeArm", "Hand"))
    bone_sign = float(np.sign(skeleton.offsets[fore_arm, 0]))  # the arm's bones run along local -X or +X
    lateral = bone_sign  # the hand's "out" direction is world X times this
    upper_len = float(np.linalg.norm(skeleton.offsets[fore_arm]))
    fore_len = float(np.linalg.norm(skeleton.offsets[wrist]))
    palm_offset = skeleton.offsets[skeleton.index(f"{side}HandMiddle1")]
    shoulder = torso.positions[arm]

    own = np.stack([lateral * ch["out"], ch["up"], ch["fwd"]], axis=1) + wander
    # Where a hand target falls deep inside the torso it is moved out in front, on its own side.
    in_front = torso.to_world(np.tile([0.5 * lateral, 0.0, 1.0], (n, 1)))
    target = keep_outside(torso.positions[torso.chest] + torso.to_world(own), torso.spine_line, TORSO_RADIUS, in_front)
    # Nor may it come closer to the shoulder than the folded arm reaches: the arm's direction would swing round
    # as the target passed the shoulder. Such targets are moved out forwards and down.
    shoulder_ball = np.stack([shoulder, shoulder], axis=1)
    fold_margin = folded_reach(upper_len, fore_len) + FOLD_MARGIN
    target = keep_outside(
        target, shoulder_ball, fold_margin, torso.to_world(np.tile([0.3 * lateral, -0.7, 1.0], (n, 1)))
    )
    swivel = np.clip(ch["swivel"], -0.5, 1.5)
    hint = torso.to_world(np.stack([lateral * (0.2 + 0.5 * swivel), -np.ones(n), -0.3 + 0.2 * swivel], axis=1))
    outward = torso.to_world(np.tile([lateral, 0.0, 0.0], (n, 1)))
    # A folded arm (the hand near the shoulder) holds its elbow out to the side: an elbow meant to hang down would
    # have to swing round the arm as the hand passed below the shoulder.
    reach_span = upper_len + fore_len - folded_reach(upper_len, fore_len)
    fold = np.clip((upper_len + fore_len - np.linalg.norm(target - shoulder, axis=1)) / reach_span, 0.0, 1.0)
    hint = hint + FOLDED_ELBOW_OUT * fold[:, None] ** 2 * outward
    wrist_angles = np.stack(
        [np.zeros(n), np.clip(ch["deviation"], *WRIST_DEVIATION_LIMITS), np.clip(ch["flex"], *WRIST_FLEX_LIMITS)],
        axis=1,
    )
    if bone_sign > 0:  # the left hand: its angles are the mirror image of the right's
        wrist_angles, fingers = mirror_angles(wrist_angles), mirror_angles(fingers)
    hand_local = euler_to_matrix(np.radians(wrist_angles), "XYZ")
    pronation = np.radians(np.clip(ch["pronation"], *PRONATION_LIMITS))
    # Solve, then swing a too-close elbow outwards and move a too-close palm away, and solve again. The pushes
    # grow smoothly with the intrusion, so the corrected motion stays smooth.
    for _ in range(ARM_PASSES):
        elbow, reached, hinge = two_bone_ik(shoulder, target, upper_len, fore_len, hint, fallback=outward)
        upper, fore = arm_frames(shoulder, elbow, reached, hinge, bone_sign, pronation)
        palm = reached + (fore @ hand_local) @ palm_offset
        elbow_dist, _ = _clearance(elbow, torso.spine_line, ELBOW_CLEARANCE, in_front)
        palm_dist, palm_away = _clearance(palm, torso.spine_line, PALM_CLEARANCE, in_front)
        wrist_dist, wrist_away = _clearance(reached, torso.spine_line, PALM_CLEARANCE, in_front)  # the elbow is folded
        elbow_push = np.minimum(_intrusion(ELBOW_CLEARANCE - elbow_dist) / ELBOW_CLEARANCE, 1.0)
        palm_push = _intrusion(PALM_CLEARANCE - palm_dist)
        wrist_push = _intrusion(PALM_CLEARANCE - wrist_dist)
        if max(elbow_push.max() * ELBOW_CLEARANCE, palm_push.max(), wrist_push.max()) < PUSH_DONE:
            break
        hint = hint + 2.0 * elbow_push[:, None] * outward
        target = target + palm_push[:, None] * palm_away + wrist_push[:, None] * wrist_away
    clavicle = torso.rotations[int(skeleton.parents[arm])]
    out = {
        arm: _euler(np.swapaxes(clavicle, -1, -2) @ upper),
        fore_arm: _euler(np.swapaxes(upper, -1, -2) @ fore),
        wrist: np.radians(wrist_angles),
    }
    for k, joint in enumerate(FINGER_JOINTS):
        out[skeleton.index(f"{side}Hand{joint}")] = np.radians(fingers[:, k])
    return out


def animate_body(
    content: Content,
    emotion: EmotionFrames,
    seed: int = 0,
    style: BodyStyle | Mapping | None = None,
    skeleton: Skeleton | None = None,
) -> BodyTrack:
    """Co-speech body motion for `content` under `emotion` on the BEAT skeleton (or one with its joint names)."""
    _check(content, emotion)
    skeleton = load_beat_skeleton() if skeleton is None else skeleton
    style = _style(style)
    fps, n = content.fps, content.n_frames
    plan_rng, posture_rng, hand_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    expr = body_expression(emotion, fps)
    plan = plan_gestures(content, expr, style, plan_rng)
    times = np.arange(n) / fps

    speaking = speaking_frames(content)
    planned = {hand: plan.hands[hand].sample(times) for hand in HANDS}
    # Where each hand is (up, fwd) relative to hanging at rest: the clavicle follows it.
    reach = {hand: planned[hand][:, 1:3] - REST[1:3] for hand in HANDS}
    angles = posture_angles(expr, speaking, fps, posture_rng, plan.head.sample(times), plan.torso.sample(times), reach)
    euler = np.zeros((n, skeleton.n_joints, 3))
    for name, value in angles.items():
        euler[:, skeleton.index(name)] = np.radians(value)

    torso_ids = [skeleton.index(name) for name in TORSO_JOINTS]
    needed = torso_ids + [skeleton.index(f"{side}Arm") for side in ("Right", "Left")]
    # Posture, wrist and finger angles are written in XYZ order (the BEAT skeleton's); arms are solved as matrices.
    local = {skeleton.index(name): euler_to_matrix(np.radians(value), "XYZ") for name, value in angles.items()}
    root = np.tile(skeleton.offsets[0], (n, 1))
    positions, rotations = partial_fk(skeleton, local, needed, root)
    torso = _Torso(positions, rotations, np.stack([positions[j] for j in torso_ids], axis=1), skeleton.index("Spine3"))
    for hand, side in (("right", "Right"), ("left", "Left")):
        # The keys' minimum-jerk segments can be as short as 0.2 s; the arm's inertia rounds such quick reversals
        # off, which real motion shows as little speed power above 3 Hz. A quick, aroused mover rounds them less.
        rounded = gaussian_filter1d(planned[hand], HAND_INERTIA_S * fps, axis=0, mode="nearest")
        channels = planned[hand] + (rounded - planned[hand]) * np.clip(1.0 / expr.tempo, 0.0, 1.0)[:, None]
        # A slow wander of several centimetres: hands drift between gestures while speaking; resting arms hang still.
        # Withdrawn hands (fear, disgust) stay close to the body: they drift less.
        drift = HAND_WANDER * expr.energy * (1.0 - 0.5 * expr.withdraw)
        wander = smooth_noise(hand_rng, n, fps, 0.15, 0.6, channels=3) * drift[:, None] * WANDER_AXES
        wander *= (0.02 + 0.98 * gaussian_filter1d(speaking.astype(np.float64), 0.5 * fps, mode="nearest"))[:, None]
        wander += smooth_noise(hand_rng, n, fps, 1.5, 3.0, channels=3) * FIDGET * expr.fidget[:, None]
        fingers = finger_angles(channels[:, len(CHANNELS) - len(SHAPES) :], hand_rng, fps)
        for joint, value in _solve_arm(skeleton, side, channels, wander, fingers, torso).items():
            euler[:, joint] = value
    for j, order in enumerate(skeleton.rotation_orders):
        if order != "XYZ":  # a skeleton with other channel orders gets the same rotations in its own order
            euler[:, j] = _euler(euler_to_matrix(euler[:, j], "XYZ"), order)
    return BodyTrack(skeleton, fps, euler.astype(np.float32), root.astype(np.float32))

"""Arm kinematics: partial forward kinematics, a torso keep-out, and analytic two-bone IK with elbow swivel.

The elbow is a hinge plus the forearm's twist (pronation/supination), as anatomy has it: the IK builds the upper
arm's frame from the hinge plane (shoulder, elbow, wrist), so the forearm's local rotation is a pure flexion about
the hinge axis followed by a twist about the forearm, and neither can bend the elbow backwards or sideways.
"""

from __future__ import annotations

import numpy as np

from rigs.body.skeleton import Skeleton
from rigs.rotations import axis_matrix

REACH_SOFTNESS = 4.0  # cm: how gradually a reaching arm approaches full extension
MAX_FLEXION = np.radians(145.0)  # the elbow's flexion limit


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def partial_fk(
    skeleton: Skeleton, local: dict[int, np.ndarray], joints: list[int], root_positions: np.ndarray
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """World positions (T, 3) and rotations (T, 3, 3) of `joints` and their ancestors; missing locals are identity."""
    positions: dict[int, np.ndarray] = {}
    rotations: dict[int, np.ndarray] = {}
    n = len(root_positions)

    def visit(j: int) -> None:
        if j in positions:
            return
        mat = local.get(j)
        mat = np.broadcast_to(np.eye(3), (n, 3, 3)) if mat is None else mat
        p = int(skeleton.parents[j])
        if p < 0:
            positions[j] = np.asarray(root_positions, dtype=np.float64)
            rotations[j] = mat
            return
        visit(p)
        positions[j] = positions[p] + rotations[p] @ skeleton.offsets[j]
        rotations[j] = rotations[p] @ mat

    for j in joints:
        visit(j)
    return positions, rotations


def closest_on_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """For points (T, 3) and a polyline (T, K, 3) per frame, the closest point of the polyline (T, 3)."""
    a, b = line[:, :-1], line[:, 1:]
    ab = b - a
    s = np.clip(
        np.einsum("tkc,tkc->tk", points[:, None] - a, ab) / np.maximum(np.einsum("tkc,tkc->tk", ab, ab), 1e-9), 0.0, 1.0
    )
    candidates = a + s[..., None] * ab
    best = np.argmin(np.linalg.norm(points[:, None] - candidates, axis=-1), axis=1)
    return candidates[np.arange(len(points)), best]


def away_from_line(
    points: np.ndarray, line: np.ndarray, radius: float, preferred: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closest point of the polyline (T, 3), the distance from it (T,) and the unit direction away (T, 3).

    Deep inside the capsule the radial direction is unstable (it flips as a point crosses the line), so there it
    leans towards `preferred` (T, 3), the side the point belongs on: fully at the line, not at all at `radius`.
    """
    nearest = closest_on_polyline(points, line)
    away = points - nearest
    dist = np.linalg.norm(away, axis=-1)
    lean = np.clip(radius - dist, 0.0, None)[:, None] * _normalize(preferred)
    return nearest, dist, _normalize(away + lean)


def keep_outside(
    points: np.ndarray, line: np.ndarray, radius: float, preferred: np.ndarray, softness: float = 1.5
) -> np.ndarray:
    """Points pushed out of a capsule (a polyline per frame with `radius`), with a smooth (C1) push, radially or,
    deep inside, towards `preferred` (see away_from_line)."""
    nearest, dist, direction = away_from_line(points, line, radius, preferred)
    # Softplus above the radius: the identity far out, never closer than `radius`, no kink in the motion.
    pushed = radius + softness * np.logaddexp(0.0, (dist - radius) / softness)
    pushed = np.where(dist > radius + 8 * softness, dist, pushed)
    return nearest + direction * pushed[:, None]


def folded_reach(upper: float, fore: float, max_flexion: float = MAX_FLEXION) -> float:
    """The shoulder-wrist distance of an arm folded to the elbow's flexion limit."""
    return float(np.sqrt(upper**2 + fore**2 + 2 * upper * fore * np.cos(max_flexion)))


def two_bone_ik(
    shoulder: np.ndarray,
    target: np.ndarray,
    upper: float,
    fore: float,
    hint: np.ndarray,
    max_flexion: float = MAX_FLEXION,
    fallback: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elbow and wrist positions (T, 3) reaching for `target` from `shoulder`, and the hinge normal (T, 3).

    The elbow lies in the plane of the shoulder-target line and `hint` (a direction the elbow should point to);
    targets out of reach are approached along the line with the arm almost straight, and targets closer than the
    elbow's `max_flexion` allows are met at that flexion. Where the hint nearly lines up with the reach (a hand
    straight below the shoulder with the elbow meant to point down) the plane would spin: `fallback` (T, 3), a
    second direction (the arm's outward side), then takes over smoothly.
    """
    d = target - shoulder
    dist = np.linalg.norm(d, axis=-1)
    n = d / np.maximum(dist, 1e-9)[:, None]
    closest = folded_reach(upper, fore, max_flexion)
    # Near full extension the elbow swings fast for a small change of reach (the IK singularity), so the reach
    # eases into its limit (a soft minimum) instead of stopping at it: a hand passing that far does not tremble.
    longest = 0.995 * (upper + fore)
    reach = np.maximum(longest - REACH_SOFTNESS * np.logaddexp(0.0, (longest - dist) / REACH_SOFTNESS), closest)
    cos_a = np.clip((upper**2 + reach**2 - fore**2) / (2 * upper * reach), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a**2)
    m = hint - np.sum(hint * n, axis=-1, keepdims=True) * n
    if fallback is not None:
        # The hint's share across the reach line: below half of it, the fallback's share grows in.
        across = np.linalg.norm(m, axis=-1, keepdims=True) / np.maximum(
            np.linalg.norm(hint, axis=-1, keepdims=True), 1e-9
        )
        side = _normalize(fallback - np.sum(fallback * n, axis=-1, keepdims=True) * n)
        m = _normalize(m) * across + side * np.clip(1.0 - 2.0 * across, 0.0, 1.0)
    # A hint along the reach line leaves the plane open: fall back to "elbow down".
    down = np.array([0.0, -1.0, 0.0]) - n[:, 1:2] * n
    m = np.where(np.linalg.norm(m, axis=-1, keepdims=True) < 1e-3, down, m)
    m = _normalize(m)
    elbow = shoulder + upper * (cos_a[:, None] * n + sin_a[:, None] * m)
    wrist = shoulder + reach[:, None] * n
    return elbow, wrist, _normalize(np.cross(n, m))


def arm_frames(
    shoulder: np.ndarray,
    elbow: np.ndarray,
    wrist: np.ndarray,
    hinge: np.ndarray,
    bone_sign: float,
    pronation: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (T, 3, 3) of the upper arm and forearm for a solved arm.

    `bone_sign` is the sign of the bones' local X axis along the arm (-1 for the BEAT right arm, +1 for the left);
    the hinge maps to local Y, as in the rest pose where the elbow flexes about the vertical axis. `pronation`
    (radians, (T,)) turns the forearm about its axis: 0 is mid-prone (thumb up with the elbow bent and the forearm
    forward), positive turns the palm down on either side.
    """
    axis_y = bone_sign * hinge
    x_upper = bone_sign * _normalize(elbow - shoulder)
    x_fore = bone_sign * _normalize(wrist - elbow)
    upper = np.stack([x_upper, axis_y, np.cross(x_upper, axis_y)], axis=-1)
    # Re-orthogonalise the hinge against each bone (they are perpendicular up to rounding).
    upper = _orthonormal(upper)
    fore = _orthonormal(np.stack([x_fore, axis_y, np.cross(x_fore, axis_y)], axis=-1))
    fore = fore @ axis_matrix("X", pronation)
    return upper, fore


def _orthonormal(m: np.ndarray) -> np.ndarray:
    x = _normalize(m[..., :, 0])
    y = _normalize(m[..., :, 1] - np.sum(m[..., :, 1] * x, axis=-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)

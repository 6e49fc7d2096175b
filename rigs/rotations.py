"""Rotation conversions in numpy, vectorised over any leading dimensions.

Conventions used throughout the project:

- Rotation matrices act on column vectors: ``v_parent = R @ v_child``.
- Quaternions are ``(w, x, y, z)`` (scalar first), unit length, Hamilton product; ``q`` and ``-q`` are the same
  rotation, and ``quat_to_matrix(a * b) == quat_to_matrix(a) @ quat_to_matrix(b)``.
- Axis-angle is a rotation vector: unit axis times angle in radians.
- 6D (Zhou et al. 2019, "On the continuity of rotation representations") is the first two *columns* of the matrix,
  concatenated: ``(R[:, 0], R[:, 1])``. (PyTorch3D stores the first two rows instead; do not mix them.)
- Euler angles follow BVH: an order string such as ``"ZXY"`` lists the axes in channel order, the rotations are
  intrinsic (each about the axis as already rotated by the previous ones), so ``R = R_Z(a0) @ R_X(a1) @ R_Y(a2)``, and
  ``angles[..., k]`` is the angle about ``order[k]``. This is how BVH readers (Biovision's spec, Blender, bvhio) compose
  channels; it equals the extrinsic rotation in the reversed order. Only the six Tait-Bryan orders (three distinct
  axes) exist in BVH.

All angles are radians. Functions compute in float64 and return float64 unless stated.
"""

from __future__ import annotations

import numpy as np

from rigs.errors import RigInputError

ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
_AXIS = {"X": 0, "Y": 1, "Z": 2}
# Below this |cos(middle angle)| the first and last Euler angles are coupled (gimbal lock).
_GIMBAL_EPS = 1e-7


def _f64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def check_order(order: str) -> str:
    """The Euler order in upper case, or a RigInputError if it is not one of the six Tait-Bryan orders."""
    upper = str(order).upper()
    if upper not in ORDERS:
        raise RigInputError(f"Euler order {order!r} is not supported; use one of {', '.join(ORDERS)}")
    return upper


# --- quaternions -------------------------------------------------------------------------------------------------


def quat_normalize(q) -> np.ndarray:
    """Unit quaternions (zero quaternions become the identity)."""
    q = _f64(q)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    identity = np.zeros_like(q)
    identity[..., 0] = 1.0
    return np.where(norm > 1e-12, q / np.maximum(norm, 1e-12), identity)


def quat_multiply(a, b) -> np.ndarray:
    """Hamilton product a * b: the rotation b followed by a."""
    a, b = _f64(a), _f64(b)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_inverse(q) -> np.ndarray:
    """The inverse rotation (conjugate divided by the squared norm)."""
    q = _f64(q)
    return q * np.array([1.0, -1.0, -1.0, -1.0]) / np.sum(q * q, axis=-1, keepdims=True)


def quat_rotate(q, v) -> np.ndarray:
    """Vectors v (..., 3) rotated by unit quaternions q (..., 4)."""
    q, v = _f64(q), _f64(v)
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_to_matrix(q) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of quaternions (normalised first)."""
    w, x, y, z = np.moveaxis(quat_normalize(q), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def quat_from_matrix(m) -> np.ndarray:
    """Unit quaternions with w >= 0 from rotation matrices (..., 3, 3)."""
    m = _f64(m)
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Four algebraically equal solutions, each scaled by 4*|component|; the one with the largest pivot is the most
    # accurate (no cancellation), so pick it per element.
    candidates = np.stack(
        [
            np.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            np.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            np.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            np.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        axis=-2,
    )
    pivots = np.stack([m00 + m11 + m22, m00, m11, m22], -1)
    best = np.argmax(pivots, axis=-1)
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = quat_normalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_slerp(a, b, t) -> np.ndarray:
    """Spherical interpolation from a (t=0) to b (t=1) along the shorter arc."""
    a, b = quat_normalize(a), quat_normalize(b)
    t = _f64(t)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    close = sin < 1e-6  # nearly equal: linear interpolation is exact enough and avoids 0/0
    safe = np.where(close, 1.0, sin)
    wa = np.where(close, 1 - t, np.sin((1 - t) * theta) / safe)
    wb = np.where(close, t, np.sin(t * theta) / safe)
    return quat_normalize(wa * a + wb * b)


def quat_continuous(q, axis: int = 0) -> np.ndarray:
    """Quaternions with signs flipped so consecutive ones along axis lie in the same hemisphere."""
    q = np.moveaxis(_f64(q).copy(), axis, 0)
    for i in range(1, len(q)):
        q[i] = np.where(np.sum(q[i] * q[i - 1], axis=-1, keepdims=True) < 0, -q[i], q[i])
    return np.moveaxis(q, 0, axis)


# --- axis-angle ---------------------------------------------------------------------------------------------------


def axis_angle_to_quat(rotvec) -> np.ndarray:
    """Quaternions from rotation vectors (..., 3)."""
    v = _f64(rotvec)
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    # sin(angle/2)/angle, with its Taylor series near zero.
    small = angle < 1e-6
    scale = np.where(small, 0.5 - angle**2 / 48.0, np.sin(angle / 2) / np.where(small, 1.0, angle))
    return np.concatenate([np.cos(angle / 2), v * scale], axis=-1)


def quat_to_axis_angle(q) -> np.ndarray:
    """Rotation vectors (..., 3) with angle in [0, pi] from quaternions."""
    q = quat_normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    sin_half = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, q[..., :1])
    small = sin_half < 1e-6
    scale = np.where(small, 2.0 / np.maximum(q[..., :1], 1e-12), angle / np.where(small, 1.0, sin_half))
    return q[..., 1:] * scale


def axis_angle_to_matrix(rotvec) -> np.ndarray:
    """Rotation matrices from rotation vectors (..., 3)."""
    return quat_to_matrix(axis_angle_to_quat(rotvec))


def matrix_to_axis_angle(m) -> np.ndarray:
    """Rotation vectors from rotation matrices (..., 3, 3)."""
    return quat_to_axis_angle(quat_from_matrix(m))


# --- 6D -----------------------------------------------------------------------------------------------------------


def matrix_to_rot6d(m) -> np.ndarray:
    """The 6D representation (..., 6): the first two columns of each matrix."""
    m = _f64(m)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def rot6d_to_matrix(d6) -> np.ndarray:
    """Rotation matrices from 6D vectors (any two independent columns; Gram-Schmidt makes them orthonormal)."""
    d6 = _f64(d6)
    a, b = d6[..., :3], d6[..., 3:]
    c0 = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b - np.sum(c0 * b, axis=-1, keepdims=True) * c0
    c1 = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    c2 = np.cross(c0, c1)
    return np.stack([c0, c1, c2], axis=-1)


def rot6d_sequence_to_matrix(d6, min_length: float = 0.5) -> np.ndarray:
    """Rotation matrices (T, ..., 3, 3) from a sequence of 6D vectors (T, ..., 6) that a network predicted.

    A predicted 6D vector is a blend, and between two poses far apart its first column can pass close to zero,
    where Gram-Schmidt's direction swings through the whole turn in a frame or two: a learned elbow snapped 68° in
    one frame of a 30-fps take that way. So where a column is shorter than `min_length` (the part of the second
    column across the first, for that one) the direction is not trusted: those frames turn evenly (slerp) from the
    last trusted frame before them to the next one after, or hold the nearest one at the sequence's ends. Unit 6D
    vectors, and any whose columns are long enough, decode exactly as `rot6d_to_matrix`.
    """
    d6 = _f64(d6)
    matrices = rot6d_to_matrix(d6)
    a, b = d6[..., :3], d6[..., 3:]
    length_a = np.linalg.norm(a, axis=-1)
    across = b - np.sum(a * b, axis=-1, keepdims=True) * a / np.maximum(length_a, 1e-12)[..., None] ** 2
    trusted = np.minimum(length_a, np.linalg.norm(across, axis=-1)) >= min_length
    if trusted.all() or len(d6) == 0:
        return matrices
    flat_matrices = matrices.reshape(len(d6), -1, 3, 3)
    flat_trusted = trusted.reshape(len(d6), -1)
    quats = quat_from_matrix(flat_matrices)
    for j in np.flatnonzero(~flat_trusted.all(axis=0)):
        good = np.flatnonzero(flat_trusted[:, j])
        if len(good) == 0:
            continue  # no frame to lean on: leave Gram-Schmidt's answer
        frames = np.flatnonzero(~flat_trusted[:, j])
        after = np.clip(np.searchsorted(good, frames), 0, len(good) - 1)
        before = np.clip(after - 1, 0, len(good) - 1)
        start, end = good[before], good[after]
        share = np.where(end > start, (frames - start) / np.maximum(end - start, 1), 0.0)
        share = np.where(frames > end, 1.0, share)  # past the last trusted frame: hold it
        quats[frames, j] = quat_slerp(quats[start, j], quats[end, j], share)
    return quat_to_matrix(quats).reshape(matrices.shape)


# --- Euler angles -------------------------------------------------------------------------------------------------


def axis_matrix(axis: str, angle) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about one coordinate axis ("X", "Y" or "Z")."""
    angle = _f64(angle)
    c, s = np.cos(angle), np.sin(angle)
    i = _AXIS[axis.upper()]
    j, k = (i + 1) % 3, (i + 2) % 3
    m = np.zeros(angle.shape + (3, 3))
    m[..., i, i] = 1.0
    m[..., j, j] = c
    m[..., k, k] = c
    m[..., j, k] = -s
    m[..., k, j] = s
    return m


def euler_to_matrix(angles, order: str) -> np.ndarray:
    """Rotation matrices from Euler angles (..., 3) given in `order` (intrinsic, BVH channel order)."""
    order = check_order(order)
    angles = _f64(angles)
    m = axis_matrix(order[0], angles[..., 0])
    m = m @ axis_matrix(order[1], angles[..., 1])
    return m @ axis_matrix(order[2], angles[..., 2])


def euler_to_quat(angles, order: str) -> np.ndarray:
    """Quaternions from Euler angles (..., 3) given in `order`."""
    order = check_order(order)
    angles = _f64(angles)
    q = None
    for k, axis in enumerate(order):
        half = angles[..., k] / 2
        axis_q = np.zeros(angles.shape[:-1] + (4,))
        axis_q[..., 0] = np.cos(half)
        axis_q[..., 1 + _AXIS[axis]] = np.sin(half)
        q = axis_q if q is None else quat_multiply(q, axis_q)
    return q


def _wrap_near(angles: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Angles shifted by whole turns to lie within pi of `near`."""
    return angles + 2 * np.pi * np.round((near - angles) / (2 * np.pi))


def matrix_to_euler(m, order: str, near=None) -> np.ndarray:
    """Euler angles (..., 3) in `order` from rotation matrices.

    Without `near`: the principal solution, middle angle in [-pi/2, pi/2], the others in (-pi, pi]. With `near`
    (angles broadcastable to the result): of the two equivalent solutions and their whole-turn shifts, the one
    closest to `near`; in gimbal lock the last angle is taken from `near`.
    """
    order = check_order(order)
    m = _f64(m)
    i, j, k = (_AXIS[a] for a in order)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders (XYZ, YZX, ZXY)
    r_ik = m[..., i, k]
    cos_mid = np.hypot(m[..., i, i], m[..., i, j])
    mid = np.arctan2(sign * r_ik, cos_mid)
    last = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    locked = cos_mid < _GIMBAL_EPS
    if near is not None:
        near = np.broadcast_to(_f64(near), m.shape[:-2] + (3,))
        last = np.where(locked, near[..., 2], last)
    else:
        last = np.where(locked, 0.0, last)
    # The first angle from what remains once the other two are undone: exact even when the first and last couple.
    rest = m @ np.swapaxes(axis_matrix(order[2], last), -1, -2) @ np.swapaxes(axis_matrix(order[1], mid), -1, -2)
    j2, k2 = (i + 1) % 3, (i + 2) % 3
    first = np.arctan2(rest[..., k2, j2], rest[..., j2, j2])
    angles = np.stack([first, mid, last], axis=-1)
    if near is None:
        return angles
    # (a, b, c) and (a + pi, pi - b, c + pi) are the same rotation for every Tait-Bryan order.
    other = np.stack([first + np.pi, np.pi - mid, last + np.pi], axis=-1)
    angles, other = _wrap_near(angles, near), _wrap_near(other, near)
    closer = np.sum((other - near) ** 2, axis=-1, keepdims=True) < np.sum((angles - near) ** 2, axis=-1, keepdims=True)
    return np.where(closer, other, angles)


def quat_to_euler(q, order: str, near=None) -> np.ndarray:
    """Euler angles (..., 3) in `order` from quaternions (see matrix_to_euler for `near`)."""
    return matrix_to_euler(quat_to_matrix(q), order, near)


def _wrapped_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distance between Euler triples with each difference taken modulo a whole turn."""
    d = np.remainder(a - b + np.pi, 2 * np.pi) - np.pi
    return np.sum(d * d, axis=-1)


def matrix_to_euler_continuous(m, order: str, axis: int = 0, start=None) -> np.ndarray:
    """Euler angles for a sequence of matrices along `axis`, each frame the solution closest to the previous one.

    `start` (Euler angles of the first frame's shape) picks the branch of the first frame, e.g. the angles a track
    was converted from, so a round trip keeps the original winding; by default the first frame is principal.
    """
    order = check_order(order)
    m = np.moveaxis(_f64(m), axis, 0)
    if len(m) == 0:
        return np.moveaxis(np.empty(m.shape[:-2] + (3,)), 0, axis)
    i, j = _AXIS[order[0]], _AXIS[order[1]]
    if (np.hypot(m[..., i, i], m[..., i, j]) < _GIMBAL_EPS).any():
        # Gimbal lock: the split between first and last angle must come from the previous frame, so go frame by frame.
        out = np.empty(m.shape[:-2] + (3,))
        out[0] = matrix_to_euler(m[0], order, start)
        for t in range(1, len(m)):
            out[t] = matrix_to_euler(m[t], order, out[t - 1])
        return np.moveaxis(out, 0, axis)
    # Each frame has two solutions, (a, b, c) and (a + pi, pi - b, c + pi). Whether the closer one to the previous
    # frame is on the same branch does not depend on which branch the previous frame took, so the branch sequence is
    # a running parity of "switch" flags, and whole turns are then removed by unwrapping: no loop over frames.
    principal = matrix_to_euler(m, order)
    other = principal + np.array([np.pi, 0.0, np.pi])
    other[..., 1] = np.pi - principal[..., 1]
    first = principal[0] if start is None else matrix_to_euler(m[0], order, start)
    switch = _wrapped_distance(other[1:], principal[:-1]) < _wrapped_distance(principal[1:], principal[:-1])
    first_other = _wrapped_distance(first, other[0]) < _wrapped_distance(first, principal[0])
    flips = np.concatenate([np.zeros(principal[:1, ..., 0].shape, bool), switch], axis=0)  # (a lone frame too)
    branch = (np.cumsum(flips, axis=0) + first_other) % 2 == 1
    chosen = np.where(branch[..., None], other, principal)
    chosen[0] = first
    return np.moveaxis(np.unwrap(chosen, axis=0), 0, axis)




def unwrap_euler(angles, axis: int = 0) -> np.ndarray:
    """Euler angles with jumps of more than pi along `axis` removed by whole turns (the rotations do not change)."""
    return np.unwrap(_f64(angles), axis=axis)

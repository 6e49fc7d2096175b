"""Rotation conversions: conventions checked against scipy, round trips, gimbal lock and continuity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from rigs.errors import RigInputError
from rigs.rotations import (
    ORDERS,
    axis_angle_to_matrix,
    axis_angle_to_quat,
    euler_to_matrix,
    euler_to_quat,
    matrix_to_axis_angle,
    matrix_to_euler,
    matrix_to_euler_continuous,
    matrix_to_rot6d,
    quat_continuous,
    quat_from_matrix,
    quat_inverse,
    quat_multiply,
    quat_normalize,
    quat_rotate,
    quat_slerp,
    quat_to_axis_angle,
    quat_to_euler,
    quat_to_matrix,
    rot6d_sequence_to_matrix,
    rot6d_to_matrix,
    unwrap_euler,
)

RNG = np.random.default_rng(7)


def random_quats(n: int) -> np.ndarray:
    return quat_normalize(RNG.standard_normal((n, 4)))


def random_euler(n: int) -> np.ndarray:
    angles = RNG.uniform(-np.pi, np.pi, (n, 3))
    angles[:, 1] /= 2  # principal range of the middle angle
    return angles


def same_rotation(a: np.ndarray, b: np.ndarray) -> float:
    """Largest matrix difference."""
    return float(np.abs(a - b).max())


@pytest.mark.parametrize("order", ORDERS)
def test_euler_is_intrinsic_in_channel_order(order):
    """R = R_first @ R_second @ R_third, which scipy calls intrinsic (upper-case) Euler."""
    angles = random_euler(200)
    assert same_rotation(euler_to_matrix(angles, order), Rotation.from_euler(order, angles).as_matrix()) < 1e-12
    x = euler_to_matrix(np.array([0.3, 0.0, 0.0]), order)
    single = {axis: Rotation.from_euler(axis, 0.3).as_matrix() for axis in "XYZ"}
    assert same_rotation(x, single[order[0]]) < 1e-12  # angles[..., 0] is about order[0]


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trips(order):
    angles = random_euler(500)
    matrices = euler_to_matrix(angles, order)
    assert np.abs(matrix_to_euler(matrices, order) - angles).max() < 1e-9
    quats = euler_to_quat(angles, order)
    assert same_rotation(quat_to_matrix(quats), matrices) < 1e-12
    assert np.abs(quat_to_euler(quats, order) - angles).max() < 1e-9


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("offset", [0.0, 1e-9, -1e-7, 1e-5])
def test_euler_near_gimbal_lock_rebuilds_the_rotation(order, offset):
    angles = random_euler(300)
    angles[:, 1] = np.where(RNG.random(300) < 0.5, np.pi / 2, -np.pi / 2) + offset
    matrices = euler_to_matrix(angles, order)
    recovered = matrix_to_euler(matrices, order)
    assert np.isfinite(recovered).all()
    assert same_rotation(euler_to_matrix(recovered, order), matrices) < 1e-6
    # With the true angles as a hint the decomposition finds them again, despite the coupling.
    hinted = matrix_to_euler(matrices, order, near=angles)
    assert same_rotation(euler_to_matrix(hinted, order), matrices) < 1e-6
    assert np.abs(hinted - angles).max() < 1e-4


@pytest.mark.parametrize("order", ORDERS)
def test_near_picks_the_equivalent_solution_closest_to_the_hint(order):
    angles = random_euler(200)
    matrices = euler_to_matrix(angles, order)
    # The other branch, shifted by whole turns: the same rotations, far from the principal values.
    other = angles + np.array([np.pi, 0, np.pi]) + 2 * np.pi * RNG.integers(-3, 4, (200, 3))
    other[:, 1] = np.pi - angles[:, 1]
    assert same_rotation(euler_to_matrix(other, order), matrices) < 1e-9
    assert np.abs(matrix_to_euler(matrices, order, near=other + 0.01) - other).max() < 1e-9


def test_continuous_euler_track_has_no_jumps():
    """A smooth motion through the middle angle's +-90 deg keeps every Euler channel smooth."""
    t = np.linspace(0, 1, 400)
    truth = np.stack([3 * np.sin(3 * t), 2.5 * np.sin(2 * t) + 0.1, 4 * t], axis=1)  # beyond +-pi
    for order in ORDERS:
        matrices = euler_to_matrix(truth, order)
        track = matrix_to_euler_continuous(matrices, order, start=truth[0])
        assert same_rotation(euler_to_matrix(track, order), matrices) < 1e-9
        assert np.abs(np.diff(track, axis=0)).max() < 0.2, order


def test_unwrap_euler_removes_whole_turns_only():
    truth = np.cumsum(np.full((50, 3), 0.3), axis=0)
    wrapped = np.angle(np.exp(1j * truth))
    assert np.abs(unwrap_euler(wrapped) - truth).max() < 1e-12
    assert same_rotation(euler_to_matrix(unwrap_euler(wrapped), "ZXY"), euler_to_matrix(wrapped, "ZXY")) < 1e-9


def test_quaternion_convention_is_wxyz_hamilton():
    q = random_quats(300)
    scipy = Rotation.from_quat(q[:, [1, 2, 3, 0]])  # scipy stores (x, y, z, w)
    assert same_rotation(quat_to_matrix(q), scipy.as_matrix()) < 1e-12
    a, b = random_quats(300), random_quats(300)
    assert same_rotation(quat_to_matrix(quat_multiply(a, b)), quat_to_matrix(a) @ quat_to_matrix(b)) < 1e-12
    v = RNG.standard_normal((300, 3))
    assert np.abs(quat_rotate(q, v) - np.einsum("nij,nj->ni", quat_to_matrix(q), v)).max() < 1e-12
    identity = quat_multiply(q, quat_inverse(q))
    assert np.abs(identity - np.array([1.0, 0, 0, 0])).max() < 1e-12


def test_quaternion_from_matrix_round_trips_including_half_turns():
    q = random_quats(500)
    half_turns = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0.6, 0.8, 0]], float)
    q = np.concatenate([q, half_turns])
    back = quat_from_matrix(quat_to_matrix(q))
    assert np.abs(np.abs(np.sum(back * q, axis=-1)) - 1).max() < 1e-12  # same up to sign
    assert (back[:, 0] >= 0).all()


def test_axis_angle_round_trips_and_small_angles():
    rotvec = RNG.standard_normal((300, 3))
    rotvec *= (RNG.uniform(0, np.pi - 1e-3, 300) / np.linalg.norm(rotvec, axis=1))[:, None]
    rotvec[:3] = [[0, 0, 0], [1e-9, 0, 0], [0, -1e-7, 2e-7]]
    assert same_rotation(axis_angle_to_matrix(rotvec), Rotation.from_rotvec(rotvec).as_matrix()) < 1e-12
    assert np.abs(matrix_to_axis_angle(axis_angle_to_matrix(rotvec)) - rotvec).max() < 1e-8
    assert np.abs(quat_to_axis_angle(axis_angle_to_quat(rotvec)) - rotvec).max() < 1e-12


def test_euler_continuous_of_a_single_frame():
    matrix = quat_to_matrix(random_quats(1))
    for order in ORDERS:
        angles = matrix_to_euler_continuous(matrix, order)
        assert angles.shape == (1, 3) and same_rotation(euler_to_matrix(angles, order), matrix) < 1e-12


def test_rot6d_is_first_two_columns_and_round_trips():
    matrices = quat_to_matrix(random_quats(300))
    d6 = matrix_to_rot6d(matrices)
    assert np.allclose(d6[:, :3], matrices[:, :, 0]) and np.allclose(d6[:, 3:], matrices[:, :, 1])
    assert same_rotation(rot6d_to_matrix(d6), matrices) < 1e-12
    # A perturbed 6D vector still maps to a proper rotation.
    noisy = rot6d_to_matrix(d6 + 0.1 * RNG.standard_normal(d6.shape))
    assert np.allclose(noisy @ np.swapaxes(noisy, 1, 2), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(noisy), 1.0)


def _turn_per_frame(matrices: np.ndarray) -> np.ndarray:
    """Degrees each frame turns from the one before (T-1, ...)."""
    relative = np.einsum("t...ab,t...ac->t...bc", matrices[:-1], matrices[1:])
    return np.degrees(np.arccos(np.clip((np.trace(relative, axis1=-2, axis2=-1) - 1) / 2, -1, 1)))


def test_rot6d_sequence_turns_evenly_where_a_blend_passes_near_zero():
    # A learned decoder blending two elbow poses 165 degrees apart (about y) passes the first column close to zero:
    # Gram-Schmidt turns almost all the way in one frame there; the sequence decoding spreads it over the frames
    # whose direction it cannot trust, and keeps the trusted frames as they are.
    start, end = axis_angle_to_matrix([0, np.radians(15), 0]), axis_angle_to_matrix([0, np.radians(-150), 0])
    share = np.linspace(0, 1, 9)[:, None]
    blend = (1 - share) * matrix_to_rot6d(start) + share * matrix_to_rot6d(end)  # (9, 6), the way a network blends
    plain, sequence = rot6d_to_matrix(blend), rot6d_sequence_to_matrix(blend)
    assert _turn_per_frame(plain).max() > 60
    assert _turn_per_frame(sequence).max() < 40
    assert same_rotation(sequence[0], start) < 1e-12 and same_rotation(sequence[-1], end) < 1e-12
    trusted = np.minimum(np.linalg.norm(blend[:, :3], axis=1), 1.0) >= 0.5
    assert same_rotation(sequence[trusted], plain[trusted]) < 1e-12
    # Several joints at once, a frame short at each end: the ends hold their nearest trusted frame.
    joints = np.stack([blend, matrix_to_rot6d(quat_to_matrix(random_quats(9)))], axis=1)  # (9, 2, 6)
    joints[0, 0] *= 0.1
    joints[-1, 0] *= 0.1
    decoded = rot6d_sequence_to_matrix(joints)
    assert same_rotation(decoded[0, 0], decoded[1, 0]) < 1e-12 and same_rotation(decoded[-1, 0], decoded[-2, 0]) < 1e-12
    assert same_rotation(decoded[:, 1], rot6d_to_matrix(joints[:, 1])) < 1e-12


def test_rot6d_sequence_of_unit_vectors_is_rot6d():
    matrices = quat_to_matrix(random_quats(200)).reshape(50, 4, 3, 3)
    d6 = matrix_to_rot6d(matrices)
    assert np.array_equal(rot6d_sequence_to_matrix(d6), rot6d_to_matrix(d6))
    assert rot6d_sequence_to_matrix(np.zeros((0, 3, 6))).shape == (0, 3, 3, 3)


def test_slerp_ends_midpoint_and_continuity():
    a, b = random_quats(100), random_quats(100)
    assert np.abs(np.abs(np.sum(quat_slerp(a, b, 0.0) * a, -1)) - 1).max() < 1e-12
    assert np.abs(np.abs(np.sum(quat_slerp(a, b, 1.0) * b, -1)) - 1).max() < 1e-12
    mid = quat_slerp(a, b, 0.5)
    to_a = np.abs(np.sum(mid * a, -1))
    to_b = np.abs(np.sum(mid * b, -1))
    assert np.abs(to_a - to_b).max() < 1e-12  # equidistant on the sphere
    path = quat_slerp(a[0], b[0], np.linspace(0, 1, 100))
    flipped = quat_continuous(np.where(RNG.random((100, 1)) < 0.5, -1, 1) * path)
    assert (np.sum(flipped[1:] * flipped[:-1], -1) > 0).all()


def test_bad_order_is_a_clear_error():
    with pytest.raises(RigInputError, match="XYX"):
        euler_to_matrix(np.zeros(3), "XYX")

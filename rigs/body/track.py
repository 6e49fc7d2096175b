"""BodyTrack: per-frame joint rotations (Euler, as BVH stores them) and root positions on a skeleton."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigs.body.skeleton import Skeleton
from rigs.clock import OnFrameClock
from rigs.errors import RigInputError
from rigs.rotations import (
    matrix_to_euler_continuous,
    matrix_to_rot6d,
    quat_from_matrix,
    quat_slerp,
    quat_to_matrix,
    rot6d_to_matrix,
)


def _frames(name: str, values, shape: tuple[int | None, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != len(shape) or any(w is not None and g != w for g, w in zip(array.shape, shape, strict=True)):
        expected = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise RigInputError(f"body track {name} has shape {array.shape}; expected {expected}")
    if not np.isfinite(array).all():
        raise RigInputError(f"body track {name} holds NaN or infinite values; fix the generator or the file")
    return array


def _check_fps(fps: float) -> float:
    if not (np.isfinite(fps) and fps > 0):
        raise RigInputError(f"body track fps is {fps}; give a positive frame rate such as 30")
    return float(fps)


@dataclass
class BodyTrack(OnFrameClock):
    """Joint rotations (T, J, 3) as Euler angles in radians, each joint in its own channel order (so BVH stays
    lossless), and root positions (T, 3) in the skeleton's units, at fps."""

    skeleton: Skeleton
    fps: float
    rotations: np.ndarray
    root_positions: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.skeleton, Skeleton):
            raise RigInputError(f"body track skeleton is a {type(self.skeleton).__name__}; give a Skeleton")
        self.fps = _check_fps(self.fps)
        self.rotations = _frames("rotations", self.rotations, (None, self.skeleton.n_joints, 3))
        if len(self.rotations) == 0:
            raise RigInputError("body track has no frames; give at least one")
        self.root_positions = _frames("root_positions", self.root_positions, (len(self.rotations), 3))

    @property
    def n_frames(self) -> int:
        return len(self.rotations)

    @classmethod
    def rest(cls, skeleton: Skeleton, n_frames: int, fps: float = 30.0) -> BodyTrack:
        """A track holding the rest pose (all rotations zero, root at its rest offset)."""
        if n_frames < 1:
            raise RigInputError(f"rest track length is {n_frames} frames; give at least 1")
        rotations = np.zeros((n_frames, skeleton.n_joints, 3), np.float32)
        return cls(skeleton, fps, rotations, np.tile(skeleton.offsets[0].astype(np.float32), (n_frames, 1)))

    def matrices(self) -> np.ndarray:
        """Local rotation matrices (T, J, 3, 3)."""
        return self.skeleton.local_matrices(self.rotations).astype(np.float32)

    def quaternions(self) -> np.ndarray:
        """Local rotations as (w, x, y, z) quaternions (T, J, 4), w >= 0."""
        return quat_from_matrix(self.skeleton.local_matrices(self.rotations)).astype(np.float32)

    def rot6d(self) -> np.ndarray:
        """Local rotations in the 6D representation (T, J, 6)."""
        return matrix_to_rot6d(self.skeleton.local_matrices(self.rotations)).astype(np.float32)

    def positions(self) -> np.ndarray:
        """Global joint positions (T, J, 3) by forward kinematics."""
        return self.skeleton.forward_kinematics(self.rotations, self.root_positions).positions

    @classmethod
    def from_matrices(
        cls, skeleton: Skeleton, matrices: np.ndarray, root_positions: np.ndarray, fps: float, start=None
    ) -> BodyTrack:
        """A track from local rotation matrices (T, J, 3, 3); Euler angles stay continuous in time.

        `start` (J, 3) Euler angles pick the branch of the first frame (e.g. the angles the matrices came from).
        """
        matrices = np.asarray(matrices, dtype=np.float64)
        if matrices.ndim != 4 or matrices.shape[1:] != (skeleton.n_joints, 3, 3):
            raise RigInputError(
                f"rotation matrices have shape {matrices.shape}; expected (T, {skeleton.n_joints}, 3, 3)"
            )
        if not np.isfinite(matrices).all():
            raise RigInputError("rotation matrices hold NaN or infinite values; fix the generator")
        rotations = np.empty(matrices.shape[:2] + (3,))
        for order in set(skeleton.rotation_orders):
            joints = [j for j, o in enumerate(skeleton.rotation_orders) if o == order]
            first = None if start is None else np.asarray(start, dtype=np.float64)[joints]
            rotations[:, joints] = matrix_to_euler_continuous(matrices[:, joints], order, axis=0, start=first)
        return cls(skeleton, fps, rotations, root_positions)

    @classmethod
    def from_quaternions(
        cls, skeleton: Skeleton, quaternions: np.ndarray, root_positions: np.ndarray, fps: float, start=None
    ) -> BodyTrack:
        """A track from local (w, x, y, z) quaternions (T, J, 4); Euler angles stay continuous in time."""
        quaternions = _per_joint(quaternions, skeleton, 4, "quaternions")
        return cls.from_matrices(skeleton, quat_to_matrix(quaternions), root_positions, fps, start)

    @classmethod
    def from_rot6d(
        cls, skeleton: Skeleton, rot6d: np.ndarray, root_positions: np.ndarray, fps: float, start=None
    ) -> BodyTrack:
        """A track from local 6D rotations (T, J, 6); Euler angles stay continuous in time."""
        rot6d = _per_joint(rot6d, skeleton, 6, "6D rotations")
        return cls.from_matrices(skeleton, rot6d_to_matrix(rot6d), root_positions, fps, start)

    def resampled(self, fps: float) -> BodyTrack:
        """The track at another frame rate, same duration: slerp on rotations, linear on root positions."""
        fps = _check_fps(fps)
        n = max(1, int(round(self.duration * fps)))
        # Position of each new frame on the old frame grid, held at the last frame past the end.
        grid = np.minimum(np.arange(n) * (self.fps / fps), self.n_frames - 1)
        lo = np.floor(grid).astype(int)
        hi = np.minimum(lo + 1, self.n_frames - 1)
        frac = grid - lo
        quats = self.quaternions().astype(np.float64)
        rotated = quat_slerp(quats[lo], quats[hi], np.broadcast_to(frac[:, None], (n, self.skeleton.n_joints)))
        root = (1 - frac)[:, None] * self.root_positions[lo] + frac[:, None] * self.root_positions[hi]
        return BodyTrack.from_quaternions(self.skeleton, rotated, root, fps, start=self.rotations[0])


def _per_joint(values, skeleton: Skeleton, width: int, what: str) -> np.ndarray:
    """values as a float64 (T, J, width) array, or a RigInputError naming `what` and the shape expected."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3 or values.shape[1:] != (skeleton.n_joints, width):
        raise RigInputError(f"{what} have shape {values.shape}; expected (T, {skeleton.n_joints}, {width})")
    return values

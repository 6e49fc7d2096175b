"""The face mesh with its ARKit-52 blendshape basis, and its deformation by weights, gaze and head rotation.

The first 478 vertices are MediaPipe FaceMesh's landmarks in MediaPipe's order (``deltas[:, :478]`` animates a
portrait's landmarks); after them come the eyeballs, eye sockets, mouth cavity, teeth, tongue, head and neck
(``rigs.face.mesh_parts``). The neutral geometry comes from ``rigs/face/data/face_topology.npz``
(``python -m rigs.face.build_mesh``); the 52 shapes are defined in ``rigs.face.shapes``.
Axes and angle signs follow ``rigs.face.arkit``: metres, Y up, +Z toward the viewer, +X the character's left.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rigs.errors import RigInputError
from rigs.face.arkit import INDEX, N_BLENDSHAPES, head_rotation
from rigs.face.mesh_parts import LEFT, RIGHT, assemble, reflect
from rigs.face.shapes import blendshape_deltas

__all__ = ["DATA_PATH", "N_LANDMARKS", "FaceMesh", "load_face_mesh", "reflect"]

DATA_PATH = Path(__file__).with_name("data") / "face_topology.npz"
N_LANDMARKS = 478


@dataclass(frozen=True, eq=False)
class FaceMesh:
    """A triangle mesh of the head with 52 ARKit blendshape deltas; arrays are read-only."""

    vertices: np.ndarray  # (V, 3) float32 neutral, metres
    triangles: np.ndarray  # (F, 3) int32, counter-clockwise seen from outside
    uvs: np.ndarray  # (V, 2) float32 in [0, 1], cylindrical about the head's vertical axis
    colors: np.ndarray  # (V, 3) float32 in [0, 1]
    parts: dict[str, np.ndarray]  # vertex indices per part ("skin", "eyeLeft", "teethUpper", ...)
    deltas: np.ndarray  # (52, V, 3) float32 in rigs.face.arkit.BLENDSHAPES order
    mirror: np.ndarray  # (V,) int32: each vertex's mirror image across the X = 0 plane
    eye_centers: np.ndarray  # (2, 3) float32: the right then the left eyeball's centre
    head_pivot: np.ndarray  # (3,) float32: where head rotation turns, near the top of the neck
    head_weight: np.ndarray  # (V,) float32: share of the head rotation (below 1 down the neck)
    n_landmarks: int = N_LANDMARKS

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def deform(self, weights, head=None, gaze=None) -> np.ndarray:
        """Vertices (V, 3) or (T, V, 3) for weights (52,) or (T, 52), head yaw/pitch/roll (3,) and gaze (4,).

        The eyeLook* shapes already turn the eyeballs, and ARKit tracks carry both them and the gaze angles: pass
        `gaze` only for a track whose eyeLook weights are zero, or the eyes turn twice.
        """
        weights = np.asarray(weights, np.float32)
        single = weights.ndim == 1
        if weights.shape[-1] != N_BLENDSHAPES or weights.ndim not in (1, 2):
            raise RigInputError(f"blendshape weights have shape {weights.shape}; expected (52,) or (T, 52) in "
                                "rigs.face.arkit.BLENDSHAPES order")
        weights = weights[None] if single else weights
        frames = len(weights)
        # einsum rather than a BLAS product: OpenBLAS threads spin on after each call, and across a preview's
        # frames that spinning cost more CPU (taken from the video encoder beside it) than the sums themselves.
        out = self.vertices + np.einsum("tk,kvc->tvc", weights, self.deltas)
        if gaze is not None:
            gaze = _per_frame("gaze", gaze, 4, frames)
            for side, name, yaw, pitch in ((LEFT, "Left", 0, 1), (RIGHT, "Right", 2, 3)):
                index = self._eye_index[name]
                rotation = head_rotation(gaze[:, yaw], gaze[:, pitch], 0.0).astype(np.float32)
                out[:, index] = _rotate(out[:, index], rotation, self.eye_centers[side])
        if head is not None:
            head = _per_frame("head", head, 3, frames)
            turned = _rotate(out, head_rotation(*head.T).astype(np.float32), self.head_pivot)
            out += self.head_weight[:, None] * (turned - out)
        return out[0] if single else out

    @functools.cached_property
    def _eye_index(self) -> dict[str, np.ndarray]:
        """Each eye's eyeball and iris-landmark vertices: what gaze turns."""
        return {side: np.concatenate([self.parts[f"eye{side}"], self.parts[f"iris{side}"]])
                for side in ("Left", "Right")}

    def weights_for(self, **named: float) -> np.ndarray:
        """A (52,) weight vector from keyword weights, e.g. ``weights_for(jawOpen=1.0)``."""
        weights = np.zeros(N_BLENDSHAPES, np.float32)
        for name, value in named.items():
            if name not in INDEX:
                raise RigInputError(f"unknown ARKit blendshape {name!r}; use a name from rigs.face.arkit.BLENDSHAPES")
            weights[INDEX[name]] = value
        return weights


def _per_frame(name: str, values, width: int, frames: int) -> np.ndarray:
    values = np.asarray(values, np.float32)
    if values.ndim == 1:
        values = np.broadcast_to(values, (frames, values.shape[0]))
    if values.shape != (frames, width):
        raise RigInputError(f"{name} has shape {values.shape}; expected ({width},) or ({frames}, {width}) radians")
    return values


def _rotate(points: np.ndarray, rotation: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Points (T, N, 3) turned by per-frame rotations (T, 3, 3) about a centre."""
    return (points - center) @ rotation.transpose(0, 2, 1) + center


def _mirror_map(vertices: np.ndarray, parts: dict[str, np.ndarray], landmark_mirror: np.ndarray) -> np.ndarray:
    """Each vertex's mirror partner: the stored landmark pairing, then nearest reflected vertex part by part."""
    mirror = np.arange(len(vertices))
    mirror[:N_LANDMARKS] = landmark_mirror
    for name, index in parts.items():
        if index[0] < N_LANDMARKS:
            continue
        other = parts[name.replace("Left", "Right") if "Left" in name else name.replace("Right", "Left")]
        gaps = np.linalg.norm(vertices[index, None] * [-1.0, 1.0, 1.0] - vertices[None, other], axis=2)
        nearest = gaps.argmin(1)  # parts are small: brute force beats importing a k-d tree
        distance = gaps[np.arange(len(index)), nearest]
        if distance.max() > 1e-6:
            raise RuntimeError(f"face mesh part {name} is not mirror-symmetric ({distance.max():.2e} m off)")
        mirror[index] = other[nearest]
    if not np.array_equal(mirror[mirror], np.arange(len(mirror))):
        raise RuntimeError("face mesh mirror map is not an involution")
    return mirror


def _cylindrical_uvs(vertices: np.ndarray, axis_z: float) -> np.ndarray:
    """u around the head's vertical axis (0.5 at the front), v up the mesh's height."""
    u = 0.5 + np.arctan2(vertices[:, 0], vertices[:, 2] - axis_z) / (2 * np.pi)
    v = (vertices[:, 1] - vertices[:, 1].min()) / np.ptp(vertices[:, 1])
    return np.column_stack([u, v])


def _frozen(array: np.ndarray, dtype) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype)
    array.setflags(write=False)
    return array


@functools.cache
def load_face_mesh(path: Path | None = None) -> FaceMesh:
    """The face mesh with its 52 blendshape deltas (built once per process, cached)."""
    path = Path(path) if path is not None else DATA_PATH
    if not path.is_file():
        raise RigInputError(f"face topology file {path} is missing; rebuild it with `python -m rigs.face.build_mesh`")
    with np.load(path) as data:
        landmarks, triangles, landmark_mirror = data["vertices"], data["triangles"], data["mirror"]
        loops = {key[5:]: data[key] for key in data.files if key.startswith("loop_")}
    asm, points = assemble(landmarks, triangles, loops)
    vertices = asm.array("vertices")
    parts = dict(asm.parts)
    parts["skin"] = np.concatenate([parts["face"], parts["head"], parts["neck"]])
    mirror = _mirror_map(vertices, parts, landmark_mirror)
    vertices = (vertices + reflect(vertices, mirror)) / 2  # exact symmetry, whatever rounding the parts saw
    deltas = blendshape_deltas(vertices, asm, points, loops, mirror)
    return FaceMesh(
        vertices=_frozen(vertices, np.float32),
        triangles=_frozen(np.concatenate(asm.triangles), np.int32),
        uvs=_frozen(_cylindrical_uvs(vertices, points["head_center"][2]), np.float32),
        colors=_frozen(np.clip(asm.array("colors"), 0.0, 1.0), np.float32),
        parts={name: _frozen(index, np.int64) for name, index in parts.items()},
        deltas=_frozen(deltas, np.float32),
        mirror=_frozen(mirror, np.int32),
        eye_centers=_frozen([points["eye_right"], points["eye_left"]], np.float32),
        head_pivot=_frozen(points["head_pivot"], np.float32),
        head_weight=_frozen(asm.array("head"), np.float32),
    )

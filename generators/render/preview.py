"""The 3-D preview: the face mesh driven by a FaceTrack beside a capsule body driven by a BodyTrack, as frames and
as an H.264 MP4 with the speech.

Frames are (512, 512) per view; with both tracks the face is on the left and the body on the right.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from generators.render.encode import write_video
from generators.render.rasterizer import Camera, render_mesh
from rigs.body.capsules import capsule_body
from rigs.body.track import BodyTrack
from rigs.face.mesh import FaceMesh, load_face_mesh
from rigs.face.track import FaceTrack

_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_LIGHT = (0.35, 0.45, 1.0)
_BACKGROUND = (0.93, 0.94, 0.96)
_BODY_COLOR = (0.55, 0.62, 0.75)
_CHUNK = 64  # frames deformed or skinned per numpy call: amortises the per-call cost, keeps the arrays small


@dataclass
class PreviewRenderer:
    """Renders preview frames of face and body tracks; build once, render many frames."""

    size: int = 512
    face_mesh: FaceMesh | None = None

    @cached_property
    def mesh(self) -> FaceMesh:
        return self.face_mesh or load_face_mesh()

    @cached_property
    def face_camera(self) -> Camera:
        # Framed on the face from slightly above and to the character's left, so depth reads.
        center = self.mesh.vertices[: self.mesh.n_landmarks].mean(0)
        return Camera(eye=(center[0] + 0.14, center[1] + 0.03, center[2] + 0.68), target=tuple(center), fov_deg=24.0)

    def face_frame(self, weights: np.ndarray, head: np.ndarray | None = None) -> np.ndarray:
        """One (size, size, 3) uint8 image of the face for weights (52,) and head yaw/pitch/roll (3,)."""
        return self._render_face(self.mesh.deform(weights, head=head))

    def face_frames(self, track: FaceTrack) -> Iterator[np.ndarray]:
        """(size, size, 3) uint8 images of the face, one per frame of the track."""
        for start in range(0, track.n_frames, _CHUNK):
            chunk = slice(start, start + _CHUNK)
            yield from map(self._render_face, self.mesh.deform(track.weights[chunk], head=track.head[chunk]))

    def _render_face(self, vertices: np.ndarray) -> np.ndarray:
        # No gaze: the eyeLook* shapes already turn the eyes (see FaceMesh.deform).
        return render_mesh(vertices, self.mesh.triangles, self.mesh.colors, camera=self.face_camera,
                           size=(self.size, self.size), light=_LIGHT, background=_BACKGROUND, cull_back=True)

    def body_frames(self, track: BodyTrack) -> Iterator[np.ndarray]:
        """(size, size, 3) uint8 images of the capsule body, one per frame of the track."""
        skeleton = track.skeleton
        scale = _METRES.get(skeleton.units, 0.01)
        rest = skeleton.rest_positions().astype(np.float64) * scale
        vertices, triangles, owners = capsule_body(skeleton, rest, scale)
        local = vertices - rest[owners]
        colors = np.tile(np.asarray(_BODY_COLOR, np.float32), (len(vertices), 1))
        fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
        positions = fk.positions.astype(np.float64) * scale
        # Frame the upper body over the whole take (gestures live there), so the figure stays put as it moves.
        hips = positions[:, 0]
        points = positions.reshape(-1, 3)
        points = points[points[:, 1] > hips[:, 1].min() - 0.45]
        low, high = points.min(0), points.max(0)
        center = (low + high) / 2
        extent = float(max(high[1] - low[1], high[0] - low[0])) + 0.25
        camera = Camera(eye=(center[0] + 0.4 * extent, center[1] + 0.15 * extent, center[2] + 2.0 * extent),
                        target=tuple(center), fov_deg=30.0)
        # Rigid skinning: each capsule vertex follows its joint's global rotation and position. Done joint by joint
        # over a chunk of frames, as gathering a rotation per vertex and frame costs more than the products.
        parts = [(joint, np.flatnonzero(owners == joint)) for joint in np.unique(owners)]
        for start in range(0, track.n_frames, _CHUNK):
            rotations = fk.rotations[start:start + _CHUNK].astype(np.float64).transpose(0, 1, 3, 2)
            moved = np.empty((len(rotations), len(local), 3))
            for joint, index in parts:
                moved[:, index] = local[index] @ rotations[:, joint] + positions[start:start + _CHUNK, joint, None]
            for vertices in moved:
                yield render_mesh(vertices, triangles, colors, camera=camera, size=(self.size, self.size),
                                  light=_LIGHT, background=_BACKGROUND, cull_back=True)

    def frames(self, face: FaceTrack | None, body: BodyTrack | None) -> Iterator[np.ndarray]:
        """Preview frames: the face, the body, or both side by side (same frame count and fps required)."""
        if face is None and body is None:
            raise ValueError("nothing to preview: give a face track, a body track or both")
        if face is not None and body is not None and (face.n_frames != body.n_frames or face.fps != body.fps):
            raise ValueError(f"face ({face.n_frames} frames at {face.fps:g} fps) and body ({body.n_frames} at "
                             f"{body.fps:g} fps) must share one frame clock")
        views = []
        if face is not None:
            views.append(self.face_frames(face))
        if body is not None:
            views.append(self.body_frames(body))
        for images in zip(*views, strict=True):
            yield np.concatenate(images, axis=1)


def write_preview(path: str | os.PathLike, face: FaceTrack | None, body: BodyTrack | None,
                  audio_path: str | os.PathLike | None = None, size: int = 512,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Write the preview as an H.264 MP4 at the tracks' fps, with the speech muxed in when audio_path is given."""
    track = face or body
    frames = PreviewRenderer(size).frames(face, body)
    write_video(path, frames, track.fps, audio_path, None if progress is None else
                (lambda done: progress(done, track.n_frames)))

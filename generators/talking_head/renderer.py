"""The talking-head renderer: a portrait animated by a face track, frame by frame, on the CPU.

Everything constant per portrait is built once (the fitted face rig, the warp mesh, the background plate, the
photo's skin with its own smile's folds smoothed out and any glasses' frames taken off it, the eyeballs, the toned
mouth parts, the frames as a layer); a frame is then: pose the landmarks, rasterize the warp (which triangle shows at
each pixel), resample the photo through it over the background, shade the creases the track's action units raise,
draw the eyeballs inside the lids, the glasses' frames moved by the head alone, and the inner mouth inside the lips.
A given track gives the same frames every time (no randomness, no state carried between frames), and frames may be
drawn in several threads at once: all scratch is per frame, and the kernels release the GIL.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from generators.talking_head.animate import FaceRig, landmark_loops
from generators.talking_head.eyes import EyeLayer
from generators.talking_head.glasses import Glasses
from generators.talking_head.mouth import MouthLayer
from generators.talking_head.portrait import CHIN, FOREHEAD, Portrait, PortraitError
from generators.talking_head.shading import ShadingLayer
from generators.talking_head.texture import neutral_texture
from generators.talking_head.warp import Rings, background_plate, composite, hole_strip, ring_strip, visible
from rigs.face.arkit import head_rotation
from rigs.face.mesh import N_LANDMARKS
from rigs.face.track import FaceTrack

__all__ = ["Rendered", "TalkingHeadRenderer"]

CHUNK = 128  # frames posed at once: vectorised, but a long take never sits in memory whole
EAR_LANDMARKS = (234, 454)  # the sides of the face outline
LIP_PARTED = 2.0 / 512  # lips further apart than this (share of the frame) show something between them
LIP_INSET = 1.5 / 512  # how far inside the lips the warp samples their inner edge, as a share of the frame


@dataclass(frozen=True)
class Rendered:
    """Rendered frames with the posed landmarks (what the emotion recognizer and the lip measures read)."""

    frames: np.ndarray  # (T, S, S, 3) uint8
    landmarks: np.ndarray  # (T, 478, 2) float32 pixels
    fps: float


class TalkingHeadRenderer:
    """Renders a portrait driven by face tracks; build once per portrait, render any number of tracks.

    With neutralize (the default) the photo's own expression is taken out, so a track's weights are the face
    shown (a smiling photo can frown); without, they add to the photo's face (a neutral track is the photo).
    expressiveness scales the calibrated extra motion of the emotion-bearing shapes (animate.EXPRESSIVENESS;
    0 gives the mesh's own motion).
    """

    def __init__(self, portrait: Portrait, neutralize: bool = True, expressiveness: float = 1.0):
        if portrait.fit is None:
            raise PortraitError(f"{portrait.source} has no face fit; make it with Portrait.load")
        self.portrait = portrait
        self.size = portrait.size
        self.rig = FaceRig(portrait.fit, neutralize=neutralize, expressiveness=expressiveness)
        fit, loops = portrait.fit, landmark_loops()
        photo = portrait.landmarks.astype(np.float64) * [1.0, 1.0, -1.0]  # x, y, nearness (MediaPipe z is away)
        self.oval = loops["face_oval"]
        face_height = float(np.linalg.norm(photo[CHIN, :2] - photo[FOREHEAD, :2]))
        face_width = float(np.linalg.norm(photo[EAR_LANDMARKS[0], :2] - photo[EAR_LANDMARKS[1], :2]))
        self.rings = Rings(photo[self.oval, :2], photo[CHIN, :2], face_height, face_width)
        n_ring = self.rings.points.shape[1]
        # Warp mesh: the face tesselation (skin landmarks), its holes closed, then strips out to the three rings.
        skin = self.rig.mesh.triangles[np.all(self.rig.mesh.triangles < 468, axis=1)]
        holes = [hole_strip(loops[name]) for name in ("lips_inner", "eye_right", "eye_left")]
        ring_index = N_LANDMARKS + np.arange(3 * n_ring).reshape(3, n_ring)
        band = [ring_strip(self.oval, ring_index[0]), ring_strip(ring_index[0], ring_index[1]),
                ring_strip(ring_index[1], ring_index[2])]
        self.triangles = np.ascontiguousarray(np.concatenate([skin, *holes, *band]), np.int32)
        source = _lip_sources(photo[:, :2], loops["lips_inner"], self.size)
        self.source = np.ascontiguousarray(np.vstack([source, self.rings.points.reshape(-1, 2)]), np.float32)
        # Ring points are lifted to the depth of the neck pivot, about where the head's outline is seen: turning
        # the head then slides the face inside a still outline, and only roll (and a nod's small lift) moves it.
        self.pivot = self.rig.mesh.head_pivot.astype(np.float64)
        self.ring_depth = float(fit.to_image(self.pivot)[2])
        lifted = np.column_stack([self.rings.points.reshape(-1, 2), np.full(3 * n_ring, self.ring_depth)])
        self.ring_mesh = fit.from_image(lifted)
        # The photo's outline in the mesh frame (with its own expression): its rigid motion is the rotation alone.
        self.oval_mesh = fit.from_image(photo[self.oval])
        image = np.ascontiguousarray(portrait.image)
        person = np.ascontiguousarray(portrait.person, np.float32)
        self.background = background_plate(image, person)
        # Glasses' frames are taken off the face and drawn over each frame moved by the head alone (glasses.py):
        # the skin under them moves with the expression, the frames never bend with the brows.
        self.glasses = Glasses(image, photo)
        # What the warp moves: the photo (without glasses' frames), with the folds of its own smile smoothed out
        # when that smile is; the warp samples it with the person mask as a fourth channel, in float32, one
        # pixel's four values side by side.
        skin = self.glasses.skin
        skin = neutral_texture(skin, photo, fit.photo_expression, fit.pixels_per_mm) if neutralize else skin
        self.image = np.ascontiguousarray(skin)
        self.texture = np.ascontiguousarray(np.dstack([skin, person]), np.float32)
        self.eyes = [EyeLayer(image, photo, side) for side in ("right", "left")]
        self.mouth = MouthLayer(self.rig, image, photo)
        self.shading = ShadingLayer(self.rig.mesh, fit.pixels_per_mm, image=self.glasses.skin)
        # The photo's landmarks in the mesh frame: turned with the head, they carry the glasses' frames.
        self.photo_mesh = fit.from_image(photo)

    # ----- geometry -----

    def _turned(self, points: np.ndarray, rotations: np.ndarray) -> np.ndarray:
        """Mesh-frame points (N, 3) turned by per-frame head rotations (T, 3, 3) about the neck pivot, in pixels."""
        turned = np.einsum("tij,nj->tni", rotations, points - self.pivot) + self.pivot
        return self.portrait.fit.to_image(turned)

    def _warp_points(self, track: FaceTrack, frames: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posed landmarks (T, 478, 3), warp points (T, P, 2) with their nearness (T, P), and mouth vertices."""
        poses = self.rig.pose(track, frames)
        rotations = head_rotation(*np.asarray(track.head[frames], np.float64).T)
        n = len(rotations)
        rings = self.rings.points
        rigid = self._turned(self.ring_mesh, rotations)[..., :2].reshape(n, *rings.shape) - rings
        outline = poses.landmarks[:, self.oval, :2] - self._turned(self.oval_mesh, rotations)[..., :2]
        moved = np.stack([self.rings.moved(rigid[t], outline[t]) for t in range(n)]).reshape(n, -1, 2)
        points = np.concatenate([poses.landmarks[..., :2], moved], axis=1).astype(np.float32)
        depth = np.concatenate([poses.landmarks[..., 2], np.full((n, moved.shape[1]), self.ring_depth)], axis=1)
        return poses, points, depth.astype(np.float32)

    def landmarks(self, track: FaceTrack) -> np.ndarray:
        """(T, 478, 2) float32: where each landmark is drawn, frame by frame (no pixels rendered)."""
        _check(track)
        return np.concatenate([self.rig.pose(track, slice(s, s + CHUNK)).landmarks[..., :2]
                               for s in range(0, track.n_frames, CHUNK)] or [np.zeros((0, N_LANDMARKS, 2))])

    # ----- pixels -----

    def _glasses_warp(self, track: FaceTrack, frames: slice) -> list[tuple[np.ndarray, ...] | None]:
        """Per frame, the warp that carries the glasses' frames (glasses.Glasses.draw): the mesh posed by the head's
        rotation alone, the photo's own landmarks turned (no expression); None where the head is still (the frames
        stay where they are in the photo)."""
        head = np.asarray(track.head[frames], np.float64)
        if not self.glasses.found or not np.abs(head).any():
            return [None] * len(head)
        rotations = head_rotation(*head.T)
        n = len(rotations)
        rings = self.rings.points
        rigid = self._turned(self.ring_mesh, rotations)[..., :2].reshape(n, *rings.shape) - rings
        turned = self._turned(self.photo_mesh, rotations)
        warps = []
        for t in range(n):
            if not np.abs(head[t]).any():
                warps.append(None)
                continue
            ring_points = (rings + self.rings.rigid[..., None] * rigid[t]).reshape(-1, 2)
            points = np.vstack([turned[t, :, :2], ring_points]).astype(np.float32)
            depth = np.concatenate([turned[t, :, 2], np.full(len(ring_points), self.ring_depth)]).astype(np.float32)
            warps.append((points, depth, self.triangles, self.source))
        return warps

    def _frame(self, points: np.ndarray, depth: np.ndarray, landmarks: np.ndarray, mouth: np.ndarray,
               weights: np.ndarray, glasses: tuple[np.ndarray, ...] | None) -> np.ndarray:
        seen = np.full((self.size, self.size), -1, np.int32)  # per frame: frames may be drawn in several threads
        visible(points, depth, self.triangles, seen)
        out = self.image.copy()
        composite(self.texture, self.background, points, self.triangles, self.source, seen, out)
        self.shading.draw(out, landmarks, weights)  # under the eyes and the mouth: creases are on the skin
        for eye in self.eyes:
            eye.draw(out, landmarks)
        if self.glasses.found:
            self.glasses.draw(out, glasses)
        self.mouth.draw(out, landmarks, mouth)
        return out

    def frames(self, track: FaceTrack, threads: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(frame (S, S, 3) uint8, landmarks (478, 2) float32) for each frame of the track, in order; with
        threads > 1 frames are drawn side by side (the pixel kernels release the GIL), with the same result."""
        _check(track)
        with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
            draw = map if pool is None else pool.map
            for start in range(0, track.n_frames, CHUNK):
                poses, points, depth = self._warp_points(track, slice(start, start + CHUNK))
                weights = track.weights[start:start + CHUNK]
                glasses = self._glasses_warp(track, slice(start, start + CHUNK))
                drawn = draw(self._frame, points, depth, poses.landmarks, poses.mouth, weights, glasses)
                for frame, landmarks in zip(drawn, poses.landmarks[..., :2], strict=True):
                    yield frame, landmarks.copy()

    def render(self, track: FaceTrack, threads: int = 1) -> Rendered:
        """All frames of a track in memory with their landmarks (fine for a clip; stream long takes with frames())."""
        frames = np.empty((track.n_frames, self.size, self.size, 3), np.uint8)
        landmarks = np.empty((track.n_frames, N_LANDMARKS, 2), np.float32)
        for t, (frame, points) in enumerate(self.frames(track, threads)):
            frames[t], landmarks[t] = frame, points
        return Rendered(frames, landmarks, track.fps)


def _lip_sources(points: np.ndarray, loop: np.ndarray, size: int) -> np.ndarray:
    """Where the warp takes the inner lips from: in a photo with parted lips, a little inside the lips.

    The inner-lip line of such a photo lies on the border of lips and teeth; closed, its pixels would draw a grey
    seam of teeth between the lips, so the warp samples the lips just beside it instead.
    """
    points = points.copy()
    half = len(loop) // 2
    upper, lower = loop[1:half], loop[len(loop) - 1:half:-1]
    across = points[upper] - points[lower]  # from the lower lip to the upper, per pair
    gap = np.linalg.norm(across, axis=1)
    parted = gap > LIP_PARTED * size
    step = LIP_INSET * size * across[parted] / gap[parted, None]
    points[upper[parted]] += step
    points[lower[parted]] -= step
    return points


def _check(track) -> None:
    if not isinstance(track, FaceTrack):
        raise TypeError(f"expected a rigs.face.track.FaceTrack, got {type(track).__name__}")

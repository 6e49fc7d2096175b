"""The portrait's face driven by a face track: per frame, the 478 landmarks and the inner-mouth parts in the image.

Per portrait (constant): the person's neutral face in the mesh frame, N = m + o (the mesh's landmarks plus the
identity offsets of fit.PortraitFit), with the photo's own expression taken out (neutralized) or kept; the mesh's
mouth cavity, teeth and tongue moved onto the person's lips. Per frame: N + weights @ deltas, the irises turned by
the gaze angles when the track has no eyeLook shapes, the head turned about the neck pivot (the neck following in
part), then the photo's camera. With a neutral track and the photo's expression kept, the landmarks are the
detected ones exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from generators.talking_head.fit import PortraitFit
from rigs.face.arkit import INDEX, N_BLENDSHAPES, head_rotation
from rigs.face.mesh import DATA_PATH, N_LANDMARKS, FaceMesh, load_face_mesh
from rigs.face.mesh_parts import enclosed
from rigs.face.track import FaceTrack

__all__ = ["EXPRESSIVENESS", "MOUTH_PARTS", "SNEER_LIFTS_LIP", "FacePoses", "FaceRig", "expressiveness_gains",
           "landmark_loops"]

MOUTH_PARTS = ("mouthCavity", "teethUpper", "teethLower", "tongue")
UPPER_TEETH_DROP_MM = 1.5
# The mesh's lower incisors stand a band as tall as the upper ones above the lower lip; in speech people show
# little of them (the lower lip covers all but their edges).
LOWER_TEETH_DROP_MM = 1.5
EYE_LOOK = tuple(INDEX[f"eyeLook{d}{s}"] for d in ("Down", "In", "Out", "Up") for s in ("Left", "Right"))
# How much further than the mesh the emotion-bearing shapes move a portrait's landmarks (by name prefix). A warped
# photo under-reads the same motion on a lit 3-D face: no shading or parallax follows it, and the face is small in
# the frame (about 1.4 px per mm at 512^2), so a 5 mm brow move is a few pixels. The shapes speech is made of (jaw,
# lip opening, press, roll, shrug, rounding, closure), blinks and gaze keep the mesh's motion: lip-sync and identity
# are measured on them. mouthStretch is both fear's lip stretcher and the spread of EE; it takes the gain, which
# costs 0.06 px of lip gap at P/B/M next to an EE (bench/talking_head.py).
EXPRESSIVENESS: dict[str, float] = {
    "brow": 1.8, "eyeWide": 2.0, "eyeSquint": 1.3, "cheekSquint": 1.8, "noseSneer": 1.4, "mouthSmile": 1.5,
    "mouthFrown": 1.6, "mouthDimple": 1.5, "mouthStretch": 1.5,
}
# AU9 (nose wrinkler) raises the middle of the upper lip as well as the nose wings (FACS manual, 2002); the mesh's
# noseSneer moves the wings alone, so without this a sneer shows no upper teeth. It takes this share of the same
# side's mouthUpperUp (AU10) motion, scaled with the expressiveness like the gains above.
SNEER_LIFTS_LIP = 0.6


@functools.cache
def landmark_loops() -> dict[str, np.ndarray]:
    """Named MediaPipe landmark loops (lips_inner, lips_outer, eye_right, eye_left, face_oval, iris_*, brow_*).

    Eye loops start at the outer corner and run over the upper lid; lips_inner starts at the right corner (78) and
    runs over the upper lip (index 10 is the left corner, 308).
    """
    with np.load(DATA_PATH) as data:
        return {key[5:]: data[key].astype(np.int64) for key in data.files if key.startswith("loop_")}


@dataclass(frozen=True)
class FacePoses:
    """Per-frame geometry in image pixels: x, y (y down) and nearness (larger is closer)."""

    landmarks: np.ndarray  # (T, 478, 3)
    mouth: np.ndarray  # (T, M, 3): the vertices of MOUTH_PARTS, in FaceRig.mouth_triangles' numbering


class FaceRig:
    """The face mesh fitted to one portrait, ready to pose for any face track."""

    def __init__(self, fit: PortraitFit, mesh: FaceMesh | None = None, neutralize: bool = True,
                 expressiveness: float = 1.0):
        mesh = mesh or load_face_mesh()
        self.fit, self.mesh, self.neutralize = fit, mesh, neutralize
        neutral = mesh.vertices[:N_LANDMARKS].astype(np.float64)
        # Neutralized, the photo's smile and open mouth are taken out (fit.PHOTO_EXPRESSIONS) and the lips closed;
        # the rest of its fitted expression stays, as the person's own face.
        kept = fit.expression - fit.photo_expression if neutralize else fit.expression
        offsets = fit.offsets + np.tensordot(kept.astype(np.float64), mesh.deltas[:, :N_LANDMARKS], 1)
        if neutralize:
            offsets = _sealed(neutral, offsets)
        base = neutral + offsets
        # The mouth parts follow the person's lips: an affine map of the mesh's lips onto theirs (in the face plane).
        loops = landmark_loops()
        lips = np.concatenate([loops["lips_inner"], loops["lips_outer"]])
        mouth_index = np.concatenate([mesh.parts[name] for name in MOUTH_PARTS])
        design = np.column_stack([neutral[lips, :2], np.ones(len(lips))])
        affine, *_ = np.linalg.lstsq(design, (neutral + offsets)[lips, :2], rcond=None)
        mouth = mesh.vertices[mouth_index].astype(np.float64)
        mouth[:, :2] = np.column_stack([mouth[:, :2], np.ones(len(mouth))]) @ affine
        # Seen straight on, the mesh's upper incisors hide behind the upper lip; people show a few mm of them.
        upper = np.isin(mouth_index, mesh.parts["teethUpper"])
        mouth[upper, 1] -= UPPER_TEETH_DROP_MM * 1e-3
        mouth[np.isin(mouth_index, mesh.parts["teethLower"]), 1] -= LOWER_TEETH_DROP_MM * 1e-3
        self.index = np.concatenate([np.arange(N_LANDMARKS), mouth_index])
        self.base = np.vstack([base, mouth]).astype(np.float32)
        deltas = mesh.deltas[:, self.index].astype(np.float32) * expressiveness_gains(expressiveness)[:, None, None]
        for name in ("Left", "Right"):
            deltas[INDEX[f"noseSneer{name}"]] += SNEER_LIFTS_LIP * expressiveness * deltas[INDEX[f"mouthUpperUp{name}"]]
        # Lids close as far as this person's eyes are open: a blink that shuts the mesh's eye would leave a wider
        # eye a slit.
        for side, name in (("right", "Right"), ("left", "Left")):
            ratio = _lid_opening(base, loops[f"eye_{side}"]) / _lid_opening(neutral, loops[f"eye_{side}"])
            for shape in (f"eyeBlink{name}", f"eyeSquint{name}"):
                deltas[INDEX[shape]] *= float(np.clip(ratio, 0.5, 2.5))
        self.deltas = np.ascontiguousarray(deltas.reshape(N_BLENDSHAPES, -1))
        self.head_weight = mesh.head_weight[self.index].astype(np.float32)
        # Mouth triangles renumbered into the mouth vertex block (0 .. M-1), with each part's vertex colours.
        remap = np.full(mesh.n_vertices, -1, np.int64)
        remap[mouth_index] = np.arange(len(mouth_index))
        triangles = mesh.triangles[np.all(np.isin(mesh.triangles, mouth_index), axis=1)]
        self.mouth_triangles = remap[triangles].astype(np.int32)
        self.mouth_colors = mesh.colors[mouth_index].astype(np.float32)
        self.mouth_parts = {name: remap[mesh.parts[name]] for name in MOUTH_PARTS}
        # Each eye turns about its centre, moved with the person's iris (gaze-only tracks).
        self.eye_centers = mesh.eye_centers.astype(np.float64) + np.array(
            [offsets[468:473].mean(0), offsets[473:478].mean(0)])

    @property
    def neutral_landmarks(self) -> np.ndarray:
        """(478, 3) image x, y, nearness of the face at rest (the neutral track)."""
        return self.fit.to_image(self.base[:N_LANDMARKS].astype(np.float64)).astype(np.float32)

    def pose(self, track: FaceTrack, frames: slice | None = None) -> FacePoses:
        """Landmarks and mouth parts in the image for every frame (or a slice of frames) of a face track."""
        frames = frames or slice(None)
        weights = np.asarray(track.weights[frames], np.float32)
        head = np.asarray(track.head[frames], np.float64)
        gaze = np.asarray(track.gaze[frames], np.float64)
        n = len(weights)
        vertices = (self.base.reshape(1, -1) + weights @ self.deltas).reshape(n, -1, 3).astype(np.float64)
        # ARKit tracks carry the gaze twice (eyeLook shapes and angles): turn the irises by the angles only when
        # the track has no eyeLook shapes at all, as FaceMesh.deform asks.
        if np.abs(track.weights[:, EYE_LOOK]).max(initial=0.0) < 1e-6 and np.abs(gaze).max(initial=0.0) > 0:
            for side, (first, yaw, pitch) in enumerate(((468, 2, 3), (473, 0, 1))):  # right eye, left eye
                rotation = head_rotation(gaze[:, yaw], gaze[:, pitch], 0.0)
                center = self.eye_centers[side]
                part = vertices[:, first:first + 5] - center
                vertices[:, first:first + 5] = np.einsum("tij,tvj->tvi", rotation, part) + center
        if np.abs(head).max(initial=0.0) > 0:
            rotation = head_rotation(*head.T)
            pivot = self.mesh.head_pivot.astype(np.float64)
            turned = np.einsum("tij,tvj->tvi", rotation, vertices - pivot) + pivot
            vertices += self.head_weight[None, :, None] * (turned - vertices)
        image = self.fit.to_image(vertices).astype(np.float32)
        return FacePoses(image[:, :N_LANDMARKS], image[:, N_LANDMARKS:])


def expressiveness_gains(strength: float = 1.0) -> np.ndarray:
    """(52,) factors on the mesh's shape deltas: 1 + strength (EXPRESSIVENESS - 1) for the emotion-bearing shapes
    (strength 0: the mesh's own motion), 1 for the others."""
    gains = np.ones(N_BLENDSHAPES, np.float32)
    for name, index in INDEX.items():
        for prefix, gain in EXPRESSIVENESS.items():
            if name.startswith(prefix):
                gains[index] = 1.0 + strength * (gain - 1.0)
    return gains


def _lid_opening(points: np.ndarray, loop: np.ndarray) -> float:
    """The median vertical gap between an eye's upper and lower lid landmarks (mesh frame)."""
    half = len(loop) // 2
    upper, lower = loop[1:half], loop[len(loop) - 1:half:-1]
    return float(np.median(points[upper, 1] - points[lower, 1]))


def _sealed(neutral: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Offsets with the inner lips closed as the mesh's are: what of a photo's open mouth the expression fit left
    in the identity offsets would otherwise keep the lips apart on every P, B and M.

    Each pair across the mouth meets in its middle; the rest of the lips follow, fading out toward the outer lip
    line, so the vermilion is not creased along the inner lip line.
    """
    loops = landmark_loops()
    loop, outer = loops["lips_inner"], loops["lips_outer"]
    half = len(loop) // 2
    upper, lower = loop[1:half], loop[len(loop) - 1:half:-1]  # pairs across the mouth, corner to corner
    person = neutral + offsets
    middle = (person[upper] + person[lower]) / 2
    gap = (neutral[upper] - neutral[lower]) / 2
    moves = np.zeros_like(offsets)
    moves[upper] = middle + gap - person[upper]
    moves[lower] = middle - gap - person[lower]
    inner = np.concatenate([upper, lower])
    skin = _skin_triangles()
    lips = np.setdiff1d(enclosed(skin, outer, loop), np.concatenate([inner, outer]))
    to_inner = np.linalg.norm(neutral[lips, None] - neutral[None, inner], axis=2)
    to_outer = np.linalg.norm(neutral[lips, None] - neutral[None, outer], axis=2).min(1)
    share = to_outer / (to_outer + to_inner.min(1))  # 1 on the inner lip line, 0 on the outer
    nearest = 1.0 / np.maximum(to_inner, 1e-4) ** 2
    moves[lips] = share[:, None] * (nearest @ moves[inner]) / nearest.sum(1, keepdims=True)
    return offsets + moves


@functools.cache
def _skin_triangles() -> np.ndarray:
    triangles = load_face_mesh().triangles
    return triangles[np.all(triangles < 468, axis=1)]

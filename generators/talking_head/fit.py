"""The face mesh placed on a portrait: a scaled-orthographic camera, the photo's own expression, identity offsets.

Model of a photo's landmarks (camera frame: x right, y up, z toward the viewer; pixels):
    q_i = s R (m_i + sum_k w_k d_ki + o_i) + t
with the mesh's neutral landmarks m, its ARKit deltas d, the expression weights w, and per-landmark identity offsets
o (the person's own face shape). s, R, t come from a weighted Umeyama fit, w from bounded least squares on the
remaining displacements over the expression shapes only (a smile is an expression, a wide mouth is identity),
alternating a few times; o is what is left, so the neutral-pose projection equals the detected landmarks exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigs.face.arkit import BLENDSHAPES, INDEX, MIRROR, N_BLENDSHAPES
from rigs.face.mesh import N_LANDMARKS, FaceMesh, load_face_mesh

__all__ = ["EXPRESSION_SHAPES", "PHOTO_EXPRESSIONS", "PortraitFit", "estimate_expression", "fit_portrait",
           "pose_weights", "shape_groups", "umeyama"]

# What a photo's expression can hold. Left out: gaze (eyeLook*: the irises are where they are), blinks (a
# half-closed eye in a photo has no pixels of the rest of the eye to open onto), jaw and mouth sideways moves,
# cheekPuff and jawForward (they mostly fit identity: a jaw line, full cheeks), and the tongue.
EXPRESSION_SHAPES: tuple[str, ...] = tuple(
    name for name in BLENDSHAPES
    if name.startswith(("brow", "eyeSquint", "eyeWide", "cheekSquint", "noseSneer", "mouthSmile", "mouthFrown",
                        "mouthDimple", "mouthStretch", "mouthPress", "mouthUpperUp", "mouthLowerDown", "mouthShrug",
                        "mouthRoll", "mouthPucker", "mouthFunnel", "jawOpen"))
)
# What neutralizing takes out of a photo: the expressions portraits show, a smile (with its cheeks and the nose's
# lift), parted lips and an open or stretched mouth. The rest the fit reads (brows, lids, a down-turned, pressed,
# pouted or rolled mouth, dimples) is taken as the person's own face: on the 22 test portraits, none raising its
# brows, the fit put browOuterUp above 0.5 on 15 (the mesh's brows sit lower than most people's), and taking all
# of it out lowered the brows by 4.6 px at 512^2 (median) and left every face sterner than its photo.
PHOTO_EXPRESSIONS: tuple[str, ...] = tuple(
    name for name in EXPRESSION_SHAPES
    if name.startswith(("mouthSmile", "cheekSquint", "noseSneer", "mouthUpperUp", "mouthLowerDown", "mouthStretch",
                        "jawOpen"))
)
# The mouth's opening counts as far as the photo's lips are apart (the inner lips' gap, mm): with the lips together,
# what the fit reads as an open jaw or a lowered lower lip is a long lower face (3 of the 22 portraits: jawOpen
# 0.3-0.5 with closed lips, whose chins neutralizing pulled up).
OPENING = ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight")
PARTED_MM = (0.5, 2.0)
# A smile lifts the mouth's corners above the upper lip's inner middle (in the mesh frame, head pose taken out; in
# inter-ocular distances). The mesh at rest: 0.003; the 22 test portraits that do not smile: at most 0.007, most
# below zero (mouths turned down); those with a closed-mouth smile: 0.022-0.065 (lp_s1, lp_s9, lp_s0, st_art_0,
# astronaut). A neutralized face keeps its corners no higher than this.
SMILE_LIFT = 0.008
N_SKIN = 468
AXIS_WEIGHT = np.array([1.0, 1.0, 0.25])  # MediaPipe's depth is a coarse estimate: it counts a quarter
# Ridge per shape, relative to the shape's own squared displacement: a weak pull to zero so that landmark noise and
# identity do not spread over many shapes, stronger for brows, eyes and nose, whose resting place varies most
# between people (a low brow is not a frown).
RIDGE_MOUTH, RIDGE_UPPER = 0.02, 0.15
RIGID_MM = 1.0  # a landmark an expression moves this far counts half in the pose fit
FLOOR = 0.04  # weights below this are landmark noise on a neutral face, not an expression


def shape_groups(shapes=EXPRESSION_SHAPES) -> list[tuple[str, ...]]:
    """The shapes as mirror pairs (Left, Right) and centre singles: a pair is fitted as one symmetric weight."""
    groups, seen = [], set()
    for name in shapes:
        if name not in seen:
            group = (name,) if MIRROR[name] == name or MIRROR[name] not in shapes else (name, MIRROR[name])
            groups.append(group)
            seen.update(group)
    return groups


def umeyama(source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None):
    """Scale, rotation (3, 3) and translation (3,) minimising sum w |s R source + t - target|^2 (Umeyama 1991)."""
    weights = np.ones(len(source)) if weights is None else np.asarray(weights, np.float64)
    weights = weights / weights.sum()
    mu_s, mu_t = weights @ source, weights @ target
    a, b = source - mu_s, target - mu_t
    covariance = (b * weights[:, None]).T @ a
    u, sigma, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(sigma) @ sign) / (weights @ np.sum(a * a, axis=1)))
    return scale, rotation, mu_t - scale * rotation @ mu_s


@dataclass(frozen=True, eq=False)
class PortraitFit:
    """The face mesh on a photo: camera (pixels per metre, rotation, translation), expression and identity offsets."""

    scale: float
    rotation: np.ndarray  # (3, 3) mesh frame -> camera frame (the photo's head pose)
    translation: np.ndarray  # (3,) camera-frame pixels
    expression: np.ndarray  # (52,) float32 ARKit weights shown by the photo (zero outside EXPRESSION_SHAPES)
    offsets: np.ndarray  # (478, 3) metres, mesh frame: the person's landmarks minus the mesh's
    residual_px: float  # RMS image distance of the landmarks from the fitted camera + expression, before offsets

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Mesh-frame points (..., 3) in metres as image x, y (pixels, y down) and nearness (pixels, larger closer)."""
        q = self.scale * points @ self.rotation.T + self.translation
        return np.stack([q[..., 0], -q[..., 1], q[..., 2]], -1)

    def from_image(self, points: np.ndarray) -> np.ndarray:
        """Image x, y, nearness (..., 3) back to mesh-frame metres."""
        q = np.stack([points[..., 0], -points[..., 1], points[..., 2]], -1)
        return (q - self.translation) @ self.rotation / self.scale

    @property
    def pixels_per_mm(self) -> float:
        return self.scale / 1000.0

    @property
    def photo_expression(self) -> np.ndarray:
        """The part of the expression (52,) neutralizing takes out (PHOTO_EXPRESSIONS; the mouth's opening as far
        as the lips are apart; a smile as far as the mouth's corners show one); the rest is the person's own face."""
        mesh = load_face_mesh()

        def landmarks(weights: np.ndarray) -> np.ndarray:
            return mesh.vertices[:N_LANDMARKS] + np.tensordot(weights, mesh.deltas[:, :N_LANDMARKS], 1) + self.offsets

        lips = landmarks(self.expression)[[13, 14], 1]  # the inner lips' middles, y up
        parted = np.clip((1000.0 * (lips[0] - lips[1]) - PARTED_MM[0]) / (PARTED_MM[1] - PARTED_MM[0]), 0.0, 1.0)
        weights = np.where(_PHOTO_MASK, self.expression, 0.0)
        weights[[INDEX[name] for name in OPENING]] *= parted
        # A smile the fit spread over other shapes (dimples, pressed lips, a raised lower lip: a closed-mouth smile
        # fits them as well) leaves the corners above the upper lip once the rest is taken out: as much more
        # smile goes as brings them down to SMILE_LIFT.
        smile = [INDEX["mouthSmileLeft"], INDEX["mouthSmileRight"]]
        lift = _corner_lift(landmarks(self.expression - weights))
        more = np.zeros(N_BLENDSHAPES)
        more[smile] = 1.0
        per_unit = lift - _corner_lift(landmarks(self.expression - weights - more))
        if lift > SMILE_LIFT and per_unit > 0:
            weights[smile] += min((lift - SMILE_LIFT) / per_unit, 1.0 - float(weights[smile].max()))
        return weights.astype(np.float32)


_PHOTO_MASK = np.isin(np.array(BLENDSHAPES), PHOTO_EXPRESSIONS)


def _corner_lift(landmarks: np.ndarray) -> float:
    """How far the mouth's corners sit above the upper lip's inner middle, in inter-ocular distances (y up)."""
    iod = float(np.linalg.norm(landmarks[473, :2] - landmarks[468, :2]))
    return float(landmarks[[61, 291], 1].mean() - landmarks[13, 1]) / iod


def _camera_frame(landmarks: np.ndarray) -> np.ndarray:
    """Image landmarks (x, y down, MediaPipe z away) as camera-frame points (x right, y up, z toward the viewer)."""
    return np.asarray(landmarks, np.float64) * [1.0, -1.0, -1.0]


def estimate_expression(residual: np.ndarray, mesh: FaceMesh, shapes=EXPRESSION_SHAPES,
                        floor: float = FLOOR) -> np.ndarray:
    """ARKit weights (52,) in [0, 1] explaining mesh-frame displacements (468, 3) of the skin landmarks.

    Mirror pairs share one weight: a photo's asymmetries (a higher brow, a crooked smile) are mostly the person's
    own face, and sided shapes would soak them up as expression.
    """
    from scipy.optimize import lsq_linear

    groups = shape_groups(shapes)
    scale = np.sqrt(AXIS_WEIGHT)
    basis = np.stack([sum(mesh.deltas[INDEX[n], :N_SKIN].astype(np.float64) for n in g) * scale for g in groups])
    energy = np.sum(basis**2, axis=(1, 2))
    ridge = energy * np.array([RIDGE_MOUTH if g[0].startswith(("mouth", "jaw", "cheek")) else RIDGE_UPPER
                               for g in groups])
    a = np.vstack([basis.reshape(len(groups), -1).T, np.diag(np.sqrt(ridge))])
    b = np.concatenate([(residual[:N_SKIN] * scale).ravel(), np.zeros(len(groups))])
    solved = lsq_linear(a, b, bounds=(0.0, 1.0), method="bvls").x
    weights = np.zeros(N_BLENDSHAPES, np.float32)
    for group, value in zip(groups, solved, strict=True):
        weights[[INDEX[n] for n in group]] = max(value - floor, 0.0)
    return weights


def pose_weights(mesh: FaceMesh, shapes=EXPRESSION_SHAPES) -> np.ndarray:
    """Per skin landmark (468,): how much the pose fit trusts it, 1 for still skin, small where expressions move."""
    moves = np.linalg.norm(mesh.deltas[[INDEX[n] for n in shapes], :N_SKIN], axis=2).max(0)
    return 1.0 / (1.0 + (moves / RIGID_MM / 1e-3) ** 2)


def fit_portrait(landmarks: np.ndarray, mesh: FaceMesh | None = None, iterations: int = 4,
                 expression: bool = True) -> PortraitFit:
    """Fit the face mesh to a photo's 478 landmarks (x px, y px down, MediaPipe z px); expression optional."""
    mesh = mesh or load_face_mesh()
    target = _camera_frame(landmarks)
    neutral = mesh.vertices[:N_LANDMARKS].astype(np.float64)
    deltas = mesh.deltas[:, :N_LANDMARKS].astype(np.float64)
    weights = np.zeros(N_BLENDSHAPES, np.float32)
    # The pose leans on the landmarks expressions move least (nose bridge, eye corners, temples): fitted to all
    # alike, a dropped jaw would pass for a nod and a smile for a wider face.
    rigid = pose_weights(mesh)
    for _ in range(iterations if expression else 1):
        shaped = neutral + np.tensordot(weights, deltas, 1)
        scale, rotation, translation = umeyama(shaped[:N_SKIN], target[:N_SKIN], rigid)
        in_mesh = (target - translation) @ rotation / scale
        if expression:
            weights = estimate_expression(in_mesh - neutral, mesh)
    shaped = neutral + np.tensordot(weights, deltas, 1)
    projected = scale * shaped @ rotation.T + translation
    residual_px = float(np.sqrt(np.mean(np.sum((projected - target)[:, :2] ** 2, axis=1))))
    offsets = (target - translation) @ rotation / scale - shaped
    return PortraitFit(scale, rotation, translation, weights, offsets.astype(np.float64), residual_px)

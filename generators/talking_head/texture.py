"""Taking a photo's own expression out of its skin: the folds and bulges a smile leaves in the pixels.

Neutralizing a smiling photo moves its landmarks to rest, but the warp carries the smile's shading along: deep
nasolabial folds, bulging cheeks in the light, creases beside the mouth. These are the shading variations of a few
millimetres to a centimetre across, so in the lower face (cheeks, folds, mouth corners and chin; not the lips, nose,
eyes or the face's outline) that band of the log-luminance is taken out, as far as the photo smiles. Finer
texture (pores, freckles) and broader light (the face's modelling) stay. Per portrait, once: frames cost nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from generators.talking_head.animate import landmark_loops
from generators.talking_head.eyes import polygon_mask
from rigs.face.arkit import INDEX

__all__ = ["expression_share", "neutral_texture"]

FINE_MM, BROAD_MM = 0.7, 10.0  # the band taken out: shading between these scales (Gaussian sigmas)
EDGE_MM = 5.0  # the correction fades in over this distance from the face outline, the lips and the nose
SMILE_SHAPES = {"mouthSmile": 1.0, "cheekSquint": 1.0, "mouthDimple": 0.6, "noseSneer": 0.6}
LOWER_FACE = (116, 117, 118, 119, 120, 121, 128, 245, 193, 168, 417, 465, 357, 350, 349, 348, 347, 346, 345)
NOSE = (6, 122, 351, 217, 437, 129, 358, 98, 327, 2, 97, 326, 48, 278, 64, 294, 240, 460, 219, 439)


def expression_share(expression: np.ndarray) -> float:
    """How much of a smile's shading a photo's expression weights (52,) leave in its skin, 0 (none) to 1."""
    share = max(weight * float(np.max([expression[INDEX[f"{shape}{side}"]] for side in ("Left", "Right")]))
                for shape, weight in SMILE_SHAPES.items())
    # The fit's bounded, ridge-pulled weights under-read a broad smile (the astronaut's is 0.83): 0.83 is all of it.
    return float(np.clip(1.2 * share, 0.0, 1.0))


def neutral_texture(image: np.ndarray, landmarks: np.ndarray, expression: np.ndarray,
                    pixels_per_mm: float) -> np.ndarray:
    """The photo (S, S, 3) uint8 with its expression's folds and bulges smoothed out of the lower face."""
    share = expression_share(expression)
    if share <= 0.0:
        return image
    size = image.shape[0]
    points = np.asarray(landmarks[:, :2], np.float64)
    loops = landmark_loops()
    oval = points[loops["face_oval"]]
    # The lower face: inside the outline, below the row under the eyes.
    region = polygon_mask(oval, (0, 0), (size, size)) * _below(points, size)
    holes = np.maximum(polygon_mask(points[loops["lips_outer"]], (0, 0), (size, size)),
                       polygon_mask(cv2.convexHull(points[list(NOSE)].astype(np.float32))[:, 0], (0, 0),
                                    (size, size)))
    skin = region * (1.0 - holes)
    # How far each pixel is from what is not skin: the correction grows in from the edges.
    inside = cv2.distanceTransform((skin > 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    weight = np.clip(inside / (EDGE_MM * pixels_per_mm), 0.0, 1.0).astype(np.float32)
    # Per colour channel: a fold is darker and redder than the skin around it, a highlight whiter.
    log = np.log(image.astype(np.float32) + 1.0)
    fine = cv2.GaussianBlur(log, (0, 0), FINE_MM * pixels_per_mm)
    # The broad light from the skin alone (a normalized blur), so the dark lips and nostrils leave no halo.
    sigma = BROAD_MM * pixels_per_mm
    mass = cv2.GaussianBlur(skin, (0, 0), sigma)[..., None]
    broad = cv2.GaussianBlur(log * skin[..., None], (0, 0), sigma) / np.maximum(mass, 1e-3)
    band = np.where(mass > 1e-2, fine - broad, 0.0)
    out = np.exp(log - share * weight[..., None] * band) - 1.0
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _below(points: np.ndarray, size: int) -> np.ndarray:
    """1 below the landmark row under the eyes (across the nose bridge), 0 above."""
    row = points[list(LOWER_FACE)]
    order = np.argsort(row[:, 0])
    line = np.interp(np.arange(size), row[order, 0], row[order, 1])
    return (np.arange(size)[:, None] > line[None, :]).astype(np.float32)

"""Shading the warp cannot make: the folds, furrows and shadows that action units raise on real skin.

A 2-D warp moves the photo's pixels but never changes their light, so a lowered brow makes no furrow and a smile no
nasolabial fold; these are most of what a face's expression is read by. Each CREASES entry is one such appearance
change from the FACS manual (Ekman, Friesen & Hager 2002, the "appearance changes" of each AU): a path through the
posed landmarks, a width, and a depth, driven by the ARKit shapes of its action unit. Per frame every driven crease
is drawn as an anti-aliased line fading out toward its ends (a real fold is deepest in its middle), blurred to its
width and applied to the frame as a multiplicative luminance map (a fold darkens, a bulge catching the light
brightens), tinted per pixel by the portrait's own skin colour there (shadowed skin deepens its own hue, so the
fold's colour comes from the skin around it, not a grey stroke; a black-and-white photo gets grey folds); with no
weights nothing is drawn, so a face at rest is the photo. Paths are given on the subject's right side and mirrored
(landmark mirror partners) for the left.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numba
import numpy as np

from generators.talking_head.eyes import SHIFT, box
from rigs.face.arkit import INDEX, N_BLENDSHAPES
from rigs.face.mesh import FaceMesh

__all__ = ["CREASES", "Crease", "ShadingLayer", "skin_tint"]

Node = int | tuple[int, int, float]  # a landmark, or (a, b, t): the point a + t (b - a)
# Skin in its own shadow deepens its own colour (light scattered under the skin comes out in the skin's hue): each
# channel darkens by (luminance / channel)^SATURATION of the luminance change, from the skin blurred over SKIN_MM,
# within TINT_RANGE; a grey line would read as drawn on. Without the photo, a typical skin's tint.
SATURATION, SKIN_MM, TINT_RANGE = 2.5, 3.0, (0.5, 2.0)
SHADOW_TINT = np.array([0.8, 1.0, 1.1], np.float32)
# Crease widths (mm, the blur across the line): fine lines, folds, broad shadows and bulges. Few widths, as each is
# one blur per frame; a fine line narrower than about a millimetre reads as a pen stroke at video sizes.
WRINKLE, FOLD, SHADOW = 1.4, 2.0, 2.6
TAPER = 0.35  # a crease's strength at its ends, as a share of its middle's


@dataclass(frozen=True)
class Crease:
    """One appearance change of an action unit: where it runs, what drives it, how wide and how deep it is."""

    name: str
    path: tuple[Node, ...]  # on the subject's right side (or across the middle, for centred creases)
    drive: tuple[tuple[str, float], ...]  # ARKit shapes ("{side}" is the crease's side) and how much each drives it
    width_mm: float  # standard deviation of the blur across the line: WRINKLE, FOLD or SHADOW
    depth: float  # luminance change at full drive: > 0 darkens (a fold), < 0 brightens (a bulge)
    centred: bool = False  # one crease across the middle of the face, not one per side


def _row(upper: tuple[int, ...], lower: tuple[int, ...], t: float) -> tuple[Node, ...]:
    """Nodes a share t of the way from one landmark row to another."""
    return tuple((a, b, t) for a, b in zip(upper, lower, strict=True))


BROW_TOP = (66, 107, 9, 336, 296)  # the upper brow line, middle of the face
FOREHEAD_MID = (69, 108, 151, 337, 299)  # the row of landmarks halfway up the forehead

CREASES: tuple[Crease, ...] = (
    # AU4 brow lowerer: vertical furrows between the drawn-together brows, a shadow under the lowered brow (it comes
    # with the brow's net descent: raised inner brows, AU1 as in sadness, lift the overhang).
    Crease("glabella furrow", ((8, 55, 0.4), (9, 107, 0.45), (9, 108, 0.45)), (("browDown{side}", 1.0),),
           FOLD, 0.14),
    Crease("brow shadow", ((46, 225, 0.5), (53, 224, 0.5), (52, 223, 0.5), (65, 222, 0.5), (55, 221, 0.5)),
           (("browDown{side}", 1.0), ("browInnerUp", -0.8)), SHADOW, 0.16),
    # AU1 inner brow raiser: horizontal lines across the middle of the forehead; AU2 outer brow raiser: the same
    # over the outer brows.
    Crease("forehead line, inner", _row(BROW_TOP, FOREHEAD_MID, 0.45), (("browInnerUp", 1.0),), WRINKLE,
           0.12, centred=True),
    Crease("forehead line, inner, upper", _row(BROW_TOP, FOREHEAD_MID, 0.85), (("browInnerUp", 1.0),),
           WRINKLE, 0.09, centred=True),
    Crease("forehead line, outer", _row((70, 63, 105, 66), (68, 104, 69, 69), 0.5), (("browOuterUp{side}", 1.0),),
           WRINKLE, 0.09),
    # AU6 cheek raiser: crow's feet at the outer eye corner, the furrow under the lower lid, the raised cheek in
    # the light; AU7 lid tightener: the bulge of the tightened lower lid.
    Crease("crow's feet, upper", ((33, 139, 0.25), (33, 139, 0.6)), (("cheekSquint{side}", 1.0),), WRINKLE, 0.16),
    Crease("crow's feet, middle", ((33, 127, 0.2), (33, 127, 0.55)), (("cheekSquint{side}", 1.0),), WRINKLE, 0.16),
    Crease("crow's feet, lower", ((33, 116, 0.25), (33, 116, 0.6)), (("cheekSquint{side}", 1.0),), WRINKLE, 0.14),
    Crease("infraorbital furrow", ((228, 117, 0.3), (229, 118, 0.35), (230, 119, 0.35), (231, 120, 0.3)),
           (("cheekSquint{side}", 1.0), ("eyeSquint{side}", 0.3)), WRINKLE, 0.16),
    Crease("raised cheek", ((117, 50, 0.3), (118, 101, 0.5), (119, 100, 0.5)), (("cheekSquint{side}", 1.0),),
           SHADOW, -0.07),
    Crease("lower lid bulge", _row((25, 110, 24, 23, 22, 26), (31, 228, 229, 230, 231, 232), 0.6),
           (("eyeSquint{side}", 1.0),), WRINKLE, 0.12),
    # AU12 lip corner puller (with AU6, AU9, AU10): the nasolabial fold deepens from the nose wing to beside the
    # mouth corner, the cheek above it bulging into the light.
    Crease("nasolabial fold", ((129, 203, 0.6), 206, 216, (212, 57, 0.25)),
           (("mouthSmile{side}", 1.0), ("noseSneer{side}", 0.7), ("mouthUpperUp{side}", 0.5),
            ("cheekSquint{side}", 0.3)), FOLD, 0.2),
    Crease("nasolabial bulge", ((205, 203, 0.2), (207, 206, 0.3), (192, 216, 0.4)),
           (("mouthSmile{side}", 1.0), ("noseSneer{side}", 0.5)), SHADOW, -0.07),
    # AU9 nose wrinkler: wrinkles across the bridge and sides of the nose.
    Crease("nose wrinkle, upper", ((6, 122, 1.3), 6, (6, 351, 1.3)), (("noseSneerLeft", 0.5), ("noseSneerRight", 0.5)),
           WRINKLE, 0.18, centred=True),
    Crease("nose wrinkle, lower", ((197, 196, 1.3), 197, (197, 419, 1.3)),
           (("noseSneerLeft", 0.5), ("noseSneerRight", 0.5)), WRINKLE, 0.15, centred=True),
    # AU15 lip corner depressor: a fold down from the lowered mouth corner; AU14 dimpler: a dimple beside it.
    Crease("mouth corner fold", ((61, 57, 0.6), (57, 43, 0.6), (43, 204, 0.5)),
           (("mouthFrown{side}", 1.0), ("mouthStretch{side}", 0.3)), FOLD, 0.18),
    Crease("dimple", ((61, 57, 0.7), (61, 57, 1.1)), (("mouthDimple{side}", 1.0), ("mouthSmile{side}", 0.3)),
           FOLD, 0.14),
    # AU17 chin raiser: the furrow under the lower lip deepens above the raised chin boss.
    Crease("mentolabial furrow", _row((182, 83, 18, 313, 406), (201, 201, 200, 421, 421), 0.45),
           (("mouthShrugLower", 1.0),), FOLD, 0.18, centred=True),
)


def _mirror(node: Node, mirror: np.ndarray) -> Node:
    if isinstance(node, tuple):
        return int(mirror[node[0]]), int(mirror[node[1]]), node[2]
    return int(mirror[node])


def _drive(crease: Crease, side: str) -> np.ndarray:
    weights = np.zeros(N_BLENDSHAPES, np.float32)
    for shape, share in crease.drive:
        weights[INDEX[shape.format(side=side)]] += share
    return weights


class ShadingLayer:
    """The creases of one portrait's face, drawn into each frame from its posed landmarks and the track's weights."""

    def __init__(self, mesh: FaceMesh, pixels_per_mm: float, creases: tuple[Crease, ...] = CREASES,
                 image: np.ndarray | None = None):
        self.tint = None if image is None else skin_tint(image, pixels_per_mm)
        starts, ends, shares, drives, depths, widths = [], [], [], [], [], []
        sides: list[tuple[Crease, tuple[Node, ...], str]] = []
        for crease in creases:
            sides.append((crease, crease.path, "Right"))
            if not crease.centred:
                sides.append((crease, tuple(_mirror(n, mesh.mirror) for n in crease.path), "Left"))
        self.names = [f"{crease.name}, {side.lower()}" for crease, _, side in sides]
        self.paths: list[slice] = []
        for crease, path, side in sides:
            first = len(starts)
            for node in path:
                a, b, t = node if isinstance(node, tuple) else (node, node, 0.0)
                starts.append(a)
                ends.append(b)
                shares.append(t)
            self.paths.append(slice(first, len(starts)))
            drives.append(_drive(crease, side))
            depths.append(crease.depth)
            widths.append(max(0.7, crease.width_mm * pixels_per_mm))
        self.starts, self.ends = np.array(starts), np.array(ends)
        self.firsts = np.array([path.start for path in self.paths])  # the paths lie one after another
        # Each segment's strength along its path: full in the middle, TAPER at the ends (two-node paths: full).
        self.segment_strength = [_taper(path.stop - path.start - 1) for path in self.paths]
        self.shares = np.array(shares, np.float64)[:, None]
        self.drives = np.stack(drives)  # (C, 52)
        self.depths = np.array(depths, np.float32)
        # Creases of one width share a canvas and one blur; a blurred 1-px line peaks at `gain` of its value.
        self.sigmas = sorted(set(widths))
        self.width_of = np.array([self.sigmas.index(w) for w in widths])
        self.gains = [_line_peak(s) for s in self.sigmas]

    def strengths(self, weights: np.ndarray) -> np.ndarray:
        """(C,) how strongly each crease (side by side) shows for ARKit weights (52,)."""
        return np.clip(self.drives @ np.asarray(weights, np.float32), 0.0, 1.0)

    def draw(self, out: np.ndarray, landmarks: np.ndarray, weights: np.ndarray) -> None:
        """Shade a frame (S, S, 3) uint8 in place for its posed landmarks (478, 2+) and ARKit weights (52,)."""
        strength = self.strengths(weights)
        shown = np.flatnonzero(strength * np.abs(self.depths) > 2e-3)
        if not len(shown):
            return
        points = np.asarray(landmarks[:, :2], np.float64)
        nodes = points[self.starts] + self.shares * (points[self.ends] - points[self.starts])
        # Every crease's extent at once (a few numpy calls per frame, not per crease).
        low = np.minimum.reduceat(nodes, self.firsts)[shown]
        high = np.maximum.reduceat(nodes, self.firsts)[shown]
        x0, y0, x1, y1 = box(np.vstack([low, high]), 3.0 * self.sigmas[self.width_of[shown].max()] + 2.0,
                             out.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        shape = (y1 - y0, x1 - x0)
        # Each line's box (its anti-aliasing within 2 px) and corners (cv2 fixed point) in the shaded box.
        lines_low = np.maximum(np.floor(low - 2.0).astype(int) - (x0, y0), 0).tolist()
        lines_high = np.minimum(np.ceil(high + 2.0).astype(int) + 1 - (x0, y0), (shape[1], shape[0])).tolist()
        corners = np.round((nodes - (x0, y0)) * (1 << SHIFT)).astype(np.int32)
        scale = self.depths * strength / 255.0  # a line's full coverage (255) is its crease's depth
        lines = np.zeros(shape, np.uint8)  # one line at a time, cleared as it is taken in
        light = None  # the luminance change, as a share: > 0 darkens
        for width in np.unique(self.width_of[shown]):
            canvas = np.zeros(shape, np.float32)
            for j in np.flatnonzero(self.width_of[shown] == width).tolist():
                k = shown[j]
                path = corners[self.paths[k]]
                for start, end, value in zip(path[:-1], path[1:], self.segment_strength[k], strict=True):
                    cv2.line(lines, start, end, value, 1, cv2.LINE_AA, SHIFT)
                # Over the blur's gain up front (the blur is linear): the blurred line peaks at the crease's depth.
                _take_line(canvas, lines, *lines_low[j], *lines_high[j], scale[k] / self.gains[width])
            blurred = cv2.GaussianBlur(canvas, (0, 0), self.sigmas[width])
            light = blurred if light is None else cv2.add(light, blurred, dst=light)
        if self.tint is None:
            factor = cv2.merge([1.0 - tint * light for tint in SHADOW_TINT])
        else:
            factor = 1.0 - self.tint[y0:y1, x0:x1] * light[..., None]
        region = out[y0:y1, x0:x1]
        region[:] = cv2.multiply(region, factor, dtype=cv2.CV_8U)  # rounded and saturated


def skin_tint(image: np.ndarray, pixels_per_mm: float) -> np.ndarray:
    """(S, S, 3) float32: per pixel and channel, how much of a luminance change that channel takes, from the
    photo's colour blurred over SKIN_MM (its skin, not its pores): (luminance / channel)^SATURATION."""
    colour = cv2.GaussianBlur(image.astype(np.float32) + 1.0, (0, 0), max(1.0, SKIN_MM * pixels_per_mm))
    luminance = colour @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip((luminance[..., None] / colour) ** SATURATION, *TINT_RANGE).astype(np.float32)


def _taper(segments: int) -> list[int]:
    """Line values (0-255) of a path's segments: a half sine from TAPER at the ends to 1 in the middle."""
    if segments <= 1:
        return [255] * segments
    middle = np.sin(np.pi * (np.arange(segments) + 0.5) / segments)
    return np.round(255 * (TAPER + (1 - TAPER) * middle / middle.max())).astype(int).tolist()


@numba.njit(cache=True, nogil=True)
def _take_line(canvas, lines, x0, y0, x1, y1, scale):
    """canvas = lines (uint8 coverage) * scale in the box [x0, x1) x [y0, y1) where that is stronger than what
    canvas holds (where creases overlap the stronger wins: folds do not add up to a black line); lines is
    cleared there."""
    scale = np.float32(scale)
    for y in range(y0, y1):
        for x in range(x0, x1):
            value = np.float32(lines[y, x]) * scale
            if abs(value) > abs(canvas[y, x]):
                canvas[y, x] = value
            lines[y, x] = 0


def _line_peak(sigma: float) -> float:
    """The peak of a 1-px anti-aliased line of value 1 blurred with sigma (px)."""
    size = int(8 * sigma) + 9
    line = np.zeros((size, size), np.float32)
    line[:, size // 2] = 1.0
    return float(cv2.GaussianBlur(line, (0, 0), sigma).max())

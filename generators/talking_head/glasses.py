"""Glasses stay rigid while the face under them moves: their frames are cut out of the photo and laid back on top.

Glasses rest on the nose and ears, not on the brows, so a warp that raises the brows or the cheeks must not bend
them; but pinning the warp under them pins whatever skin they cover too (grace_hopper's frames lie on her brows).
So the frames themselves are found and taken off the face: the warp moves the photo with the frames filled in by the
skin around them (inpainted), and the frames are drawn over each frame, carried by the same warp mesh posed by the
head's rotation alone (the photo's landmarks turned, no expression: a rigid object turned in depth, not a flat
sticker slid), and left exactly where they are while the head is still.

Found in two steps. The bridge: across the nose between the eyes a frame makes a band with an edge above and below
(luminance rising and falling along the nose), where skin shades smoothly. The frames: about the eyes, the dark lines
(the luminance's black-hat) and dark bands of the photo that are one piece with what crosses the nose's bridge (a
frame is one object through its bridge; wrinkles and shadows beside it mostly are not), and the highlights on them.
Lids and lashes inside the lenses stay skin and move; a brow or wrinkle joined to the frames stays with them (the
robot st_art_6's brows, which touch its frames); the temples beyond the face's outline are not taken.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from generators.talking_head.animate import landmark_loops
from generators.talking_head.warp import FAR, rasterize

__all__ = ["BRIDGE_EDGE", "Glasses", "bridge_edge", "frame_mask"]

BRIDGE_EDGE = 60.0  # the weaker of the band's two edges (row-mean Sobel, luminance 0-255 at 512 px): a frame's bridge
# (grace_hopper 117, a robot's black frames 191; 20 portraits without glasses at most 24)
DETECT_SIDE = 512  # the edges are judged at this crop size, whatever the portrait's
BRIDGE_SPAN = (9, 8, 168, 6)  # nose landmarks from between the brows down the bridge; the band is looked for
# between the middle of the first two and the last
# The frames, in eye widths (corner to corner): where they may be (an ellipse of these half axes about each eye),
# the eyes' own openings (lids, lashes) grown by EYE_MARGIN never; dark lines are found by a black-hat with a disc
# this wide, at least RIDGE deep (L*, 0-100), dark bands as darker than DARK times the skin's median L*; the pieces
# kept cross the nose's bridge line, taken BRIDGE_HALF wide.
ZONE = (1.7, 1.2)
FACE_MARGIN = 0.1  # the zone reaches this far (eye widths) beyond the face's outline
EYE_MARGIN = 0.12
ELEMENT = 0.5
RIDGE, DARK = 7.0, 0.45
BRIDGE_HALF = 0.4
SHINE_REACH = 0.1  # highlights this close to the frames (eye widths) are the frames' own
GROW = 1.5  # px at 512: the mask is grown by this so the frames' anti-aliased edge goes with them; the layer's
DETAIL_PX = 2.0  # px at 512: the skin's fine texture, carried under the frames (wrinkles, pores), is finer than this
FEATHER = 1.5  # alpha then fades over this many px outside it, where the skin layer is the photo's own
REACH = 24.0  # px at 512: mesh points this far around the frames' box carry them


def bridge_edge(image: np.ndarray, landmarks: np.ndarray) -> float:
    """How strongly a band crosses the nose between the eyes: the weaker of its upper and lower edges."""
    scale = DETECT_SIDE / image.shape[0]
    if scale != 1.0:
        image = cv2.resize(image, (DETECT_SIDE, DETECT_SIDE), interpolation=cv2.INTER_AREA)
    points = np.asarray(landmarks[:, :2], np.float64) * scale
    luminance = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    vertical = cv2.Sobel(luminance, cv2.CV_32F, 0, 1, ksize=3)
    top = (points[BRIDGE_SPAN[0]] + points[BRIDGE_SPAN[1]]) / 2
    bottom = points[BRIDGE_SPAN[-1]]
    half = max(1, int(0.2 * np.linalg.norm(points[133] - points[362])))  # a fifth of the gap between the eyes
    rows = np.arange(int(round(top[1])), int(round(bottom[1])) + 1)
    columns = np.interp(rows, [top[1], bottom[1]], [top[0], bottom[0]]).round().astype(int)
    size = vertical.shape[0]
    means = [
        vertical[y, max(x - half, 0) : min(x + half + 1, size)].mean()
        for x, y in zip(columns, rows, strict=True)
        if 0 <= y < size
    ]
    if len(means) < 3:
        return 0.0
    return float(min(max(means), -min(means)))


def _disc(diameter: float) -> np.ndarray:
    """An elliptic structuring element about this many pixels across (odd, at least 3)."""
    side = max(3, int(round(diameter)) | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def frame_mask(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(S, S) float32, 1 on the glasses' frames (rims and bridge) in a portrait; all 0 when it shows none."""
    size = image.shape[0]
    if bridge_edge(image, landmarks) < BRIDGE_EDGE:
        return np.zeros(image.shape[:2], np.float32)
    points = np.asarray(landmarks[:, :2], np.float64)
    loops = landmark_loops()
    eyes = [points[loops[f"eye_{side}"]] for side in ("right", "left")]
    width = float(np.mean([np.linalg.norm(eye[0] - eye[len(eye) // 2]) for eye in eyes]))
    # Where frames can be: an ellipse about each eye, the two joined across the nose; never the eyes' openings.
    zone = np.zeros(image.shape[:2], np.uint8)
    openings = np.zeros_like(zone)
    for eye in eyes:
        centre = tuple(int(v) for v in np.round(eye.mean(0)))
        cv2.ellipse(zone, centre, tuple(int(round(v * width)) for v in ZONE), 0, 0, 360, 1, -1)
        cv2.fillPoly(openings, [np.round(eye).astype(np.int32)], 1)
    zone = cv2.morphologyEx(zone, cv2.MORPH_CLOSE, _disc(width))
    face = np.zeros_like(zone)  # ... and on the face: the backdrop beside it does not turn with the head
    cv2.fillPoly(face, [np.round(points[loops["face_oval"]]).astype(np.int32)], 1)
    zone &= cv2.dilate(face, _disc(2 * FACE_MARGIN * width))
    zone[cv2.dilate(openings, _disc(2 * EYE_MARGIN * width)) > 0] = 0
    # Dark lines (black-hat) and dark bands (thick frames, darker than the skin around) inside it.
    lightness = cv2.GaussianBlur(
        cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100 / 255), (0, 0), 1.0
    )
    ridge = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, _disc(ELEMENT * width))
    skin = float(np.median(lightness[zone > 0]))
    candidate = ((ridge >= RIDGE) | (lightness < DARK * skin)) & (zone > 0)
    # The frames are one object through the bridge: the pieces that cross the nose's bridge line are kept.
    count, labels = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=8)
    bridge = np.zeros_like(zone)
    top = (points[BRIDGE_SPAN[0]] + points[BRIDGE_SPAN[1]]) / 2
    cv2.line(
        bridge,
        tuple(int(v) for v in np.round(top)),
        tuple(int(v) for v in np.round(points[BRIDGE_SPAN[-1]])),
        1,
        max(1, int(round(BRIDGE_HALF * width))),
    )
    kept = np.unique(labels[(bridge > 0) & candidate])
    mask = np.isin(labels, kept[kept > 0]).astype(np.uint8)
    # Highlights on the frames (bright lines, the white-hat) where they lie on or against them.
    shine = cv2.morphologyEx(lightness, cv2.MORPH_TOPHAT, _disc(ELEMENT * width)) >= RIDGE
    mask[shine & (zone > 0) & (cv2.dilate(mask, _disc(SHINE_REACH * width)) > 0)] = 1
    grow = _disc(2 * GROW * size / 512 + 1)
    return cv2.dilate(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disc(3)), grow).astype(np.float32)


class Glasses:
    """A portrait's glasses as a rigid layer: the photo without them (for the warp), and their frames to draw."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray):
        self.mask = frame_mask(image, landmarks)
        self.found = bool(self.mask.any())
        self.skin = image
        if not self.found:
            return
        size = image.shape[0]
        # Under the frames, the skin around them carried in (Telea): smooth, and shown only a few pixels deep
        # where the skin moves out from under the frames.
        smooth = cv2.inpaint(
            np.ascontiguousarray(image), self.mask.astype(np.uint8), max(3, size // 100), cv2.INPAINT_TELEA
        )
        self.skin = _textured(smooth, image, self.mask, size)
        feather = FEATHER * size / 512
        alpha = np.clip(
            1.0 - cv2.distanceTransform((self.mask == 0).astype(np.uint8), cv2.DIST_L2, 3) / feather, 0.0, 1.0
        )
        ys, xs = np.nonzero(alpha > 0)
        pad = 2
        self.box = (
            max(xs.min() - pad, 0),
            max(ys.min() - pad, 0),
            min(xs.max() + pad + 1, size),
            min(ys.max() + pad + 1, size),
        )
        x0, y0, x1, y1 = self.box
        a = alpha[y0:y1, x0:x1, None].astype(np.float32)
        self.layer = np.ascontiguousarray(np.dstack([image[y0:y1, x0:x1].astype(np.float32) * a, a]))

    def draw(self, out: np.ndarray, warp: tuple[np.ndarray, ...] | None = None) -> None:
        """Lay the frames over a rendered frame out (S, S, 3) uint8, in place: where they are in the photo, or
        carried by warp = (points (P, 2), nearness (P,), triangles (F, 3), source (P, 2)), the warp mesh posed by
        the head's rotation alone (a rigid object on a rigidly turning head)."""
        x0, y0, x1, y1 = self.box
        if warp is None:
            _blend(out[y0:y1, x0:x1], self.layer)
            return
        points, depth, triangles, source = warp
        # The frames land where the mesh points around them go; their source within REACH of the layer's box.
        reach = REACH * out.shape[0] / 512
        near = np.all((source >= (x0 - reach, y0 - reach)) & (source <= (x1 + reach, y1 + reach)), axis=1)
        u0, v0 = np.maximum(np.floor(points[near].min(0)).astype(int), 0)
        u1, v1 = np.minimum(np.ceil(points[near].max(0)).astype(int) + 1, out.shape[0])
        if u0 >= u1 or v0 >= v1:
            return
        # Per output pixel, where in the layer it comes from (off the layer where no triangle covers it).
        lookup = np.full((v1 - v0, u1 - u0, 2), -1.0e4, np.float32)
        zbuffer = np.full((v1 - v0, u1 - u0), FAR, np.float32)
        rasterize(
            np.ascontiguousarray(points - np.array([u0, v0], np.float32), np.float32),
            np.ascontiguousarray(depth, np.float32),
            triangles,
            np.ascontiguousarray(source - np.array([x0, y0], np.float32), np.float32),
            lookup,
            zbuffer,
        )
        layer = cv2.remap(self.layer, lookup[..., 0], lookup[..., 1], cv2.INTER_LINEAR, None, cv2.BORDER_CONSTANT, 0)
        _blend(out[v0:v1, u0:u1], layer)


def _textured(smooth: np.ndarray, image: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """The inpainted skin with the fine texture of the skin beside it: under the frames each pixel takes the
    detail (the photo less its blur) of the pixel mirrored across the frames' nearest edge. An inpainting alone is
    smooth: uncovered by a raised brow it showed as a pale, blank band above the frames."""
    from scipy.ndimage import distance_transform_edt

    under = mask > 0
    _, (near_y, near_x) = distance_transform_edt(under, return_indices=True)
    yy, xx = np.mgrid[:size, :size]
    from_y, from_x = np.clip(2 * near_y - yy, 0, size - 1), np.clip(2 * near_x - xx, 0, size - 1)
    usable = under & ~under[from_y, from_x]
    photo = image.astype(np.float32)
    detail = photo - cv2.GaussianBlur(photo, (0, 0), DETAIL_PX * size / 512)
    out = smooth.astype(np.float32)
    out[usable] += detail[from_y[usable], from_x[usable]]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@numba.njit(cache=True, nogil=True)
def _blend(region: np.ndarray, layer: np.ndarray) -> None:
    """region (H, W, 3) uint8 under the premultiplied layer (H, W, 4) float32, in place: one pass over the pixels
    the frames cover (the box around thin frames is mostly empty)."""
    for y in range(region.shape[0]):
        for x in range(region.shape[1]):
            alpha = layer[y, x, 3]
            if alpha > 0.0:
                for c in range(3):
                    value = np.float32(region[y, x, c]) * (np.float32(1.0) - alpha) + layer[y, x, c] + np.float32(0.5)
                    region[y, x, c] = np.uint8(min(value, np.float32(255.0)))

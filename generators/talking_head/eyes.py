"""The eyes: an eyeball layer under the warped lids, so gaze moves the iris and the lids slide over it.

Per portrait and eye, from the photo: a sclera plate (the eye opening with the iris filled in from the white
around it) and an iris texture (the visible iris, its hidden part filled from the visible). Per frame the plate
follows the eye corners (head and cheek motion), the iris disc sits at the posed iris landmark, and both show only
inside the posed lid opening; outside it the warped skin shows. Across the eye the white is stretched so that the
photo's lid lines fall on the posed ones: a raised lid (AU5) uncovers the whole iris and more of the photo's own
white, the lid's shadow on it moving up with the lid (no band of the photo's lid line is left across the eye), and
a narrowed eye squeezes it. A blink closes the lids with skin: the upper lid's warp moves down over the opening,
which shrinks to nothing; where the lid now covers what was open in the photo, the warp would stretch the photo's
lash line over the eye, so that part is painted the lid's own skin colour with the lashes redrawn along the moving
lid edge.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from generators.talking_head.animate import landmark_loops
from generators.talking_head.warp import push_pull, smoothstep

__all__ = ["EyeLayer", "box", "polygon_area", "polygon_mask", "polygon_perimeter"]

SHIFT = 4  # cv2 polygon sub-pixel bits: corners at 1/16 pixel
IRIS = {"right": 468, "left": 473}
SCLERA_FALLBACK = (205, 195, 185)  # an off-white, for eyes too narrow to show any white
LID_SAMPLE = 0.35  # the lid skin is sampled this many eye-opening heights above the photo's upper lid line
LID_COVER = 0.75  # how much of the stretched photo the lid colour replaces where the lid covers the eye
LID_STEPS = 16  # lid-line samples between the corners, for stretching the white with the lids
IRIS_DISC = 1.05, 0.5  # the iris disc: its landmarks' radius times this, plus this many pixels (anti-aliasing)


def polygon_mask(points: np.ndarray, origin: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """An anti-aliased (H, W) float32 coverage mask of a polygon given in image pixels (centres at integers)."""
    mask = np.zeros(shape, np.uint8)
    corners = np.round((np.asarray(points, np.float64) - origin) * (1 << SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [corners], 255, lineType=cv2.LINE_AA, shift=SHIFT)
    return mask.astype(np.float32) * (1.0 / 255.0)


def polygon_area(polygon: np.ndarray) -> float:
    """The area (px^2) a closed polygon (N, 2) encloses (shoelace formula)."""
    x, y = polygon[:, 0], polygon[:, 1]  # no np.roll: on a dozen points per frame its overhead is the cost
    return 0.5 * abs(float(x[:-1] @ y[1:] - y[:-1] @ x[1:] + x[-1] * y[0] - y[-1] * x[0]))


def polygon_perimeter(polygon: np.ndarray) -> float:
    """The length (px) of a closed polygon's (N, 2) outline."""
    sides = np.concatenate([polygon[1:], polygon[:1]]) - polygon
    return float(np.sqrt((sides * sides).sum(1)).sum())


def box(points: np.ndarray, pad: float, size: int) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 (exclusive) of the points' bounding box grown by pad, inside a size x size image."""
    low = np.floor(points.min(0) - pad).astype(int)
    high = np.ceil(points.max(0) + pad).astype(int) + 1
    return max(low[0], 0), max(low[1], 0), min(high[0], size), min(high[1], size)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _bilinear(image, x, y, c):
    h, w = image.shape[0], image.shape[1]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    ix, iy = min(int(x), max(w - 2, 0)), min(int(y), max(h - 2, 0))
    fx, fy = x - ix, y - iy
    jx, jy = min(ix + 1, w - 1), min(iy + 1, h - 1)
    return ((1 - fx) * (1 - fy) * image[iy, ix, c] + fx * (1 - fy) * image[iy, jx, c]
            + (1 - fx) * fy * image[jy, ix, c] + fx * fy * image[jy, jx, c])


@numba.njit(cache=True, fastmath=True, nogil=True)
def _draw_eye(out, x0, y0, mask, plate, iris, origin_x, origin_y, inverse, iris_now_x, iris_now_y, iris_x, iris_y,
              radius, axis, lids):
    """Composite the eyeball into out[y0:, x0:] where mask > 0. inverse maps output pixels to photo pixels (2, 3);
    the iris disc is centred at iris_now in the output and at iris in the photo. The white is read through the
    lids' stretch: axis (3, 2) is the photo's eye frame (outer corner, corner-to-corner vector, unit normal), lids
    (4, K) the posed and the photo's lid offsets along the normal at K even steps between the corners (`_lid_lines`).
    """
    steps = lids.shape[1] - 1
    length2 = axis[1, 0] ** 2 + axis[1, 1] ** 2
    for r in range(mask.shape[0]):
        for k in range(mask.shape[1]):
            m = mask[r, k]
            if m <= 0.0:
                continue
            qx, qy = x0 + k, y0 + r
            px = inverse[0, 0] * qx + inverse[0, 1] * qy + inverse[0, 2]
            py = inverse[1, 0] * qx + inverse[1, 1] * qy + inverse[1, 2]
            # Across the eye, the posed lid lines onto the photo's (linear in between).
            dx, dy = px - axis[0, 0], py - axis[0, 1]
            u = min(max((dx * axis[1, 0] + dy * axis[1, 1]) / length2, 0.0), 1.0) * steps
            v = dx * axis[2, 0] + dy * axis[2, 1]
            i = min(int(u), steps - 1)
            f = u - i
            upper_now = (1 - f) * lids[0, i] + f * lids[0, i + 1]
            lower_now = (1 - f) * lids[1, i] + f * lids[1, i + 1]
            upper = (1 - f) * lids[2, i] + f * lids[2, i + 1]
            lower = (1 - f) * lids[3, i] + f * lids[3, i + 1]
            span = upper_now - lower_now
            if abs(span) > 0.5:
                shift = lower + (v - lower_now) * (upper - lower) / span - v
            else:  # a shut eye: no stretch (the fade has hidden it)
                shift = 0.0
            px += shift * axis[2, 0] - origin_x
            py += shift * axis[2, 1] - origin_y
            # The iris keeps its size and turn with the eye's scale and roll (the linear part of the inverse).
            dx, dy = qx - iris_now_x, qy - iris_now_y
            ux = iris_x + inverse[0, 0] * dx + inverse[0, 1] * dy
            uy = iris_y + inverse[1, 0] * dx + inverse[1, 1] * dy
            distance = np.sqrt((ux - iris_x) ** 2 + (uy - iris_y) ** 2)
            a = min(max(radius - distance + 0.5, 0.0), 1.0)
            for c in range(3):
                eye = (a * _bilinear(iris, ux - origin_x, uy - origin_y, c)
                       + (1 - a) * _bilinear(plate, px, py, c))
                value = m * eye + (1 - m) * out[qy, qx, c]
                out[qy, qx, c] = np.uint8(min(max(value + 0.5, 0.0), 255.0))


class EyeLayer:
    """One eye of one portrait: its eyeball images from the photo, drawn each frame inside the posed lids."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, side: str):
        loop = landmark_loops()[f"eye_{side}"]
        self.loop, self.iris_index = loop, IRIS[side]
        self.corners = loop[[0, len(loop) // 2]]
        points = np.asarray(landmarks[:, :2], np.float64)
        self.photo_corners = points[self.corners]
        self.photo_polygon = points[loop]
        start, along = self.photo_corners[0], self.photo_corners[1] - self.photo_corners[0]
        normal = np.array([-along[1], along[0]]) / max(float(np.hypot(*along)), 1e-9)
        self.axis = np.array([start, along, normal])
        self.photo_lids = _lid_lines(self.photo_polygon, self.axis)
        self.iris = points[self.iris_index]
        self.radius = float(np.linalg.norm(points[self.iris_index + 1:self.iris_index + 5] - self.iris, axis=1).mean())
        size = image.shape[0]
        x0, y0, x1, y1 = box(points[loop], 2 * self.radius + 4, size)
        self.origin = (x0, y0)
        roi = image[y0:y1, x0:x1].astype(np.float32)
        opening = polygon_mask(points[loop], self.origin, roi.shape[:2]) >= 0.999
        yy, xx = np.mgrid[y0:y1, x0:x1]
        distance = np.hypot(xx - self.iris[0], yy - self.iris[1])
        disc_radius = self.radius * IRIS_DISC[0] + IRIS_DISC[1]
        iris_disc = distance <= disc_radius
        white = opening & ~iris_disc
        seen_iris = opening & iris_disc
        # A thin white is no white: below a few pixels the lids' shadows and lashes are all there is.
        self.plate = (_sclera_plate(roi, white, iris_disc, distance > disc_radius + 1.0) if white.sum() >= 4 else
                      np.broadcast_to(np.asarray(SCLERA_FALLBACK, np.float32), roi.shape).copy())
        # The lid: the eye's height (where to sample lid skin), its lashes (the darkest pixels along the lid line).
        upper = points[loop[1:len(loop) // 2]]
        lower = points[loop[len(loop) - 1:len(loop) // 2:-1]]
        height = float(np.median(np.linalg.norm(upper - lower, axis=1)))
        self.lid_height = max(height, 2.0)
        line = np.round(upper).astype(int).clip(0, size - 1)
        samples = image[line[:, 1], line[:, 0]].astype(np.float32)
        self.lash_color = samples[np.argsort(samples.sum(1))[: max(1, len(samples) // 2)]].mean(0)
        self.lash_width = max(1.0, 0.12 * height)
        if seen_iris.sum() >= 4:
            self.iris_texture = push_pull(roi, seen_iris.astype(np.float32))
        else:  # no visible iris: the darkest third of the opening
            inside = roi[opening] if opening.any() else roi.reshape(-1, 3)
            dark = inside[np.argsort(inside.sum(1))[: max(1, len(inside) // 3)]].mean(0)
            self.iris_texture = np.broadcast_to(dark, roi.shape).astype(np.float32).copy()

    def draw(self, out: np.ndarray, landmarks: np.ndarray) -> None:
        """Draw the eyeball inside this frame's lid opening (landmarks (478, 2+) posed, in pixels)."""
        opening = np.asarray(landmarks[self.loop, :2], np.float64)
        x0, y0, x1, y1 = box(opening, 1.0, out.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        # A shut eye is a slit whose anti-aliased edges would draw a line of eyeball: fade it out (the lid and lash
        # line are drawn whatever the opening).
        corners = np.asarray(landmarks[self.corners, :2], np.float64)
        area = polygon_area(opening)
        self._draw_lid(out, opening, area, _similarity(self.photo_corners, corners))
        fade = float(smoothstep(0.4, 1.2, 2.0 * area / max(polygon_perimeter(opening), 1e-9)))
        mask = polygon_mask(opening, (x0, y0), (y1 - y0, x1 - x0)) * fade
        if not mask.any():
            return
        inverse = _similarity(corners, self.photo_corners)
        iris_now = np.asarray(landmarks[self.iris_index, :2], np.float64)
        posed_lids = _lid_lines(opening @ inverse[:, :2].T + inverse[:, 2], self.axis)
        _draw_eye(out, x0, y0, mask, self.plate, self.iris_texture, float(self.origin[0]), float(self.origin[1]),
                  inverse, iris_now[0], iris_now[1], self.iris[0], self.iris[1], self.radius * IRIS_DISC[0], self.axis,
                  np.concatenate([posed_lids, self.photo_lids]))

    def _draw_lid(self, out: np.ndarray, opening: np.ndarray, area: float, forward: np.ndarray) -> None:
        """Lid skin over what the lid now covers of the photo's opening (area: the opening's now), and the lashes
        along the lid edge."""
        photo_opening = self.photo_polygon @ forward[:, :2].T + forward[:, 2]
        closing = 1.0 - area / max(polygon_area(photo_opening), 1e-6)
        if closing <= 0.02:
            return
        x0, y0, x1, y1 = box(np.vstack([photo_opening, opening]), 2.0 + self.lash_width, out.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        shape = (y1 - y0, x1 - x0)
        covered = np.clip(polygon_mask(photo_opening, (x0, y0), shape) - polygon_mask(opening, (x0, y0), shape), 0, 1)
        edge = np.zeros(shape, np.uint8)
        upper = opening[: len(self.loop) // 2 + 1]
        corners = np.round((upper - (x0, y0)) * (1 << SHIFT)).astype(np.int32)
        cv2.polylines(edge, [corners], False, 255, max(1, round(self.lash_width)), cv2.LINE_AA, SHIFT)
        # The colour of the lid skin this frame, just above where the photo's lid line now is: the covered part
        # then matches the skin around it whatever the light.
        above = photo_opening[1: len(self.loop) // 2] - [0.0, LID_SAMPLE * self.lid_height]
        above = np.round(above).astype(int).clip(0, out.shape[0] - 1)
        samples = np.sort(out[above[:, 1], above[:, 0]].astype(np.float32), axis=0)
        lid_color = (samples[(len(samples) - 1) // 2] + samples[len(samples) // 2]) / 2  # median, faster than np's
        covered = cv2.GaussianBlur(covered, (0, 0), 0.7) * LID_COVER
        _paint_lid(out[y0:y1, x0:x1], covered, lid_color, edge, min(1.0, 2.0 * closing) / 255.0, self.lash_color)


@numba.njit(cache=True, nogil=True)
def _paint_lid(region, covered, lid_color, edge, lash_scale, lash_color):
    """Paint region (H, W, 3) uint8 lid_color as far as covered (H, W), then lash_color by the lash line (edge,
    uint8 coverage, times lash_scale): one pass, where numpy would make a temporary per step."""
    lash_scale = np.float32(lash_scale)
    for y in range(region.shape[0]):
        for x in range(region.shape[1]):
            lashes = np.float32(edge[y, x]) * lash_scale
            for c in range(3):
                value = np.float32(region[y, x, c])
                value += covered[y, x] * (lid_color[c] - value)
                value += lashes * (lash_color[c] - value)
                region[y, x, c] = np.uint8(min(max(value + np.float32(0.5), np.float32(0.0)), np.float32(255.0)))


def _sclera_plate(roi: np.ndarray, white: np.ndarray, iris_disc: np.ndarray, clear_of_iris: np.ndarray) -> np.ndarray:
    """The eyeball's white (H, W, 3) float32: the photo's white where it shows; behind the iris, row by row the
    white either side of it (clear of the iris's anti-aliased edge) joined across, so a turned iris or a raised lid
    uncovers white shaded as the white beside it (filled from all around, the lids' shadows and the iris's edge
    made a murky block there); past the opening (read only at the posed opening's anti-aliased rim) carried out."""
    filled, known = roi.copy(), white.astype(np.float32)
    clear = white & clear_of_iris
    for y in np.flatnonzero((iris_disc & ~white).any(1)):
        beside = np.flatnonzero(clear[y])
        if len(beside):
            behind = np.flatnonzero(iris_disc[y] & ~white[y])
            filled[y, behind] = np.stack([np.interp(behind, beside, roi[y, beside, c]) for c in range(3)], -1)
            known[y, behind] = 1.0
    return push_pull(filled, known)


def _lid_lines(polygon: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(2, LID_STEPS + 1): the upper and the lower lid of an eye-loop polygon (outer corner first, then the upper
    lid; in photo pixels) as offsets along axis's normal at even steps from one corner to the other."""
    relative = polygon - axis[0]
    u = relative @ axis[1] / max(float(axis[1] @ axis[1]), 1e-9)
    v = relative @ axis[2]
    half = len(polygon) // 2
    grid = np.linspace(0.0, 1.0, LID_STEPS + 1)
    lines = []
    for part in (np.r_[0:half + 1], np.r_[half:len(polygon), 0]):
        order = np.argsort(u[part], kind="stable")
        lines.append(np.interp(grid, u[part][order], v[part][order]))
    return np.array(lines)


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The (2, 3) similarity taking two source points onto two target points."""
    s = complex(*(source[1] - source[0]))
    t = complex(*(target[1] - target[0]))
    a = t / s if abs(s) > 1e-9 else 1.0 + 0j
    b = complex(*target[0]) - a * complex(*source[0])
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])

"""The pixel warp: a triangle mesh over the portrait moved per frame, rasterized into which triangle each pixel
shows, and the photo resampled through that triangle's backward map over a still background.

The mesh is MediaPipe's face tesselation (its eye and mouth holes closed by strips), then three rings copied from
the face outline at growing scale: the first two move with the head (hair, ears; under the chin the neck follows
less and less), the third stays put. Beyond it every pixel keeps its place. Triangles are rasterized with a
z-buffer (the nose may cover a cheek when the head turns); pixel centres sit at integer coordinates, as in OpenCV.
The person mask moves with the warp; where it uncovers background, the background plate (the photo with the
person filled in from the surrounding background) shows, so the backdrop never stretches.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["RING_SCALES", "Rings", "background_plate", "composite", "hole_strip", "push_pull", "rasterize",
           "ring_strip", "visible"]

RING_SCALES = (1.3, 2.0, 3.2)  # ring size relative to the face outline, about its centre
RING_FOLLOW = (0.5, 0.15, 0.0)  # share of the outline's own (non-rigid) motion each ring takes: the jaw, the brows
# Share of the head's rotation taken below the chin, by depth under the chin in face heights (forehead to chin):
# the neck bends, as the face mesh's neck does (rigs.face.mesh_parts: 0.85, 0.5, 0.2 and 0 down the neck).
NECK_DEPTH = (-0.1, 0.08, 0.3, 0.5, 0.8)
NECK_SHARE = (1.0, 0.85, 0.5, 0.2, 0.0)
NECK_HALF_WIDTH = 0.3  # of the face width: beside the neck nothing moves


EDGE = 1e-5  # pixels on a shared edge belong to both triangles (within this), so no seam is left unwritten
FAR = np.float32(-3e38)  # a z-buffer start farther than anything and finite (fastmath assumes no infinities)
ONE, HALF, ZERO, WHITE = np.float32(1.0), np.float32(0.5), np.float32(0.0), np.float32(255.0)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _setup(xy, i0, i1, i2, width, height, cull_back):
    """A triangle's pixel bounds and barycentric planes (b0 = a0 x + c0 y + d0, b1 likewise, b2 = 1 - b0 - b1);
    ymin > ymax when it draws nothing (degenerate, culled or off the image)."""
    x0, y0, x1, y1, x2, y2 = xy[i0, 0], xy[i0, 1], xy[i1, 0], xy[i1, 1], xy[i2, 0], xy[i2, 1]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    if abs(area) < 1e-9 or (cull_back and area > 0.0):
        return 0, -1, 0, -1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    xmin = max(int(np.ceil(min(x0, x1, x2))), 0)
    xmax = min(int(np.floor(max(x0, x1, x2))), width - 1)
    ymin = max(int(np.ceil(min(y0, y1, y2))), 0)
    ymax = min(int(np.floor(max(y0, y1, y2))), height - 1)
    if xmin > xmax:
        ymax = ymin - 1
    inv = 1.0 / area
    return (xmin, xmax, ymin, ymax, (y1 - y2) * inv, (x2 - x1) * inv, (x1 * y2 - x2 * y1) * inv,
            (y2 - y0) * inv, (x0 - x2) * inv, (x2 * y0 - x0 * y2) * inv)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _span(a0, e0, a1, e1, xmin, xmax):
    """The first and last pixel of a row inside a triangle, where b0 = a0 x + e0 and b1 = a1 x + e1: solved for,
    not tested pixel by pixel, as most of a thin triangle's bounding box is outside it."""
    lo, hi = float(xmin), float(xmax)
    for a, e in ((a0, e0), (a1, e1), (-a0 - a1, 1.0 - e0 - e1)):
        if a > 0.0:
            lo = max(lo, (-EDGE - e) / a)
        elif a < 0.0:
            hi = min(hi, (-EDGE - e) / a)
        elif e < -EDGE:
            return 1, 0
    lo, hi = min(lo, xmax + 1.0), max(hi, xmin - 1.0)  # within int range
    return int(np.ceil(lo)), int(np.floor(hi))


@numba.njit(cache=True, fastmath=True, nogil=True)
def _plane(v0, v1, v2, a0, c0, d0, a1, c1, d1):
    """A value given at a triangle's corners as a plane over it, v = vx x + vy y + vc (exactly constant for equal
    corners, so that equally near triangles tie)."""
    return ((v0 - v2) * a0 + (v1 - v2) * a1, (v0 - v2) * c0 + (v1 - v2) * c1,
            v2 + (v0 - v2) * d0 + (v1 - v2) * d1)


@numba.njit(cache=True, fastmath=True, nogil=True)
def rasterize(xy, depth, triangles, attributes, out, zbuffer, cull_back=False):
    """Interpolate per-point attributes (P, C) over triangles at pixel centres into out (H, W, C), nearest wins.

    xy (P, 2) pixels, depth (P,) nearness (larger is closer), triangles (F, 3); zbuffer (H, W) holds the nearness
    written so far (start from -inf). Pixels no triangle covers keep their values. With cull_back,
    triangles wound clockwise on screen (y down: seen from behind, for counter-clockwise-outside meshes) are
    skipped. Equally near triangles tie (nearness is compared in float32): the first drawn wins.
    """
    height, width = zbuffer.shape
    for f in range(triangles.shape[0]):
        i0, i1, i2 = triangles[f, 0], triangles[f, 1], triangles[f, 2]
        xmin, xmax, ymin, ymax, a0, c0, d0, a1, c1, d1 = _setup(xy, i0, i1, i2, width, height, cull_back)
        z0, z1, z2 = depth[i0], depth[i1], depth[i2]
        for py in range(ymin, ymax + 1):
            e0, e1 = c0 * py + d0, c1 * py + d1
            lo, hi = _span(a0, e0, a1, e1, xmin, xmax)
            for px in range(lo, hi + 1):
                b0, b1 = a0 * px + e0, a1 * px + e1
                b2 = 1.0 - b0 - b1
                z = np.float32(b0 * z0 + b1 * z1 + b2 * z2)
                if z <= zbuffer[py, px]:
                    continue
                zbuffer[py, px] = z
                for ch in range(attributes.shape[1]):
                    out[py, px, ch] = b0 * attributes[i0, ch] + b1 * attributes[i1, ch] + b2 * attributes[i2, ch]


@numba.njit(cache=True, fastmath=True, nogil=True)
def visible(xy, depth, triangles, seen):
    """seen (H, W) int32 = the nearest triangle at each pixel centre, for xy (P, 2), depth (P,) and triangles
    (F, 3) as rasterize takes them; pixels no triangle covers keep their values (start from -1)."""
    height, width = seen.shape
    zbuffer = np.full((height, width), FAR, np.float32)  # per call: frames may be drawn in several threads
    for f in range(triangles.shape[0]):
        i0, i1, i2 = triangles[f, 0], triangles[f, 1], triangles[f, 2]
        xmin, xmax, ymin, ymax, a0, c0, d0, a1, c1, d1 = _setup(xy, i0, i1, i2, width, height, False)
        zx, zy, zc = _plane(depth[i0], depth[i1], depth[i2], a0, c0, d0, a1, c1, d1)
        for py in range(ymin, ymax + 1):
            lo, hi = _span(a0, c0 * py + d0, a1, c1 * py + d1, xmin, xmax)
            z_row = zy * py + zc
            for px in range(lo, hi + 1):
                z = np.float32(zx * px + z_row)  # as stored: equally near triangles (the rings) tie, the first wins
                if z <= zbuffer[py, px]:
                    continue
                zbuffer[py, px] = z
                seen[py, px] = f


@numba.njit(cache=True, fastmath=True, nogil=True)
def composite(texture, background, xy, triangles, source, seen, out):
    """Draw the photo moved by the warp mesh into out (H, W, 3) uint8, which holds the photo.

    Each pixel samples texture (H, W, 4) float32, the photo's RGB and the person mask, where the triangle seen
    there (visible) takes it back to, its corners going from xy (P, 2) to source (P, 2); the sample shows over
    the background (H, W, 3) uint8 as far as the moved mask is thin. Pixels no triangle covers (seen -1) or that
    the mesh leaves in place keep the photo's own. Keeping only which triangle is seen per pixel, not a flow, cuts
    the memory a frame writes and reads by half.
    """
    height, width = seen.shape
    right, bottom = np.float32(width - 1), np.float32(height - 1)
    # Each triangle's backward map, affine in the pixel: sx = m0 x + m1 y + m2, sy = m3 x + m4 y + m5, in float32
    # (1e-4 px at 512 px; float64 cost a quarter more time in this loop).
    mapping = np.empty((triangles.shape[0], 6), np.float32)
    for f in range(triangles.shape[0]):
        i0, i1, i2 = triangles[f, 0], triangles[f, 1], triangles[f, 2]
        _, _, _, _, a0, c0, d0, a1, c1, d1 = _setup(xy, i0, i1, i2, width, height, False)
        mapping[f, 0], mapping[f, 1], mapping[f, 2] = _plane(source[i0, 0], source[i1, 0], source[i2, 0],
                                                             a0, c0, d0, a1, c1, d1)
        mapping[f, 3], mapping[f, 4], mapping[f, 5] = _plane(source[i0, 1], source[i1, 1], source[i2, 1],
                                                             a0, c0, d0, a1, c1, d1)
    for y in range(height):
        row = np.float32(y)
        for x in range(width):
            f = seen[y, x]
            if f < 0:
                continue
            col = np.float32(x)
            sx = mapping[f, 0] * col + (mapping[f, 1] * row + mapping[f, 2])
            sy = mapping[f, 3] * col + (mapping[f, 4] * row + mapping[f, 5])
            if abs(sx - col) < 1e-3 and abs(sy - row) < 1e-3:
                continue
            # Bilinear in float32 on the four channels side by side: this loop is much of a frame's time.
            sx, sy = min(max(sx, ZERO), right), min(max(sy, ZERO), bottom)
            ix, iy = min(int(sx), width - 2), min(int(sy), height - 2)
            fx, fy = sx - np.float32(ix), sy - np.float32(iy)
            w00, w01, w10, w11 = (ONE - fx) * (ONE - fy), fx * (ONE - fy), (ONE - fx) * fy, fx * fy
            alpha = (w00 * texture[iy, ix, 3] + w01 * texture[iy, ix + 1, 3]
                     + w10 * texture[iy + 1, ix, 3] + w11 * texture[iy + 1, ix + 1, 3])
            for c in range(3):
                value = (w00 * texture[iy, ix, c] + w01 * texture[iy, ix + 1, c]
                         + w10 * texture[iy + 1, ix, c] + w11 * texture[iy + 1, ix + 1, c])
                value = alpha * value + (ONE - alpha) * background[y, x, c] + HALF
                out[y, x, c] = np.uint8(min(max(value, ZERO), WHITE))


def push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the unknown pixels of an image (H, W, C) float32 from the known ones (mask (H, W) in [0, 1]): each
    level of a pyramid averages the known pixels below it, and holes take the coarser level's colour."""
    import cv2

    image = np.asarray(image, np.float32)
    weight = np.asarray(known, np.float32)
    if weight.max() <= 0:
        raise ValueError("push_pull needs at least one known pixel")
    levels = [(image * weight[..., None], weight)]
    while max(levels[-1][1].shape) > 1:
        colour, mass = levels[-1]
        h, w = mass.shape
        size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        levels.append((cv2.resize(colour, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1),
                       cv2.resize(mass, size, interpolation=cv2.INTER_AREA)))
    colour, mass = levels[-1]
    filled = colour / np.maximum(mass, 1e-8)[..., None]
    for colour, mass in reversed(levels[:-1]):
        h, w = mass.shape
        up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        share = np.clip(mass, 0.0, 1.0)[..., None]
        filled = np.where(share > 1e-6, colour / np.maximum(mass, 1e-8)[..., None], up) * share + up * (1 - share)
    return filled


def background_plate(image: np.ndarray, person: np.ndarray, threshold: float = 0.15) -> np.ndarray:
    """The photo with the person replaced by the surrounding background, uint8: what shows where the head leaves.

    Telea's inpainting carries the colours and lines next to the person inward, which is what a moving outline
    uncovers; the plate never shows more than a few pixels in from the outline.
    """
    import cv2

    # Wider than the mask's soft edge, so no halo of hair or skin is smeared into the backdrop.
    grow = max(3, image.shape[0] // 96)
    inside = cv2.dilate((person > threshold).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    if inside.all():  # the person fills the frame: a flat plate of the image's mean colour
        return np.broadcast_to(image.reshape(-1, 3).mean(0).astype(np.uint8), image.shape).copy()
    return cv2.inpaint(np.ascontiguousarray(image), inside, max(3, image.shape[0] // 100), cv2.INPAINT_TELEA)


def smoothstep(edge0: float, edge1: float, x) -> np.ndarray:
    """0 below edge0, 1 above edge1, a smooth cubic in between."""
    t = np.clip((np.asarray(x, np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def ring_strip(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Triangles joining two closed rings of point indices of the same length."""
    a, b = np.asarray(first), np.asarray(second)
    a1, b1 = np.roll(a, -1), np.roll(b, -1)
    return np.concatenate([np.stack([a, b, b1], 1), np.stack([a, b1, a1], 1)])


def hole_strip(loop: np.ndarray) -> np.ndarray:
    """Triangles closing an eye or mouth opening: loop[0] and loop[n/2] are the corners, the halves face each other."""
    loop = np.asarray(loop)
    n, half = len(loop), len(loop) // 2
    upper = loop[: half + 1]  # corner, upper contour, corner
    lower = np.concatenate([loop[:1], loop[n - 1:half - 1:-1]])  # corner, lower contour, corner
    triangles = []
    for k in range(half):
        if k > 0:
            triangles.append((upper[k], upper[k + 1], lower[k]))
        if k < half - 1:
            triangles.append((lower[k], upper[k + 1], lower[k + 1]))
    return np.array(triangles, np.int64)


class Rings:
    """The three rings of warp points around a portrait's face outline: where they sit and how they move.

    How much a ring point moves with the head falls off below the chin, as the neck bends, and to nothing beside
    the neck (shoulders and chest stay put).
    """

    def __init__(self, outline: np.ndarray, chin: np.ndarray, face_height: float, face_width: float):
        outline = np.asarray(outline, np.float64)
        self.center = outline.mean(0)
        self.points = np.stack([self.center + k * (outline - self.center) for k in RING_SCALES])  # (3, n, 2)
        below = (self.points[..., 1] - chin[1]) / face_height
        beside = np.abs(self.points[..., 0] - chin[0]) / (NECK_HALF_WIDTH * face_width)
        lateral = 1.0 - smoothstep(1.0, 1.6, beside)
        head = np.where(below < NECK_DEPTH[0], 1.0, np.interp(below, NECK_DEPTH, NECK_SHARE) * lateral)
        self.rigid = head.copy()  # share of the head rotation, per ring point
        self.rigid[-1] = 0.0  # the outer ring holds the picture still
        self.follow = np.asarray(RING_FOLLOW)[:, None] * head

    def moved(self, rigid_motion: np.ndarray, outline_motion: np.ndarray) -> np.ndarray:
        """Ring points (3, n, 2) this frame: rigid_motion (3, n, 2) is how far the head's rotation carries each ring
        point, outline_motion (n, 2) how far the outline moves beyond the rotation (jaw, brows, expression)."""
        return self.points + self.rigid[..., None] * rigid_motion + self.follow[..., None] * outline_motion

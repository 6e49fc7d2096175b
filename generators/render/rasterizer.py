"""A CPU z-buffer triangle rasterizer (numba): per-vertex colours lit by Lambert + ambient from smooth normals.

Shading is per vertex (Gouraud) and interpolated linearly in screen space (the mesh's triangles are a few pixels
across, so perspective correction would not show); depth is exact per pixel (1/z is linear in screen space).
The kernels release the GIL and share no scratch, so frames can be rendered in a thread beside other work.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class Camera:
    """A look-at camera: perspective with a vertical field of view, or orthographic showing `height` world units."""

    eye: tuple[float, float, float] = (0.0, 0.0, 0.6)
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    fov_deg: float = 25.0
    orthographic: bool = False
    height: float = 0.3
    near: float = 1e-3

    @functools.cached_property
    def _basis(self) -> np.ndarray:
        eye, target, up = (np.asarray(v, np.float64) for v in (self.eye, self.target, self.up))
        back = eye - target
        right = np.cross(up, back)
        if np.linalg.norm(back) == 0 or np.linalg.norm(right) == 0:
            raise ValueError(f"camera eye {self.eye} must differ from target {self.target} and not look along up")
        back /= np.linalg.norm(back)
        right /= np.linalg.norm(right)
        return np.stack([right, np.cross(back, right), back])

    def basis(self) -> np.ndarray:
        """World-to-camera rotation: rows are the camera's right, up and backward axes."""
        return self._basis.copy()

    def project(self, vertices: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Screen x, screen y (pixels, y down) and nearness (larger is closer, linear in screen space) per vertex.

        Vertices behind the near plane get a NaN nearness (the rasterizer drops their triangles).
        """
        height, width = size
        if self.orthographic:
            scale = height / self.height
        else:
            scale = (height / 2) / np.tan(np.radians(self.fov_deg) / 2)
        return _project(np.ascontiguousarray(vertices, np.float32), self._basis, np.asarray(self.eye, np.float64),
                        scale, width / 2, height / 2, self.orthographic, self.near)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _project(vertices, basis, eye, scale, cx, cy, orthographic, near):
    screen = np.empty((vertices.shape[0], 3), np.float32)
    for v in range(vertices.shape[0]):
        px, py, pz = vertices[v, 0] - eye[0], vertices[v, 1] - eye[1], vertices[v, 2] - eye[2]
        x = basis[0, 0] * px + basis[0, 1] * py + basis[0, 2] * pz
        y = basis[1, 0] * px + basis[1, 1] * py + basis[1, 2] * pz
        depth = -(basis[2, 0] * px + basis[2, 1] * py + basis[2, 2] * pz)
        if orthographic:
            screen[v, 0], screen[v, 1], screen[v, 2] = cx + x * scale, cy - y * scale, -depth
        elif depth > near:
            screen[v, 0], screen[v, 1], screen[v, 2] = cx + x * scale / depth, cy - y * scale / depth, 1.0 / depth
        else:
            screen[v, 0], screen[v, 1], screen[v, 2] = np.nan, np.nan, np.nan
    return screen


@numba.njit(cache=True, fastmath=True, nogil=True)
def _vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    normals = np.zeros(vertices.shape, np.float32)
    for f in range(triangles.shape[0]):
        a, b, c = triangles[f, 0], triangles[f, 1], triangles[f, 2]
        ux, uy, uz = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
        vx, vy, vz = vertices[c, 0] - vertices[a, 0], vertices[c, 1] - vertices[a, 1], vertices[c, 2] - vertices[a, 2]
        # The cross product's length is twice the area: larger faces weigh more.
        nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
        for v in range(3):
            i = triangles[f, v]
            normals[i, 0] += nx
            normals[i, 1] += ny
            normals[i, 2] += nz
    for v in range(normals.shape[0]):
        length = np.sqrt(normals[v, 0] ** 2 + normals[v, 1] ** 2 + normals[v, 2] ** 2)
        if length > 0:
            normals[v, 0] /= length
            normals[v, 1] /= length
            normals[v, 2] /= length
    return normals


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Smooth unit normals per vertex (area-weighted face normals; counter-clockwise faces point outward)."""
    return _vertex_normals(np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(triangles, np.int32))


@numba.njit(cache=True, fastmath=True, nogil=True)
def _shade_vertices(colors, normals, light, ambient):
    """Lambert + ambient colour per vertex, lit from the front side (row 0) and from the back side (row 1)."""
    shaded = np.empty((2,) + colors.shape, np.float32)
    for v in range(colors.shape[0]):
        lambert = normals[v, 0] * light[0] + normals[v, 1] * light[1] + normals[v, 2] * light[2]
        front = (ambient + (1.0 - ambient) * max(lambert, 0.0)) * 255.0
        back = (ambient + (1.0 - ambient) * max(-lambert, 0.0)) * 255.0
        for ch in range(3):
            shaded[0, v, ch] = front * colors[v, ch]
            shaded[1, v, ch] = back * colors[v, ch]
    return shaded


@numba.njit(cache=True, fastmath=True, nogil=True)
def _rasterize(screen, triangles, shaded, cull_back, image, zbuffer):
    height, width = zbuffer.shape
    for f in range(triangles.shape[0]):
        i0, i1, i2 = triangles[f, 0], triangles[f, 1], triangles[f, 2]
        x0, y0, w0 = np.float64(screen[i0, 0]), np.float64(screen[i0, 1]), np.float64(screen[i0, 2])
        x1, y1, w1 = np.float64(screen[i1, 0]), np.float64(screen[i1, 1]), np.float64(screen[i1, 2])
        x2, y2, w2 = np.float64(screen[i2, 0]), np.float64(screen[i2, 1]), np.float64(screen[i2, 2])
        if not (np.isfinite(w0) and np.isfinite(w1) and np.isfinite(w2)):
            continue
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if area == 0.0:
            continue
        # Screen y points down, so a counter-clockwise (front-facing) triangle has negative area here.
        side = 0 if area < 0.0 else 1
        if cull_back and side == 1:
            continue
        ymin = max(int(np.floor(min(y0, y1, y2))), 0)
        ymax = min(int(np.ceil(max(y0, y1, y2))), height - 1)
        if ymin > ymax:
            continue
        xmin, xmax = min(x0, x1, x2), max(x0, x1, x2)
        # Barycentric weights are affine in the pixel centre (b_k = a_k x + c_k y + d_k), and so are depth and
        # colour: each is stepped along a row with one addition per pixel.
        inv = 1.0 / area
        a0, c0, d0 = (y1 - y2) * inv, (x2 - x1) * inv, (x1 * y2 - x2 * y1) * inv
        a1, c1, d1 = (y2 - y0) * inv, (x0 - x2) * inv, (x2 * y0 - x0 * y2) * inv
        a2, c2, d2 = -a0 - a1, -c0 - c1, 1.0 - d0 - d1
        # Per-x steps and values at the origin of depth and colour.
        wx, wy, wc = a0 * w0 + a1 * w1 + a2 * w2, c0 * w0 + c1 * w1 + c2 * w2, d0 * w0 + d1 * w1 + d2 * w2
        r0, r1, r2 = shaded[side, i0, 0], shaded[side, i1, 0], shaded[side, i2, 0]
        g0, g1, g2 = shaded[side, i0, 1], shaded[side, i1, 1], shaded[side, i2, 1]
        u0, u1, u2 = shaded[side, i0, 2], shaded[side, i1, 2], shaded[side, i2, 2]
        rx, ry, rc = a0 * r0 + a1 * r1 + a2 * r2, c0 * r0 + c1 * r1 + c2 * r2, d0 * r0 + d1 * r1 + d2 * r2 + 0.5
        gx, gy, gc = a0 * g0 + a1 * g1 + a2 * g2, c0 * g0 + c1 * g1 + c2 * g2, d0 * g0 + d1 * g1 + d2 * g2 + 0.5
        ux, uy, uc = a0 * u0 + a1 * u1 + a2 * u2, c0 * u0 + c1 * u1 + c2 * u2, d0 * u0 + d1 * u1 + d2 * u2 + 0.5
        # Each edge bounds the row span from the left (a > 0) or the right (a < 0): x = -e / a.
        inv_a0 = 1.0 / a0 if a0 != 0.0 else 0.0
        inv_a1 = 1.0 / a1 if a1 != 0.0 else 0.0
        inv_a2 = 1.0 / a2 if a2 != 0.0 else 0.0
        for py in range(ymin, ymax + 1):
            cy = py + 0.5
            # The span of pixel centres inside all three edges on this row, solved rather than searched.
            e0, e1, e2 = c0 * cy + d0, c1 * cy + d1, c2 * cy + d2
            lo, hi = xmin, xmax
            for a, inv_a, e in ((a0, inv_a0, e0), (a1, inv_a1, e1), (a2, inv_a2, e2)):
                if a > 1e-12:
                    lo = max(lo, -e * inv_a)
                elif a < -1e-12:
                    hi = min(hi, -e * inv_a)
                elif e < 0.0:
                    hi = lo - 1.0
            px0 = max(int(np.ceil(lo - 0.5)), 0)
            px1 = min(int(np.floor(hi - 0.5)), width - 1)
            if px0 > px1:
                continue
            cx = px0 + 0.5
            near = wx * cx + wy * cy + wc
            red, green, blue = rx * cx + ry * cy + rc, gx * cx + gy * cy + gc, ux * cx + uy * cy + uc
            for px in range(px0, px1 + 1):
                if near > zbuffer[py, px]:
                    zbuffer[py, px] = near
                    image[py, px, 0] = np.uint8(min(max(red, 0.0), 255.0))
                    image[py, px, 1] = np.uint8(min(max(green, 0.0), 255.0))
                    image[py, px, 2] = np.uint8(min(max(blue, 0.0), 255.0))
                near += wx
                red += rx
                green += gx
                blue += ux


@functools.lru_cache(maxsize=8)
def _background(height: int, width: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """A cached background frame: copying it is far cheaper than broadcasting a colour."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = rgb
    frame.setflags(write=False)
    return frame


def render_mesh(
    vertices: np.ndarray,
    triangles: np.ndarray,
    colors: np.ndarray,
    *,
    camera: Camera | None = None,
    size: tuple[int, int] = (512, 512),
    light: tuple[float, float, float] = (0.3, 0.4, 1.0),
    ambient: float = 0.35,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    cull_back: bool = False,
    normals: np.ndarray | None = None,
) -> np.ndarray:
    """An (H, W, 3) uint8 image of a triangle mesh: vertices (V, 3), triangles (F, 3), colours (V, 3) in [0, 1].

    ``size`` is (height, width); ``light`` points from the surface toward a directional light (world space).
    Back faces are drawn lit from their own side unless ``cull_back``.
    """
    vertices = np.ascontiguousarray(vertices, np.float32)
    triangles = np.ascontiguousarray(triangles, np.int32)
    colors = np.ascontiguousarray(colors, np.float32)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or colors.shape != vertices.shape:
        raise ValueError(f"vertices {vertices.shape} and colors {colors.shape} must both be (V, 3)")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise ValueError(f"triangles has shape {triangles.shape}; expected (F, 3) vertex indices")
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise ValueError(f"triangle indices span [{triangles.min()}, {triangles.max()}] but there are "
                         f"{len(vertices)} vertices")
    height, width = size
    camera = camera or Camera()
    if normals is None:
        normals = _vertex_normals(vertices, triangles)
    light_dir = np.asarray(light, np.float32)
    light_dir = light_dir / np.linalg.norm(light_dir)
    rgb = tuple(int(round(float(np.clip(c, 0.0, 1.0)) * 255)) for c in background)
    image = _background(height, width, rgb).copy()
    zbuffer = np.full((height, width), -np.inf, np.float32)
    shaded = _shade_vertices(colors, np.ascontiguousarray(normals, np.float32), light_dir, np.float32(ambient))
    _rasterize(camera.project(vertices, size), triangles, shaded, cull_back, image, zbuffer)
    return image

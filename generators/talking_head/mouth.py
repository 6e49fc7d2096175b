"""The inner mouth: the face mesh's cavity, teeth and tongue, posed with the face and drawn inside the opened lips.

The parts come from rigs.face.mesh_parts (upper teeth with the skull, lower teeth and tongue with the jaw) and are
moved onto the person's lips by animate.FaceRig. Each frame they are rasterized with a z-buffer into the box of the
posed inner-lip polygon (smoothed through its corners) over a dark back of the throat, shaded by a light from the
camera and toned to the photo's own brightness, darkened toward the lips (the lips shade the mouth), and shown
only inside the polygon. A closed mouth draws nothing.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from generators.render.rasterizer import vertex_normals
from generators.talking_head.animate import FaceRig, landmark_loops
from generators.talking_head.eyes import SHIFT, box, polygon_area, polygon_mask, polygon_perimeter
from generators.talking_head.warp import rasterize, smoothstep
from rigs.face.mesh_parts import CAVITY, SKIN

__all__ = ["LIP_PAIRS", "MouthLayer", "inner_lip_gap", "opening_width", "smooth_loop"]

LIGHT = np.array([0.0, 0.35, 1.0]) / np.hypot(0.35, 1.0)  # from the camera, a little above
AMBIENT = 0.65
IVORY = (1.0, 0.97, 0.92)
# Teeth inside a speaking mouth are in the lips' shade, and the lower ones in the upper lip's too; lit as brightly as
# the skin they looked like bared, snarling teeth (FER2013's anger on a neutral talking face's most open frames:
# 0.80 on average, 0.64 with these shades).
TEETH_GAIN = 0.72
LOWER_TEETH_SHADE = 0.5  # the lower teeth against the upper ones
THROAT = 0.27  # the back of the mouth, as a share of the cavity colour
CHEEKS = (50, 280, 101, 330, 205, 425)  # landmarks on the cheeks, for the photo's skin brightness


SEAM_SHADE, SEAM_ALPHA = 0.6, 0.6  # the closed-lip line: the lips' colour this dark, this opaque
SEAM_PARTED = 2.0 / 512  # a photo whose lips are this far apart (share of the frame) has no seam of its own
CLOSED_WIDTH, OPEN_WIDTH = 0.8, 2.5  # mean opening (px): below, only the seam colour; above, all of the mouth
LIP_PAIRS = ((82, 87), (13, 14), (312, 317))  # inner-lip landmarks facing each other across the middle of the mouth


def inner_lip_gap(landmarks: np.ndarray) -> np.ndarray:
    """How far apart the lips are in the middle of the mouth (pixels, 0 when closed) for landmarks (..., 478, 2+)."""
    landmarks = np.asarray(landmarks)
    upper = landmarks[..., [u for u, _ in LIP_PAIRS], :2]
    lower = landmarks[..., [v for _, v in LIP_PAIRS], :2]
    return np.linalg.norm(lower - upper, axis=-1).mean(-1)


def _seam_line(polygon: np.ndarray) -> np.ndarray:
    """Where closed lips meet: the middle of the upper and lower inner-lip contours, corner to corner."""
    half = len(polygon) // 2
    upper = polygon[: half + 1]
    lower = np.concatenate([polygon[:1], polygon[len(polygon) - 1:half - 1:-1]])
    return (upper + lower) / 2


def opening_width(polygon: np.ndarray) -> float:
    """The mean width (px) of a slit-like polygon (N, 2): its area over half its perimeter."""
    return 2.0 * polygon_area(polygon) / max(polygon_perimeter(polygon), 1e-9)


def smooth_loop(points: np.ndarray, steps: int = 4) -> np.ndarray:
    """A closed polygon (N, 2) refined through its own corners by a Catmull-Rom spline, steps points per side."""
    return _catmull_rom(len(points), steps) @ points


@functools.cache
def _catmull_rom(n: int, steps: int) -> np.ndarray:
    """The spline is linear in the corners: the (n steps, n) matrix of smooth_loop, built once per polygon size."""
    corners = np.eye(n)
    p0, p1, p2, p3 = (np.roll(corners, shift, axis=0) for shift in (1, 0, -1, -2))
    t = (np.arange(steps) / steps)[:, None, None]
    curve = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
    return curve.transpose(1, 0, 2).reshape(-1, n)


class MouthLayer:
    """The inner mouth of one portrait, drawn each frame inside the opened lips."""

    def __init__(self, rig: FaceRig, image: np.ndarray, landmarks: np.ndarray):
        self.rig = rig
        self.loop = landmark_loops()["lips_inner"]
        # Tone the mesh colours to the photo: its cheeks' brightness against the mesh's skin colour.
        points = np.round(landmarks[list(CHEEKS), :2]).astype(int).clip(0, image.shape[0] - 1)
        cheeks = image[points[:, 1], points[:, 0]].astype(np.float64)
        luminance = np.array([0.299, 0.587, 0.114])
        gain = float(np.clip(np.median(cheeks @ luminance) / (255.0 * np.dot(SKIN, luminance)), 0.35, 1.1))
        vertices = rig.base[len(rig.base) - len(rig.mouth_colors):].astype(np.float64)
        camera_normals = vertex_normals(vertices, rig.mouth_triangles) @ rig.fit.rotation.T
        lambert = np.clip(camera_normals @ LIGHT, 0.0, 1.0)
        shade = AMBIENT + (1 - AMBIENT) * lambert
        self.gain = gain
        colors = rig.mouth_colors * shade[:, None] * gain * 255.0
        for part, shade in (("teethUpper", TEETH_GAIN), ("teethLower", TEETH_GAIN * LOWER_TEETH_SHADE)):
            colors[rig.mouth_parts[part]] = np.minimum(colors[rig.mouth_parts[part]] * IVORY * shade, 255.0)
        self.colors = np.ascontiguousarray(colors, np.float32)
        self.throat = (np.asarray(CAVITY) * THROAT * gain * 255.0).astype(np.float32)
        # The cavity's walls are left out: seen straight on, its rim just inside the lips is a dark outline that
        # no photographed mouth has; the flat back of the throat and the lips' shade do its work.
        cavity = set(rig.mouth_parts["mouthCavity"].tolist())
        keep = ~np.isin(rig.mouth_triangles, list(cavity)).any(axis=1)
        self.triangles = np.ascontiguousarray(rig.mouth_triangles[keep])
        self.pixels_per_mm = rig.fit.pixels_per_mm
        # The colour between lips that (nearly) meet: the lips' own, darkened. A photo with parted lips has no
        # line where its lips meet, so closed they get one drawn (a closed photo keeps its own).
        lips = np.round(landmarks[self.loop, :2]).astype(int).clip(0, image.shape[0] - 1)
        self.seam_color = np.median(image[lips[:, 1], lips[:, 0]].astype(np.float32), axis=0) * SEAM_SHADE
        self.draw_seam = bool(inner_lip_gap(landmarks) > SEAM_PARTED * image.shape[0])

    def draw(self, out: np.ndarray, landmarks: np.ndarray, mouth: np.ndarray) -> None:
        """Draw the inner mouth into a frame: posed landmarks (478, 2+) and mouth vertices (M, 3) in pixels."""
        polygon = np.asarray(landmarks[self.loop, :2], np.float64)
        # A slit shows no teeth, only the dark between the lips: up to OPEN_WIDTH the opening is filled with the
        # seam colour, the mouth fading in above CLOSED_WIDTH (the warp would otherwise squeeze whatever the photo
        # had between its lips, its teeth, into a grey line).
        width = opening_width(polygon)
        fade = float(smoothstep(CLOSED_WIDTH, OPEN_WIDTH, width))
        if self.draw_seam and fade < 1.0:
            self._draw_seam(out, polygon, 1.0 - fade)
        if width < 0.05:
            return
        polygon = smooth_loop(polygon)
        x0, y0, x1, y1 = box(polygon, 2.0, out.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        shape = (y1 - y0, x1 - x0)
        mask = polygon_mask(polygon, (x0, y0), shape)
        if not mask.any():
            return
        layer = np.empty(shape + (3,), np.float32)
        if fade > 0.0:
            layer[:] = self.throat
            zbuffer = np.full(shape, -np.inf, np.float32)
            xy = np.ascontiguousarray(mouth[:, :2] - np.array([x0, y0], np.float32), np.float32)
            rasterize(xy, np.ascontiguousarray(mouth[:, 2], np.float32), self.triangles, self.colors, layer,
                      zbuffer, True)
            layer = cv2.GaussianBlur(layer, (0, 0), 0.6)  # a photo's focus, not a rasterizer's hard tooth edges
            # The lips shade what is just inside them: darker toward the lip line, over about a millimetre.
            sigma = max(0.6, 0.8 * self.pixels_per_mm)
            inside = cv2.GaussianBlur(mask, (0, 0), sigma)
            layer *= np.clip(0.7 + 0.6 * (inside - 0.5), 0.7, 1.0)[..., None]
            layer += (1.0 - fade) * (self.seam_color - layer)
        else:
            layer[:] = self.seam_color
        region = out[y0:y1, x0:x1].astype(np.float32)
        region += mask[..., None] * (layer - region)
        out[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)

    def _draw_seam(self, out: np.ndarray, polygon: np.ndarray, strength: float) -> None:
        """A soft dark line where the lips meet, as strong as the mouth is shut."""
        line = _seam_line(polygon)
        x0, y0, x1, y1 = box(line, 3.0, out.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        points = np.round((line - (x0, y0)) * (1 << SHIFT)).astype(np.int32)
        cv2.polylines(mask, [points], False, 255, 1, cv2.LINE_AA, SHIFT)
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 0.7) * (SEAM_ALPHA * strength)
        region = out[y0:y1, x0:x1].astype(np.float32)
        region += alpha[..., None] * (self.seam_color - region)
        out[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)

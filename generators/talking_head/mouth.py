"""The inner mouth: the face mesh's cavity, teeth and tongue, posed with the face and drawn inside the opened lips.

The parts come from rigs.face.mesh_parts (upper teeth with the skull, lower teeth and tongue with the jaw) and are
moved onto the person's lips by animate.FaceRig. Each frame they are rasterized with a z-buffer into the box of the
posed inner-lip polygon (smoothed through its corners) over a dark back of the throat, shaded by a light from the
camera, darkened toward the lips (the lips shade the mouth), and shown only inside the polygon. A closed mouth draws
nothing. The tongue and cavity are toned to the photo's skin brightness; the teeth are not (skin tone says nothing
about enamel): they take the colour of the photo's eye whites, which reflect light alike, kept light and warm.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from generators.render.rasterizer import vertex_normals
from generators.talking_head.animate import FaceRig, landmark_loops
from generators.talking_head.eyes import SHIFT, box, polygon_area, polygon_mask, polygon_perimeter
from generators.talking_head.warp import rasterize, smoothstep
from rigs.face.mesh_parts import CAVITY, CROWN_CORNERS, SKIN, TEETH, labial_normals

__all__ = ["LIP_PAIRS", "MouthLayer", "enamel_color", "inner_lip_gap", "opening_width", "smooth_loop"]

LIGHT = np.array([0.0, 0.35, 1.0]) / np.hypot(0.35, 1.0)  # from the camera, a little above
AMBIENT = 0.65
ENAMEL_FALLBACK = (0.95, 0.91, 0.83)  # light, slightly warm off-white: the teeth where no eye white shows
ENAMEL_LIGHTNESS = (91.0, 96.0)  # CIE L* the enamel is kept within, before shading
# CIE a*, b* of natural teeth (dental shade guides measure b* of about 12-22: teeth are yellowish, never grey); the
# teeth take it as far as the skin shows colour. Grey teeth beside warm skin read as grey-blue, dead teeth.
ENAMEL_WARMTH = (1.0, 15.0)
ENAMEL_AMBIENT = 0.75  # the rest of the enamel's light follows its face's turn: the arch darkens the side teeth
LIP_SHADE = 0.8  # what is just inside the lips, against a millimetre further in
CORNER_SHADE, CORNER_POWER = 0.35, 4  # the mouth this much darker at its corners, falling off as |x|^power
SUPERSAMPLE = 2  # the inner mouth is rasterized at this many samples per pixel side
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


def enamel_color(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The teeth's RGB colour (0-255) for a portrait (S, S, 3) uint8 with its landmarks (478, 2+): its eye whites'.

    The median of the bright, low-chroma pixels inside both eye openings (the sclera, lit like the face); kept
    within ENAMEL_LIGHTNESS and, as far as the skin shows colour, given natural teeth's warmth. Without such
    pixels (closed or shaded eyes), a light off-white.
    """
    loops = landmark_loops()
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    whites = []
    for side in ("eye_right", "eye_left"):
        polygon = np.asarray(landmarks[loops[side], :2], np.float64)
        x0, y0, x1, y1 = box(polygon, 1.0, image.shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        inside = polygon_mask(polygon, (x0, y0), (y1 - y0, x1 - x0)) > 0.5
        pixels = lab[y0:y1, x0:x1][inside]
        pale = pixels[(np.hypot(pixels[:, 1], pixels[:, 2]) < 20.0) & (pixels[:, 0] > 35.0)]  # not iris or lashes
        if len(pale):
            whites.append(pale[pale[:, 0] >= np.percentile(pale[:, 0], 70)])  # the lit part of the white
    whites = np.concatenate(whites) if whites else np.zeros((0, 3), np.float32)
    if len(whites) < 4:
        return np.asarray(ENAMEL_FALLBACK, np.float32) * 255.0
    lightness, a, b = np.median(whites, axis=0)
    a, b = np.clip(a, -3.0, 3.0), np.clip(b, 0.0, 14.0)  # a reddened or bluish white is not the teeth's colour
    # A black-and-white (or toned) photo's skin has little chroma: its teeth get no more than its whites have.
    cheeks = np.round(landmarks[list(CHEEKS), :2]).astype(int).clip(0, image.shape[0] - 1)
    colour = float(np.clip(np.median(np.hypot(*lab[cheeks[:, 1], cheeks[:, 0], 1:].T)) / 12.0, 0.0, 1.0))
    warmth = colour * np.array([ENAMEL_WARMTH[0] - a, ENAMEL_WARMTH[1] - b])
    warm = np.array([np.clip(lightness, *ENAMEL_LIGHTNESS), a + warmth[0], b + warmth[1]])
    return cv2.cvtColor(warm.astype(np.float32)[None, None], cv2.COLOR_LAB2RGB).reshape(3) * 255.0  # float: L* 0-100


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
        normals = vertex_normals(vertices, rig.mouth_triangles)
        for part in ("teethUpper", "teethLower"):
            index = rig.mouth_parts[part]
            facing = labial_normals(vertices[index].reshape(-1, CROWN_CORNERS, 3))  # a tooth shades as one face
            normals[index] = np.repeat(facing, CROWN_CORNERS, axis=0)
        camera_normals = normals @ rig.fit.rotation.T
        lambert = np.clip(camera_normals @ LIGHT, 0.0, 1.0)
        shade = AMBIENT + (1 - AMBIENT) * lambert
        self.gain = gain
        colors = rig.mouth_colors * shade[:, None] * gain * 255.0
        self.enamel = enamel_color(image, landmarks)
        # Enamel is translucent and scatters light: it takes less of its shape's shading than skin does.
        enamel_shade = ENAMEL_AMBIENT + (1 - ENAMEL_AMBIENT) * lambert
        self.teeth = np.zeros(len(colors), np.float32)
        for part in ("teethUpper", "teethLower"):
            index = rig.mouth_parts[part]
            self.teeth[index] = 1.0
            # The mesh's teeth colour carries the mouth's depth (back teeth darker); the enamel gives the rest.
            depth = rig.mouth_colors[index].mean(1) / np.mean(TEETH)
            colors[index] = np.minimum((depth * enamel_shade[index])[:, None] * self.enamel, 255.0)
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
            # Drawn at SUPERSAMPLE times the resolution and averaged down: a tooth is a few pixels wide, and
            # point-sampled its edges step from pixel to pixel.
            fine = np.empty((shape[0] * SUPERSAMPLE, shape[1] * SUPERSAMPLE, 3), np.float32)
            fine[:] = self.throat
            zbuffer = np.full(fine.shape[:2], -np.inf, np.float32)
            xy = (mouth[:, :2] - np.array([x0, y0], np.float32) + 0.5) * SUPERSAMPLE - 0.5  # pixel centres
            rasterize(np.ascontiguousarray(xy, np.float32), np.ascontiguousarray(mouth[:, 2], np.float32),
                      self.triangles, self.colors, fine, zbuffer, True)
            layer = cv2.resize(fine, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
            layer = cv2.GaussianBlur(layer, (0, 0), 0.6)  # a photo's focus, not a rasterizer's hard tooth edges
            # The lips shade what is just inside them: darker toward the lip line, over about a millimetre.
            sigma = max(0.6, 0.8 * self.pixels_per_mm)
            inside = cv2.GaussianBlur(mask, (0, 0), sigma)
            layer *= np.clip(LIP_SHADE + 2 * (1 - LIP_SHADE) * (inside - 0.5), LIP_SHADE, 1.0)[..., None]
            # The cheeks shade the sides of the mouth (the dark corridor beside the teeth): the teeth and tongue
            # darken from the middle toward the corners, so the teeth's arch does not show as a light ring.
            left, right = polygon[:, 0].min(), polygon[:, 0].max()
            across = (np.arange(x0, x1) - (left + right) / 2) / max((right - left) / 2, 1.0)
            shade = 1.0 - CORNER_SHADE * np.clip(np.abs(across), 0.0, 1.0) ** CORNER_POWER
            layer *= shade[None, :, None].astype(np.float32)
            layer += (1.0 - fade) * (self.seam_color - layer)
        else:
            layer[:] = self.seam_color
        region = out[y0:y1, x0:x1].astype(np.float32)
        region += mask[..., None] * (layer - region)
        out[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)

    def teeth_mask(self, size: int, landmarks: np.ndarray, mouth: np.ndarray) -> np.ndarray:
        """(size, size) float32: how much of each pixel of a frame drawn from these poses shows teeth (measures)."""
        polygon = smooth_loop(np.asarray(landmarks[self.loop, :2], np.float64))
        x0, y0, x1, y1 = box(polygon, 2.0, size)
        mask = np.zeros((size, size), np.float32)
        if x1 <= x0 or y1 <= y0 or opening_width(polygon) < CLOSED_WIDTH:
            return mask
        shape = (y1 - y0, x1 - x0)
        teeth = np.zeros(shape + (1,), np.float32)
        xy = np.ascontiguousarray(mouth[:, :2] - np.array([x0, y0], np.float32), np.float32)
        rasterize(xy, np.ascontiguousarray(mouth[:, 2], np.float32), self.triangles, self.teeth[:, None], teeth,
                  np.full(shape, -np.inf, np.float32), True)
        mask[y0:y1, x0:x1] = teeth[..., 0] * polygon_mask(polygon, (x0, y0), shape)
        return mask

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

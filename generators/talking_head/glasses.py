"""Glasses stay rigid: found on the photo, and the warp under their frames moved with the head alone.

A warp that raises the brows or the cheeks bends whatever lies on that skin, and glasses rest on the nose and ears,
not on the brows. Found by their bridge: across the nose between the eyes a frame makes a band with an edge above
and below (luminance rising and falling along the nose), where skin shades smoothly. Where found, the landmarks
under the lenses and the bridge (an ellipse around each eye, the nose between them) follow the head's rotation only,
not the expression; the eyelids inside the lenses still blink, and the brows above the frames still move (where a
frame covers the brows, as grace_hopper's does, only the skin above it shows the brows' motion).
"""

from __future__ import annotations

import cv2
import numpy as np

from generators.talking_head.animate import landmark_loops
from rigs.face.mesh import N_LANDMARKS

__all__ = ["BRIDGE_EDGE", "bridge_edge", "glasses_share"]

BRIDGE_EDGE = 60.0  # the weaker of the band's two edges (row-mean Sobel, luminance 0-255 at 512 px): a frame's bridge
# (grace_hopper 117, a robot's black frames 191; 20 portraits without glasses at most 24)
DETECT_SIDE = 512  # the edges are judged at this crop size, whatever the portrait's
LENS = (1.25, 0.8)  # a lens's half width and half height, in eye widths (corner to corner), about the eye's centre
LENS_FADE = 0.25  # beyond the lens, the pinning fades out over this share of its size
BRIDGE_SPAN = (9, 8, 168, 6)  # nose landmarks from between the brows down the bridge; the band is looked for
# between the middle of the first two and the last


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


def glasses_share(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(478,) float32: per landmark, how much of it follows the head alone (1 under glasses' frames and lenses,
    fading to 0 beyond; 0 everywhere when the photo shows no glasses, and for the eyelids and irises)."""
    share = np.zeros(N_LANDMARKS, np.float32)
    if bridge_edge(image, landmarks) < BRIDGE_EDGE:
        return share
    points = np.asarray(landmarks[:, :2], np.float64)
    loops = landmark_loops()
    for side in ("right", "left"):
        eye = points[loops[f"eye_{side}"]]
        corners = eye[0], eye[len(eye) // 2]  # the loops start at the outer corner
        width = float(np.linalg.norm(corners[1] - corners[0]))
        centre = eye.mean(0)
        distance = np.hypot(*((points - centre) / (np.array(LENS) * width)).T)  # 1 on the lens's edge
        share = np.maximum(share, np.clip((1.0 + LENS_FADE - distance) / LENS_FADE, 0.0, 1.0))
    # The bridge between the lenses: the nose's top, which expressions barely move anyway.
    share[list(BRIDGE_SPAN)] = 1.0
    lids = np.concatenate([loops["eye_right"], loops["eye_left"], np.arange(468, N_LANDMARKS)])
    share[lids] = 0.0
    return share

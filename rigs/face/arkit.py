"""The ARKit-52 face rig: blendshape names in Apple's order, their metadata, and the head and gaze channels.

Order and names follow Apple's ``ARFaceAnchor.BlendShapeLocation`` documentation (left eye, right eye, mouth and
jaw, eyebrows, cheeks, nose, tongue). Live Link Face writes the same 52 in PascalCase but swaps the Left/Right
order of ``jaw*`` and ``mouth*`` side shapes, so it has its own order here.

Sides are the character's own (``eyeBlinkLeft`` closes the character's left eye), as in ARKit.
FACS action units per shape follow the usual ARKit-to-FACS correspondences (Ekman & Friesen's FACS manual for the
AU meanings); shapes with no single AU (``mouthClose``, ``mouthLeft``/``mouthRight``) list none.
"""

from __future__ import annotations

import re

import numpy as np

from rigs.rotations import euler_to_matrix, matrix_to_euler

REGIONS = ("brows", "eyes", "cheeks", "nose", "jaw", "mouth", "tongue")

# name, region, FACS action units
_SHAPES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("eyeBlinkLeft", "eyes", (45,)),  # blink (AU43 when held)
    ("eyeLookDownLeft", "eyes", (64,)),
    ("eyeLookInLeft", "eyes", (61, 62)),  # toward the nose: AU61 or AU62 depending on the eye
    ("eyeLookOutLeft", "eyes", (61, 62)),
    ("eyeLookUpLeft", "eyes", (63,)),
    ("eyeSquintLeft", "eyes", (7,)),  # lid tightener
    ("eyeWideLeft", "eyes", (5,)),  # upper lid raiser
    ("eyeBlinkRight", "eyes", (45,)),
    ("eyeLookDownRight", "eyes", (64,)),
    ("eyeLookInRight", "eyes", (61, 62)),
    ("eyeLookOutRight", "eyes", (61, 62)),
    ("eyeLookUpRight", "eyes", (63,)),
    ("eyeSquintRight", "eyes", (7,)),
    ("eyeWideRight", "eyes", (5,)),
    ("jawForward", "jaw", (29,)),  # jaw thrust
    ("jawLeft", "jaw", (30,)),  # jaw sideways
    ("jawRight", "jaw", (30,)),
    ("jawOpen", "jaw", (26, 27)),  # jaw drop; mouth stretch at the extreme
    ("mouthClose", "mouth", ()),  # lips together against an open jaw: no single AU
    ("mouthFunnel", "mouth", (22,)),  # lip funneler
    ("mouthPucker", "mouth", (18,)),  # lip pucker
    ("mouthLeft", "mouth", ()),  # both lips sideways: no AU
    ("mouthRight", "mouth", ()),
    ("mouthSmileLeft", "mouth", (12,)),  # lip corner puller
    ("mouthSmileRight", "mouth", (12,)),
    ("mouthFrownLeft", "mouth", (15,)),  # lip corner depressor
    ("mouthFrownRight", "mouth", (15,)),
    ("mouthDimpleLeft", "mouth", (14,)),  # dimpler
    ("mouthDimpleRight", "mouth", (14,)),
    ("mouthStretchLeft", "mouth", (20,)),  # lip stretcher
    ("mouthStretchRight", "mouth", (20,)),
    ("mouthRollLower", "mouth", (28,)),  # lip suck
    ("mouthRollUpper", "mouth", (28,)),
    ("mouthShrugLower", "mouth", (17,)),  # chin raiser
    ("mouthShrugUpper", "mouth", (17,)),
    ("mouthPressLeft", "mouth", (24,)),  # lip presser
    ("mouthPressRight", "mouth", (24,)),
    ("mouthLowerDownLeft", "mouth", (16,)),  # lower lip depressor
    ("mouthLowerDownRight", "mouth", (16,)),
    ("mouthUpperUpLeft", "mouth", (10,)),  # upper lip raiser
    ("mouthUpperUpRight", "mouth", (10,)),
    ("browDownLeft", "brows", (4,)),  # brow lowerer
    ("browDownRight", "brows", (4,)),
    ("browInnerUp", "brows", (1,)),  # inner brow raiser
    ("browOuterUpLeft", "brows", (2,)),  # outer brow raiser
    ("browOuterUpRight", "brows", (2,)),
    ("cheekPuff", "cheeks", (34,)),  # puff
    ("cheekSquintLeft", "cheeks", (6,)),  # cheek raiser
    ("cheekSquintRight", "cheeks", (6,)),
    ("noseSneerLeft", "nose", (9,)),  # nose wrinkler
    ("noseSneerRight", "nose", (9,)),
    ("tongueOut", "tongue", (19,)),  # tongue show
)

BLENDSHAPES: tuple[str, ...] = tuple(name for name, _, _ in _SHAPES)
N_BLENDSHAPES = len(BLENDSHAPES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(BLENDSHAPES)}
REGION: dict[str, str] = {name: region for name, region, _ in _SHAPES}
ACTION_UNITS: dict[str, tuple[int, ...]] = {name: aus for name, _, aus in _SHAPES}


def _mirror_name(name: str) -> str:
    for side, other in (("Left", "Right"), ("Right", "Left")):
        if name.endswith(side):
            return name[: -len(side)] + other
    return name


# Every shape's mirror image: its Left/Right partner, or itself for the centre shapes. jawLeft/jawRight and
# mouthLeft/mouthRight are each other's mirrors too (a sideways move mirrors to the other side).
MIRROR: dict[str, str] = {name: _mirror_name(name) for name in BLENDSHAPES}
MIRROR_INDEX: tuple[int, ...] = tuple(INDEX[MIRROR[name]] for name in BLENDSHAPES)
MIRROR_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (name, MIRROR[name]) for name in BLENDSHAPES if name.endswith("Left")
)

# Live Link Face CSV: PascalCase, with Right before Left for the jaw and mouth side shapes.
LIVE_LINK_BLENDSHAPES: tuple[str, ...] = tuple(
    name[0].upper() + name[1:]
    for name in (
        BLENDSHAPES[:15] + ("jawRight", "jawLeft") + BLENDSHAPES[17:21] + ("mouthRight", "mouthLeft") + BLENDSHAPES[23:]
    )
)
LIVE_LINK_ANGLES = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip

# Head rotation and gaze, radians. Axes: Y up, the face looks along +Z, +X is the character's left.
# Yaw turns about +Y (positive: toward the character's left), pitch about +X (positive: looks down),
# roll about +Z (positive: the head tilts toward the character's right shoulder). Gaze yaw/pitch use the same
# signs per eye; eyes have no roll. Composition: see head_rotation.
HEAD_CHANNELS = ("headYaw", "headPitch", "headRoll")
GAZE_CHANNELS = ("leftEyeYaw", "leftEyePitch", "rightEyeYaw", "rightEyePitch")


def head_rotation(yaw, pitch, roll) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of head (or eye) angles in radians: R = R_y(yaw) @ R_x(pitch) @ R_z(roll)."""
    return euler_to_matrix(np.stack(np.broadcast_arrays(yaw, pitch, roll), -1), "YXZ")


def head_angles(matrix: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll (..., 3) in radians of rotation matrices; the inverse of ``head_rotation``."""
    return matrix_to_euler(matrix, "YXZ")


_BY_LOWER = {name.lower(): name for name in BLENDSHAPES}


def canonical_name(name: str) -> str:
    """The ARKit spelling of a blendshape name given in any capitalisation (e.g. ``JawOpen`` -> ``jawOpen``)."""
    key = re.sub(r"_l$", "left", re.sub(r"_r$", "right", name.strip().lower()))
    canonical = _BY_LOWER.get(key)
    if canonical is None:
        raise KeyError(f"unknown ARKit blendshape {name!r}: expected one of the 52 ARKit names, e.g. 'jawOpen'")
    return canonical


def shapes_with_action_unit(au: int) -> tuple[str, ...]:
    """The blendshapes that express a FACS action unit."""
    return tuple(name for name in BLENDSHAPES if au in ACTION_UNITS[name])

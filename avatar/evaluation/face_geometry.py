"""Face geometry an action unit moves, read from 478 MediaPipe FaceMesh landmarks (image pixels).

Each measure is in inter-ocular distances (iris to iris), along the eye line (x) and across it (y, down), so a head
roll or a zoom does not change it, and each is signed so that its action unit makes it grow:
- inner_brow, outer_brow: the brow above the eye corners' line (AU1, AU2 raise it; AU4 lowers the inner brow);
- brow_gap: the inner brows drawn toward each other (AU4's other half; AU1 lifts the brows and barely draws them
  in, so in fear and sadness, where AU1 and AU4 pull the inner brow up and down at once, this is what shows AU4);
- eye_aperture: the lids apart, upper to lower (AU5 opens, AU7 and AU43 close);
- lower_lid: the lower lid's rise toward the eye corners' line (AU6 pushes the cheek and lid up; AU7 too);
- cheek_raise: the infraorbital cheek's rise toward the eye corners' line (AU6 alone of the lid and cheek AUs);
- corner_raise: the lip corners' rise toward the nose base (AU12 raises them, AU15 lowers them);
- mouth_curve: the lip corners above the middle of the lips (AU12 curves the mouth up, AU15 down; an opening
  jaw carries the corners and the lips' middle down together, so speech moves it less than corner_raise);
- lip_width: corner to corner (AU20 stretches, AU12 widens);
- nose_wrinkle: the nose wings' rise toward the inner eye corners (AU9);
- jaw_drop: chin below the nose base (AU26, AU27).
Used to check that a rendered face shows the action units its track asks for (bench/face_au_geometry.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MEASURES", "au_geometry"]

IRIS = (468, 473)
EYE_CORNERS = (33, 133, 362, 263)  # outer right, inner right, inner left, outer left
INNER_BROW = (107, 66, 55, 65, 336, 296, 285, 295)
INNER_BROW_RIGHT, INNER_BROW_LEFT = (107, 66, 55, 65), (336, 296, 285, 295)
CHEEKS = (118, 119, 347, 348)  # below the lower lids, over the cheekbones (right, right, left, left)
LIPS_MIDDLE = (0, 13, 14, 17)  # the upper lip's top, the inner lips' middles, the lower lip's bottom
OUTER_BROW = (70, 63, 46, 53, 300, 293, 276, 283)
UPPER_LID, LOWER_LID = (159, 386), (145, 374)
LIP_CORNERS = (61, 291)
NOSE_BASE = 2  # the point under the nose tip (subnasale)
NOSE_WINGS = (98, 327)
INNER_CORNERS = (133, 362)
CHIN = 152
MEASURES = (
    "inner_brow",
    "outer_brow",
    "brow_gap",
    "eye_aperture",
    "lower_lid",
    "cheek_raise",
    "corner_raise",
    "mouth_curve",
    "lip_width",
    "nose_wrinkle",
    "jaw_drop",
)


def au_geometry(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """The MEASURES of landmarks (T, 478, 2+) or (478, 2+), each (T,) or a scalar, in inter-ocular distances."""
    points = np.asarray(landmarks, np.float64)[..., :2]
    single = points.ndim == 2
    points = points[None] if single else points
    across = points[:, IRIS[1]] - points[:, IRIS[0]]
    iod = np.linalg.norm(across, axis=1)
    x_axis = across / iod[:, None]
    y_axis = np.stack([-x_axis[:, 1], x_axis[:, 0]], 1)  # the eye line turned a quarter: image down, unrolled

    def y(indices) -> np.ndarray:
        """Mean distance down the face (across the eye line) of some landmarks, in inter-ocular distances."""
        return np.einsum("tnk,tk->t", points[:, list(indices)], y_axis) / len(indices) / iod

    def x(indices) -> np.ndarray:
        """Mean position along the eye line (toward the subject's left) of some landmarks, in inter-ocular distances."""
        return np.einsum("tnk,tk->t", points[:, list(indices)], x_axis) / len(indices) / iod

    corners_line = y(EYE_CORNERS)
    left, right = points[:, LIP_CORNERS[1]], points[:, LIP_CORNERS[0]]
    measures = {
        "inner_brow": corners_line - y(INNER_BROW),
        "outer_brow": corners_line - y(OUTER_BROW),
        "brow_gap": x(INNER_BROW_RIGHT) - x(INNER_BROW_LEFT),
        "eye_aperture": y(LOWER_LID) - y(UPPER_LID),
        "lower_lid": corners_line - y(LOWER_LID),
        "cheek_raise": corners_line - y(CHEEKS),
        "corner_raise": y((NOSE_BASE,)) - y(LIP_CORNERS),
        "mouth_curve": y(LIPS_MIDDLE) - y(LIP_CORNERS),
        "lip_width": np.einsum("tk,tk->t", left - right, x_axis) / iod,
        "nose_wrinkle": y(INNER_CORNERS) - y(NOSE_WINGS),
        "jaw_drop": y((CHIN,)) - y((NOSE_BASE,)),
    }
    return {name: (value[0] if single else value) for name, value in measures.items()}

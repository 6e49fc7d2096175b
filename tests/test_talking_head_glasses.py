"""Glasses on a portrait stay rigid: their frames found, taken off the face and drawn moved by the head alone, while
the skin under them (brows, lids, cheeks) moves with the expression."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from generators.talking_head import Portrait, TalkingHeadRenderer
from generators.talking_head.glasses import BRIDGE_EDGE, bridge_edge, frame_mask
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack

BROW_BOTTOM = (46, 53, 52, 65, 55, 276, 283, 282, 295, 285)  # her lower brow lines: the top of her glasses' frames
NOT_FRAMES = (468, 473, 151, 1, 13, 152)  # the irises, mid-forehead, nose tip, lips, chin


@pytest.fixture(scope="module")
def hopper() -> Portrait:
    return Portrait.load(None)


@pytest.fixture(scope="module")
def renderer(hopper) -> TalkingHeadRenderer:
    return TalkingHeadRenderer(hopper)


def track(head=(0.0, 0.0, 0.0), **named) -> FaceTrack:
    weights = np.zeros((1, 52), np.float32)
    for name, value in named.items():
        weights[0, INDEX[name]] = value
    return FaceTrack(weights, 30.0, np.asarray([head], np.float32))


def at(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    return mask[np.round(points[:, 1]).astype(int), np.round(points[:, 0]).astype(int)]


def core(mask: np.ndarray) -> np.ndarray:
    """The frames' pixels away from their edge (where the layer is opaque)."""
    return cv2.erode((mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def test_frames_are_found_on_grace_hopper_and_not_on_the_astronaut(hopper):
    import skimage.data

    assert bridge_edge(hopper.image, hopper.landmarks) > BRIDGE_EDGE
    mask = frame_mask(hopper.image, hopper.landmarks)
    points = hopper.landmarks[:, :2]
    assert at(mask, points[list(BROW_BOTTOM)]).mean() >= 0.8  # her frames' top, over her brows
    assert at(mask, points[list(NOT_FRAMES)]).max() == 0  # eyes, forehead, nose, mouth, chin stay skin
    assert 0.01 < mask.mean() < 0.06  # thin frames, not the eye region
    astronaut = Portrait.load(skimage.data.astronaut())
    assert bridge_edge(astronaut.image, astronaut.landmarks) < BRIDGE_EDGE
    assert not frame_mask(astronaut.image, astronaut.landmarks).any()


def test_the_brows_move_under_frames_that_stay_put(hopper, renderer):
    neutral = renderer.render(track()).frames[0].astype(np.int16)
    raised = renderer.render(track(browInnerUp=1.0, browOuterUpLeft=1.0, browOuterUpRight=1.0)).frames[0]
    frames = core(renderer.glasses.mask)
    assert (neutral[frames] == hopper.image[frames]).all()  # at rest the frames are the photo's own pixels
    assert (raised[frames] == hopper.image[frames]).all()  # ... and they do not bend with the brows
    # The brows rise, and the skin between the frames and her hat moves with them.
    posed = renderer.rig.pose(track(browInnerUp=1.0, browOuterUpLeft=1.0, browOuterUpRight=1.0)).landmarks[0]
    rest = renderer.rig.neutral_landmarks
    assert (rest[list(BROW_BOTTOM), 1] - posed[list(BROW_BOTTOM), 1]).mean() > 3
    x, y = np.round(hopper.landmarks[151, :2]).astype(int)
    forehead = (slice(y - 12, y + 12), slice(x - 40, x + 40))
    assert np.abs(raised[forehead].astype(np.int16) - neutral[forehead]).mean() > 3


def test_a_turned_head_carries_the_frames_along(hopper, renderer):
    assert renderer._glasses_warp(track(), slice(0, 1)) == [None]  # a still head: the frames where they are
    # Her frames' dark top in the photo: after a turn it is found where the eye corners went, not where it was.
    ys, xs = np.nonzero(core(renderer.glasses.mask) & (hopper.image.mean(2) < 50))
    turned = renderer.render(track(head=(0.25, 0.0, 0.0)))  # yaw
    shift = np.round((turned.landmarks[0] - hopper.landmarks[:, :2])[[33, 133, 362, 263]].mean(0)).astype(int)
    assert abs(shift[0]) > 5

    def dark(dx: int, dy: int) -> float:
        return float((turned.frames[0][ys + dy, xs + dx].mean(1) < 60).mean())

    assert dark(*shift) > 0.65 and dark(0, 0) < 0.45  # (turned in depth, the frames do not all shift alike)
    # Far turned, they still sit on the face (a rigid object turned in depth, not a flat sticker moved).
    far = renderer.render(track(head=(0.7, 0.0, 0.0))).landmarks[0]
    warp = renderer._glasses_warp(track(head=(0.7, 0.0, 0.0)), slice(0, 1))[0]
    assert np.abs(warp[0][[33, 133, 362, 263, 168]] - far[[33, 133, 362, 263, 168]]).max() < 2

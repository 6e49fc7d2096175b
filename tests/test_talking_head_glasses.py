"""Glasses on a portrait stay rigid: found by their bridge, and the warp under them moves with the head alone."""

from __future__ import annotations

import numpy as np
import pytest

from generators.talking_head import Portrait, TalkingHeadRenderer
from generators.talking_head.animate import landmark_loops
from generators.talking_head.glasses import BRIDGE_EDGE, bridge_edge, glasses_share
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack

BROW_BOTTOM = (46, 53, 52, 65, 55)  # her lower brow line: it lies on the top of her glasses' frames


@pytest.fixture(scope="module")
def hopper() -> Portrait:
    return Portrait.load(None)


def track(head=(0.0, 0.0, 0.0), **named) -> FaceTrack:
    weights = np.zeros((1, 52), np.float32)
    for name, value in named.items():
        weights[0, INDEX[name]] = value
    return FaceTrack(weights, 30.0, np.asarray([head], np.float32))


def test_glasses_are_found_on_grace_hopper_and_not_on_the_astronaut(hopper):
    import skimage.data

    assert bridge_edge(hopper.image, hopper.landmarks) > BRIDGE_EDGE
    share = glasses_share(hopper.image, hopper.landmarks)
    assert (share[list(BROW_BOTTOM)] == 1).all() and share[[234, 454, 152, 13]].max() == 0  # ears, chin, lips
    loops = landmark_loops()
    assert share[loops["eye_right"]].max() == 0 and share[468:].max() == 0  # the lids inside the lenses blink
    astronaut = Portrait.load(skimage.data.astronaut())
    assert bridge_edge(astronaut.image, astronaut.landmarks) < BRIDGE_EDGE
    assert not glasses_share(astronaut.image, astronaut.landmarks).any()


def test_the_frames_do_not_bend_with_the_brows_but_turn_with_the_head(hopper):
    renderer = TalkingHeadRenderer(hopper)
    raised = track(browInnerUp=1.0, browOuterUpLeft=1.0, browOuterUpRight=1.0)
    _, points, _ = renderer._warp_points(raised, slice(0, 1))
    rest = hopper.landmarks[:, :2]
    assert np.abs(points[0, list(BROW_BOTTOM)] - rest[list(BROW_BOTTOM)]).max() < 1e-3  # frames stay put
    posed = renderer.rig.pose(raised).landmarks[0, :, :2]
    assert (rest[list(BROW_BOTTOM), 1] - posed[list(BROW_BOTTOM), 1]).mean() > 3  # ... while the brows rise
    # Pixels: the frame's top over her brows is the photo's where the brows rise (without the pinning, it moves).
    window = tuple(slice(int(v) - 4, int(v) + 5) for v in rest[52, ::-1])
    frame = renderer.render(raised).frames[0].astype(np.int16)
    neutral = renderer.render(track()).frames[0].astype(np.int16)
    renderer.rigid_share = np.zeros_like(renderer.rigid_share)
    bent = renderer.render(raised).frames[0].astype(np.int16)
    assert np.abs(frame[window] - neutral[window]).mean() < 0.25 * np.abs(bent[window] - neutral[window]).mean()
    # A turned head carries the glasses along.
    turned = renderer._warp_points(track(head=(0.25, 0.0, 0.0)), slice(0, 1))[1][0]
    assert np.abs(turned[list(BROW_BOTTOM), 0] - rest[list(BROW_BOTTOM), 0]).mean() > 5

"""The talking head's expression rendering beyond the warp: the creases each action unit raises, the calibrated
expressiveness of the emotion-bearing shapes, and the smoothing of a smiling photo's folds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from generators.talking_head import Portrait, TalkingHeadRenderer
from generators.talking_head.animate import EXPRESSIVENESS, expressiveness_gains, landmark_loops
from generators.talking_head.eyes import polygon_mask
from generators.talking_head.shading import ShadingLayer
from generators.talking_head.texture import expression_share, neutral_texture
from rigs.face.arkit import INDEX
from rigs.face.mesh import load_face_mesh
from rigs.face.track import FaceTrack

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def hopper() -> Portrait:
    return Portrait.load(None)


@pytest.fixture(scope="module")
def astronaut() -> Portrait:
    import skimage.data

    return Portrait.load(skimage.data.astronaut())


@pytest.fixture(scope="module")
def layer(hopper) -> ShadingLayer:
    return ShadingLayer(load_face_mesh(), hopper.fit.pixels_per_mm)


def weights(**named) -> np.ndarray:
    out = np.zeros(52, np.float32)
    for name, value in named.items():
        out[INDEX[name]] = value
    return out


def shaded(layer, landmarks, w) -> np.ndarray:
    """The luminance change (grey levels, + brighter) the layer draws on a flat skin-coloured frame."""
    frame = np.full((512, 512, 3), (200, 150, 120), np.uint8)
    layer.draw(frame, landmarks, w)
    return frame.astype(np.float64) @ LUMA - np.array([200, 150, 120]) @ LUMA


def near(landmarks, indices, radius=6.0) -> np.ndarray:
    """Pixels within radius of the given landmarks."""
    yy, xx = np.mgrid[0:512, 0:512]
    points = landmarks[list(indices), :2]
    distance = np.min([np.hypot(xx - x, yy - y) for x, y in points], axis=0)
    return distance < radius


def test_no_weights_draw_nothing(layer, hopper):
    assert np.abs(shaded(layer, hopper.landmarks, weights())).max() == 0
    # Speech alone (jaw, lip opening, closure, blinks) raises no crease.
    speech = weights(jawOpen=0.6, mouthClose=0.2, mouthFunnel=0.5, eyeBlinkLeft=1.0, eyeBlinkRight=1.0)
    assert np.abs(shaded(layer, hopper.landmarks, speech)).max() == 0


@pytest.mark.parametrize("shape, where", [
    ("browDown{side}", (9, 107, 336)),  # furrows between the brows
    ("browInnerUp", (108, 151, 337)),  # lines across the forehead
    ("mouthSmile{side}", (206, 216, 426, 436)),  # the nasolabial folds
    ("cheekSquint{side}", (229, 230, 449, 450)),  # the furrows under the eyes
    ("noseSneer{side}", (6, 197)),  # wrinkles across the nose
    ("mouthFrown{side}", (43, 273)),  # folds down from the mouth corners
    ("mouthShrugLower", (18, 200)),  # the furrow above the chin
])
def test_each_action_unit_darkens_its_own_skin(layer, hopper, shape, where):
    landmarks = hopper.landmarks
    names = [shape.format(side=s) for s in ("Left", "Right")] if "{side}" in shape else [shape]
    half = shaded(layer, landmarks, weights(**{n: 0.5 for n in names}))
    full = shaded(layer, landmarks, weights(**{n: 1.0 for n in names}))
    region = near(landmarks, where, 8.0)
    assert full[region].min() < -8  # a visible fold
    assert full[region].min() < half[region].min() < 0  # deeper as the action unit strengthens
    # ... and nowhere far from the face's middle: creases stay on the face.
    assert np.abs(full[:, :100]).max() == 0 and np.abs(full[:, -100:]).max() == 0


def test_one_sided_shapes_crease_one_side(layer, hopper):
    landmarks = hopper.landmarks
    left = shaded(layer, landmarks, weights(mouthSmileLeft=1.0))
    subject_left, subject_right = near(landmarks, (426, 436), 8.0), near(landmarks, (206, 216), 8.0)
    assert left[subject_left].min() < -8 and np.abs(left[subject_right]).max() < 1


def test_raised_inner_brows_cast_no_brow_shadow(layer):
    shadow = layer.names.index("brow shadow, right")
    lowered = layer.strengths(weights(browDownLeft=0.4, browDownRight=0.4))
    sad = layer.strengths(weights(browDownLeft=0.4, browDownRight=0.4, browInnerUp=0.7))
    assert lowered[shadow] > 0.3 and sad[shadow] == 0


def test_creases_follow_the_face_and_hold_still(hopper):
    renderer = TalkingHeadRenderer(hopper)
    frown = np.zeros((4, 52), np.float32)
    frown[:, [INDEX["browDownLeft"], INDEX["browDownRight"]]] = 0.8
    still = renderer.render(FaceTrack(frown, 30.0, np.zeros((4, 3), np.float32), np.zeros((4, 4), np.float32)))
    assert (still.frames == still.frames[0]).all()  # a held expression does not flicker
    posed = still.landmarks[0]
    yy, xx = np.mgrid[0:512, 0:512]
    furrows = [posed[9] + 0.45 * (posed[k] - posed[9]) for k in (107, 336)]  # where the glabella furrows run
    between = np.min([np.hypot(xx - x, yy - y) for x, y in furrows], axis=0) < 5
    plain = renderer.render(FaceTrack.neutral(1)).frames[0].astype(np.float64) @ LUMA
    assert (still.frames[0].astype(np.float64) @ LUMA)[between].mean() < plain[between].mean() - 3


def test_expressiveness_gains_touch_emotion_shapes_only():
    gains = expressiveness_gains()
    for name in ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "eyeBlinkLeft", "eyeLookUpRight",
                 "mouthUpperUpLeft", "mouthLowerDownRight", "tongueOut"):
        assert gains[INDEX[name]] == 1.0  # speech, blinks and gaze keep the mesh's motion
    assert gains[INDEX["browInnerUp"]] == pytest.approx(EXPRESSIVENESS["brow"])
    assert gains[INDEX["mouthFrownLeft"]] == pytest.approx(EXPRESSIVENESS["mouthFrown"])
    assert np.all(expressiveness_gains(0.0) == 1.0)


def test_expressiveness_moves_the_brows_further(hopper):
    track = FaceTrack(weights(browInnerUp=0.8)[None], 30.0, np.zeros((1, 3), np.float32),
                      np.zeros((1, 4), np.float32))
    plain = TalkingHeadRenderer(hopper, expressiveness=0.0).landmarks(track)[0]
    calibrated = TalkingHeadRenderer(hopper).landmarks(track)[0]
    rest = hopper.landmarks[:, :2]
    lift = lambda points: (rest[107, 1] - points[107, 1])  # noqa: E731 (the inner brow moves up: y falls)
    assert lift(calibrated) == pytest.approx(EXPRESSIVENESS["brow"] * lift(plain), rel=0.05)
    assert np.abs(calibrated[[1, 152, 61, 291]] - rest[[1, 152, 61, 291]]).max() < 0.5  # nose, chin, lips stay


def test_a_neutral_photo_keeps_its_skin(hopper):
    assert expression_share(hopper.expression) == 0.0
    assert neutral_texture(hopper.image, hopper.landmarks, hopper.expression, 1.4) is hopper.image


def test_a_smiling_photo_loses_its_folds_not_its_features(astronaut):
    assert expression_share(astronaut.expression) > 0.8
    smooth = neutral_texture(astronaut.image, astronaut.landmarks, astronaut.expression,
                             astronaut.fit.pixels_per_mm)
    before, after = (image.astype(np.float64) @ LUMA for image in (astronaut.image, smooth))
    landmarks = astronaut.landmarks
    folds = near(landmarks, (206, 216, 426, 436), 6.0)
    # The folds' shading (its difference from the cheek's broad light) shrinks.
    local = lambda luma: luma - cv2.GaussianBlur(luma, (0, 0), 12.0)  # noqa: E731
    assert np.abs(local(after)[folds]).mean() < 0.6 * np.abs(local(before)[folds]).mean()
    # The eyes, the lips and everything off the face are the photo's.
    loops = landmark_loops()
    kept = np.zeros((512, 512), bool)
    for name in ("eye_left", "eye_right", "lips_inner"):
        kept |= polygon_mask(landmarks[loops[name], :2], (0, 0), (512, 512)) > 0.5
    assert np.abs(after[kept] - before[kept]).max() <= 1
    assert np.array_equal(smooth[:60], astronaut.image[:60])


def test_creases_take_the_colour_of_the_skin_they_are_on(hopper):
    w = weights(browInnerUp=1.0, browDownLeft=0.8, browDownRight=0.8)
    region = near(hopper.landmarks, (9, 107, 336, 108, 151, 337), 10.0)
    changes = {}
    for colour in ((200, 150, 120), (160, 160, 160)):  # warm skin, a black-and-white photo
        photo = np.full((512, 512, 3), colour, np.uint8)
        layer = ShadingLayer(load_face_mesh(), hopper.fit.pixels_per_mm, image=photo)
        frame = photo.copy()
        layer.draw(frame, hopper.landmarks, w)
        changes[colour] = (frame.astype(np.float64) - colour)[region].min(0)  # per channel, the deepest
    red, green, blue = changes[(200, 150, 120)] / np.array([200, 150, 120])
    assert blue < green < red < 0  # on warm skin the shadow deepens its hue: blue falls most, red least
    grey = changes[(160, 160, 160)]
    assert grey.max() < -5 and np.ptp(grey) <= 1  # on a grey photo, a grey fold


def test_a_crease_fades_toward_its_ends(layer, hopper):
    line = layer.names.index("forehead line, inner, right")
    path = layer.paths[line]
    landmarks = hopper.landmarks
    drawn = shaded(layer, landmarks, weights(browInnerUp=1.0))
    nodes = landmarks[layer.starts[path], :2] + layer.shares[path] * (
        landmarks[layer.ends[path], :2] - landmarks[layer.starts[path], :2])
    middle, end = nodes[len(nodes) // 2], nodes[0]
    depth = [drawn[int(round(p[1])) - 2:int(round(p[1])) + 3, int(round(p[0])) - 2:int(round(p[0])) + 3].min()
             for p in (middle, end)]
    assert depth[0] < depth[1] < 0  # deepest in its middle, fainter at its end


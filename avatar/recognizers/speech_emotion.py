"""Speech emotion recognition: EmoDB's seven classes from acoustic functionals, per window and per utterance.

The model is an ensemble of small MLPs over the functionals of `ser_features` (standardised with the training
set's mean and standard deviation, stored in the checkpoint). Two readings of a clip:
- the timeline: windows of WINDOW_S seconds every HOP_S seconds (a clip shorter than a window is one window; a
  last window ends at the clip's end when the hop leaves a tail), each with its own probabilities;
- the utterance: the clip read whole, as the model was trained on whole 2-s clips. A clip of up to ~3 s is one
  segment; a longer one is cut into round(duration / SEGMENT_S) equal segments of about 2 s, and the utterance
  gets the mean of their probabilities (reading 2 s whole beats averaging 1.5-s windows by ~2 points of UAR).
The seven EmoDB classes are mapped to the engine's eight categories and valence/arousal/dominance by
`avatar.emotion.vocabularies.from_emodb` (boredom -> neutral and sadness, with its own low arousal).

    ser = SpeechEmotionRecognizer.from_pretrained()          # checkpoints/ser-emodb
    result = ser.predict(load_audio("take.wav"))
    result.utterance.label, result.utterance.arousal, [w.label for w in result.windows]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from avatar.emotion.vocabularies import EMODB_LABELS, from_emodb
from avatar.errors import InputError
from avatar.frontend.audio import Audio, check_audio, load_audio
from avatar.frontend.features import ANALYSIS_FPS
from avatar.recognizers.ser_features import (
    HOP_S,
    N_FEATURES,
    SEGMENT_S,
    WINDOW_S,
    Frames,
    analyse,
    segment_bounds,
    span_features,
    window_bounds,
)
from generators.conditioning import EMOTIONS
from rigs.fileio import atomic_path, write_text_atomic

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "ser-emodb"
TRAIN_COMMAND = "avatar train ser --data ../shared/data/emodb -o checkpoints/ser-emodb"
MODEL_TYPE = "ser-mlp-ensemble"
FEATURES_VERSION = 1  # bump when ser_features changes what a feature vector means


@dataclass(frozen=True)
class SpeechEmotion:
    """What one stretch of speech expresses: EmoDB's seven probabilities and the engine's eight categories."""

    start: float  # seconds
    end: float
    emodb: dict[str, float]  # over EMODB_LABELS, summing to 1
    emodb_label: str  # the most probable EmoDB class
    probs: dict[str, float]  # over EMOTIONS (the engine's eight categories), summing to 1
    label: str  # the most probable of the eight
    valence: float  # in [-1, 1]
    arousal: float
    dominance: float

    @property
    def categories(self) -> np.ndarray:
        """The eight category probabilities as float32 in EMOTIONS order."""
        return np.array([self.probs[name] for name in EMOTIONS], np.float32)

    @property
    def emodb_vector(self) -> np.ndarray:
        """The seven EmoDB probabilities as float32 in EMODB_LABELS order."""
        return np.array([self.emodb[name] for name in EMODB_LABELS], np.float32)


@dataclass(frozen=True)
class SpeechEmotionResult:
    """Per-window emotions of a clip (windows of WINDOW_S every HOP_S) and the whole utterance's."""

    utterance: SpeechEmotion
    windows: list[SpeechEmotion]

    @property
    def matrix(self) -> np.ndarray:
        """Per-window category probabilities, float32 (n_windows, 8) in EMOTIONS order."""
        return np.stack([w.categories for w in self.windows])

    @property
    def times(self) -> np.ndarray:
        """(n_windows, 2) start and end of each window in seconds."""
        return np.array([(w.start, w.end) for w in self.windows])


class MLPEnsemble(torch.nn.Module):
    """M one-hidden-layer MLPs side by side over standardised features; predicts the mean of their softmaxes."""

    def __init__(self, n_features: int, hidden: int, members: int, n_classes: int = len(EMODB_LABELS),
                 dropout: float = 0.3):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        bound1, bound2 = n_features**-0.5, hidden**-0.5  # torch.nn.Linear's default initialisation range
        self.w1 = torch.nn.Parameter(torch.empty(members, n_features, hidden).uniform_(-bound1, bound1))
        self.b1 = torch.nn.Parameter(torch.empty(members, 1, hidden).uniform_(-bound1, bound1))
        self.w2 = torch.nn.Parameter(torch.empty(members, hidden, n_classes).uniform_(-bound2, bound2))
        self.b2 = torch.nn.Parameter(torch.empty(members, 1, n_classes).uniform_(-bound2, bound2))
        self.dropout = torch.nn.Dropout(dropout)  # on the hidden layer, in training only

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(M, N, classes) logits of each member for (M, N, features) or (N, features) raw features."""
        z = (x - self.feature_mean) / self.feature_std
        if z.dim() == 2:
            z = z.expand(self.w1.shape[0], *z.shape)
        h = torch.nn.functional.gelu(torch.baddbmm(self.b1, z, self.w1))
        return torch.baddbmm(self.b2, self.dropout(h), self.w2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, classes) ensemble probabilities for (N, features) raw features."""
        return torch.softmax(self.logits(x), dim=-1).mean(0)


class SpeechEmotionRecognizer:
    """EmoDB-trained speech emotion recognizer; load with from_pretrained, run with predict."""

    def __init__(self, model: MLPEnsemble, config: dict):
        self.model = model.eval()
        self.config = config

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None) -> SpeechEmotionRecognizer:
        """Load a checkpoint folder (config.json + model.safetensors); default: the shipped checkpoints/ser-emodb."""
        folder = Path(path) if path is not None else DEFAULT_CHECKPOINT
        missing = [name for name in ("config.json", "model.safetensors") if not (folder / name).is_file()]
        if missing:
            raise InputError(
                f"Speech emotion checkpoint '{folder}' lacks {' and '.join(missing)}. Give the folder of a trained "
                f"checkpoint, or train one with `{TRAIN_COMMAND}`."
            )
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != MODEL_TYPE or config.get("features_version") != FEATURES_VERSION:
            raise InputError(
                f"Speech emotion checkpoint '{folder}' is a {config.get('model_type')!r} model with features "
                f"version {config.get('features_version')!r}; this code reads {MODEL_TYPE!r} version "
                f"{FEATURES_VERSION}. Retrain it with `{TRAIN_COMMAND}`."
            )
        model = MLPEnsemble(config["n_features"], config["hidden"], config["members"])
        model.load_state_dict(load_file(folder / "model.safetensors"))
        return cls(model, config)

    def save_pretrained(self, path: str | os.PathLike) -> Path:
        """Write config.json and model.safetensors into the folder `path` (created if needed), atomically."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: t.detach().contiguous() for name, t in self.model.state_dict().items()}
        with atomic_path(folder / "model.safetensors") as tmp:
            save_file(tensors, str(tmp), metadata={"format": "pt", "labels": ",".join(EMODB_LABELS)})
        write_text_atomic(folder / "config.json", json.dumps(self.config, indent=2) + "\n")
        return folder

    def predict(self, audio: Audio | str | os.PathLike) -> SpeechEmotionResult:
        """Emotions of a clip (an Audio, or a path to an audio file), per window and for the whole utterance."""
        audio = load_audio(audio) if isinstance(audio, str | os.PathLike) else check_audio(audio)
        return self.predict_frames(analyse(audio), audio.duration)

    def predict_frames(self, frames: Frames, duration: float) -> SpeechEmotionResult:
        """Emotions from a clip's frame analysis (what predict does after `analyse`; training evaluates this)."""
        windows = window_bounds(len(frames))
        probs = self.window_probabilities(span_features(frames, windows))
        utterance = self.utterance_probabilities(frames)
        spans = [(a / ANALYSIS_FPS, min(b / ANALYSIS_FPS, duration)) for a, b in windows]
        emotions = _emotions(np.vstack([probs, utterance]), [*spans, (0.0, duration)])
        return SpeechEmotionResult(utterance=emotions[-1], windows=emotions[:-1])

    def utterance_probabilities(self, frames: Frames) -> np.ndarray:
        """(7,) EmoDB probabilities of a whole clip: the mean over its segments of about SEGMENT_S, each read whole."""
        return self.window_probabilities(span_features(frames, segment_bounds(len(frames)))).mean(0)

    def window_probabilities(self, features: np.ndarray) -> np.ndarray:
        """(N, 7) EmoDB probabilities for (N, N_FEATURES) functionals of windows or segments."""
        with torch.no_grad():
            return self.model(torch.from_numpy(np.asarray(features, np.float32))).numpy().astype(np.float64)


def _emotions(emodb_probs: np.ndarray, spans: list[tuple[float, float]]) -> list[SpeechEmotion]:
    """SpeechEmotion for each row of (N, 7) EmoDB probabilities, with its time span."""
    categories, vad = from_emodb(emodb_probs)
    out = []
    for p, c, v, (start, end) in zip(emodb_probs, categories, vad, spans, strict=True):
        out.append(SpeechEmotion(
            start=float(start), end=float(end),
            emodb={name: float(x) for name, x in zip(EMODB_LABELS, p, strict=True)},
            emodb_label=EMODB_LABELS[int(np.argmax(p))],
            probs={name: float(x) for name, x in zip(EMOTIONS, c, strict=True)},
            label=EMOTIONS[int(np.argmax(c))],
            valence=float(v[0]), arousal=float(v[1]), dominance=float(v[2]),
        ))
    return out


def model_config(hidden: int, members: int, **extra) -> dict:
    """The config.json of a recognizer: architecture, labels, windowing, and whatever training adds."""
    return {
        "model_type": MODEL_TYPE,
        "features_version": FEATURES_VERSION,
        "labels": list(EMODB_LABELS),
        "sample_rate": 16_000,
        "window_s": WINDOW_S,
        "hop_s": HOP_S,
        "segment_s": SEGMENT_S,
        "utterance": "mean of the probabilities of max(1, round(duration / segment_s)) equal segments, each read whole",
        "n_features": N_FEATURES,
        "hidden": hidden,
        "members": members,
        **extra,
    }

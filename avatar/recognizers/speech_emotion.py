"""Speech emotion recognition: the engine's categories and valence/arousal/dominance, per window and per utterance.

The model (`ser_model.SpeechEmotionMLP`, trained by `train_ser` on RAVDESS, CREMA-D, TESS and EmoDB) reads the
functionals (`ser_functionals`) of log-mel spectra of a stretch of speech and the statistics of its pitch, voicing
and loudness (`ser_prosody`). Its head has one class per corpus
label (HEAD_LABELS: our categories without contempt, plus calm and boredom), mapped to our eight categories by
`ser_corpus.head_to_categories` (calm -> neutral; boredom -> 60 % neutral + 40 % sadness); valence, arousal and
dominance come from its own regression head. A checkpoint trained with `--cnn-steps` also holds a log-mel CNN
(`ser_cnn`); its probabilities and VAD of each span are averaged with the MLPs'. Two readings of a clip:
- the windows: WINDOW_S seconds every HOP_S seconds (a clip shorter than a window is one window; a last window
  ends at the clip's end when the hop leaves a tail), and from them the timeline on a frame clock (`read`): each
  frame the confidence-weighted mean of the windows that hold it, a window counting as much as its top
  probability;
- the utterance: the clip cut into max(1, round(duration / SEGMENT_S)) equal segments, each read whole (as the
  training clips were), their probabilities and VAD averaged.
Audio streams through in blocks of BLOCK_S seconds (a file path is decoded block by block too): the log-mel and
the pitch track are computed block by block, each window and segment is read as soon as its frames are in, and
frames no longer needed are dropped, so memory is bounded however long the input.

    ser = SpeechEmotionRecognizer.from_pretrained()          # checkpoints/ser
    ser.read("take.wav", fps=30)                              # EmotionTimeline: per frame at 30 fps, with VAD
    result = ser.predict("take.wav")
    result.utterance.label, result.utterance.arousal, [w.label for w in result.windows]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import tee
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from safetensors.torch import load_file, save_file

from avatar.emotion.timeline import EmotionTimeline
from avatar.emotion.windows import WindowReadings, equal_parts, sliding_windows, spread
from avatar.errors import InputError
from avatar.frontend.audio import SILENCE_PEAK, SUPPORTED, Audio, check_audio
from avatar.recognizers.ser_cnn import EMBED, SpeechEmotionCNN
from avatar.recognizers.ser_corpus import HEAD_LABELS, head_to_categories
from avatar.recognizers.ser_functionals import N_FEATURES, functionals
from avatar.recognizers.ser_logmel import FPS, N_MELS, SAMPLE_RATE, log_mel, mel_power_stream, n_frames
from avatar.recognizers.ser_model import SpeechEmotionMLP
from avatar.recognizers.ser_prosody import N_PROSODY, TRACK_COLUMNS, pitch_track_stream, prosody_functionals
from generators.conditioning import EMOTIONS
from rigs.clock import check_fps, frame_count
from rigs.fileio import atomic_path, write_text_atomic
from rigs.paths import SHARED_DATA_HINT, checkpoint

DEFAULT_CHECKPOINT = checkpoint("ser")
TRAIN_COMMAND = f"avatar train ser --data {SHARED_DATA_HINT}/ser -o checkpoints/ser"
MODEL_TYPE = "ser-logmel-functionals-mlp"
MODEL_VERSION = 2  # bump when the features or the network's meaning change (2: prosody added)
WINDOW_S = 1.5  # the timeline: windows this long...
HOP_S = 0.5  # ...starting this far apart
SEGMENT_S = 4.0  # the utterance: read in segments of about this long (most training clips are 2-4 s)
BLOCK_S = 60.0  # audio in memory streams through in blocks this long
MIN_SAMPLES = int(0.3 * SAMPLE_RATE)
N_INPUTS = N_FEATURES + N_PROSODY  # the network's input: log-mel functionals, then prosody
CNN_BATCH = 32  # spans the CNN reads at once (bounded memory, far fewer calls)
CNN_FILE = "cnn.safetensors"  # the log-mel CNN beside the MLPs, in a checkpoint trained with one


def span_features(frames: np.ndarray) -> np.ndarray:
    """The network's input for a span of frames (T, N_MELS + TRACK_COLUMNS): log-mel, then the pitch track."""
    return np.concatenate([functionals(frames[:, :N_MELS]), prosody_functionals(frames[:, N_MELS:])])


def frame_stream(sample_blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Frames (log-mel and pitch track side by side) of 16 kHz audio arriving in blocks, in bounded memory."""
    for_mel, for_pitch = tee(sample_blocks)  # the two consumers stay within a block of each other
    mels = (log_mel(p) for p in mel_power_stream(for_mel))
    tracks = pitch_track_stream(for_pitch, int(BLOCK_S * SAMPLE_RATE))
    mel, track = np.zeros((0, N_MELS), np.float32), np.zeros((0, TRACK_COLUMNS), np.float32)
    mels_done = tracks_done = False
    while not (mels_done and tracks_done):
        if not mels_done and (len(mel) <= len(track) or tracks_done):
            piece = next(mels, None)
            mels_done = piece is None
            mel = mel if mels_done else np.concatenate([mel, piece])
        else:
            piece = next(tracks, None)
            tracks_done = piece is None
            track = track if tracks_done else np.concatenate([track, piece])
        n = min(len(mel), len(track))
        if n:
            yield np.hstack([mel[:n], track[:n]])
            mel, track = mel[n:], track[n:]


@dataclass(frozen=True)
class SpeechEmotion:
    """What one stretch of speech expresses: the model's class probabilities and the engine's eight categories."""

    start: float  # seconds
    end: float
    classes: dict[str, float]  # over HEAD_LABELS, summing to 1
    probs: dict[str, float]  # over EMOTIONS (the engine's eight categories), summing to 1; contempt is 0
    label: str  # the most probable of the eight
    valence: float  # in [-1, 1]
    arousal: float
    dominance: float

    @property
    def categories(self) -> np.ndarray:
        """The eight category probabilities as float32 in EMOTIONS order."""
        return np.array([self.probs[name] for name in EMOTIONS], np.float32)

    @property
    def class_vector(self) -> np.ndarray:
        """The head's class probabilities as float32 in HEAD_LABELS order."""
        return np.array([self.classes[name] for name in HEAD_LABELS], np.float32)


@dataclass(frozen=True)
class SpeechEmotionResult(WindowReadings):
    """Per-window emotions of a clip (windows of WINDOW_S every HOP_S) and the whole utterance's."""

    utterance: SpeechEmotion
    windows: list[SpeechEmotion]

    def timeline(self, fps: float) -> EmotionTimeline:
        """The windows on the frame clock at fps over the clip (module doc), with their VAD."""
        vad = [(w.valence, w.arousal, w.dominance) for w in self.windows]
        return spread(
            self.times, self.matrix, self.matrix.max(1), frame_count(self.utterance.end, fps), fps, vad, "speech window"
        )


class SpeechEmotionRecognizer:
    """The speech emotion recognizer; load with from_pretrained; read gives the timeline on a frame clock, predict
    the windows and the utterance."""

    def __init__(self, model: SpeechEmotionMLP, config: dict, cnn: SpeechEmotionCNN | None = None):
        self.model = model.eval()
        self.cnn = cnn.eval() if cnn is not None else None  # when given, its readings are averaged with the MLPs'
        self.config = config
        self._to_categories = head_to_categories()

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None) -> SpeechEmotionRecognizer:
        """Load a checkpoint folder (config.json + model.safetensors); default: the shipped checkpoints/ser."""
        folder = Path(path) if path is not None else DEFAULT_CHECKPOINT
        missing = [name for name in ("config.json", "model.safetensors") if not (folder / name).is_file()]
        if missing:
            raise InputError(
                f"Speech emotion checkpoint '{folder}' lacks {' and '.join(missing)}. Give the folder of a trained "
                f"checkpoint, or train one with `{TRAIN_COMMAND}`."
            )
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != MODEL_TYPE or config.get("model_version") != MODEL_VERSION:
            raise InputError(
                f"Speech emotion checkpoint '{folder}' is a {config.get('model_type')!r} model, version "
                f"{config.get('model_version')!r}; this code reads {MODEL_TYPE!r} version {MODEL_VERSION}. "
                f"Retrain it with `{TRAIN_COMMAND}`."
            )
        net = config["network"]
        model = SpeechEmotionMLP(N_INPUTS, len(HEAD_LABELS), net["hidden"], net["members"])
        model.load_state_dict(load_file(folder / "model.safetensors"))
        cnn = None
        if "cnn" in net:
            if not (folder / CNN_FILE).is_file():
                raise InputError(
                    f"Speech emotion checkpoint '{folder}' lacks {CNN_FILE}, which its config.json names. Copy the "
                    f"whole checkpoint folder, or train one with `{TRAIN_COMMAND}`."
                )
            cnn = SpeechEmotionCNN(len(HEAD_LABELS), net["cnn"]["embed"])
            cnn.load_state_dict(load_file(folder / CNN_FILE))
        return cls(model, config, cnn)

    def save_pretrained(self, path: str | os.PathLike) -> Path:
        """Write config.json and model.safetensors into the folder `path` (created if needed), atomically."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: t.detach().contiguous() for name, t in self.model.state_dict().items()}
        with atomic_path(folder / "model.safetensors") as tmp:
            save_file(tensors, str(tmp), metadata={"format": "pt", "labels": ",".join(HEAD_LABELS)})
        if self.cnn is not None:
            tensors = {name: t.detach().contiguous() for name, t in self.cnn.state_dict().items()}
            with atomic_path(folder / CNN_FILE) as tmp:
                save_file(tensors, str(tmp), metadata={"format": "pt", "labels": ",".join(HEAD_LABELS)})
        write_text_atomic(folder / "config.json", json.dumps(self.config, indent=2) + "\n")
        return folder

    def read(self, audio: Audio | str | os.PathLike, fps: float) -> EmotionTimeline:
        """The emotion of a clip (an Audio, or a path to an audio file) per frame at fps, with VAD."""
        fps = check_fps(fps)
        return self.predict(audio).timeline(fps)

    def predict(self, audio: Audio | str | os.PathLike) -> SpeechEmotionResult:
        """Emotions of a clip (an Audio, or a path to an audio file), per window and for the whole utterance."""
        if isinstance(audio, str | os.PathLike):
            return _read_file(self, Path(audio))
        audio = check_audio(audio).resampled(SAMPLE_RATE)
        step = int(BLOCK_S * SAMPLE_RATE)
        blocks = (audio.samples[i : i + step] for i in range(0, len(audio.samples), step))
        return self.predict_stream(frame_stream(blocks), len(audio.samples))

    def predict_stream(self, frame_blocks: Iterable[np.ndarray], n_samples: int) -> SpeechEmotionResult:
        """Emotions of a stream of frame blocks (`frame_stream`) of n_samples of audio."""
        duration = n_samples / SAMPLE_RATE
        windows = sliding_windows(n_frames(n_samples), FPS, WINDOW_S, HOP_S)
        probs, vad = self.read_spans(frame_blocks, windows + equal_parts(n_frames(n_samples), FPS, SEGMENT_S))
        k = len(windows)
        utterance = _emotion(probs[k:].mean(0), vad[k:].mean(0), 0.0, duration, self._to_categories)
        # The last frame is centred on the clip's end: a span ending there ends at `duration`, its length kept.
        emotions = [
            _emotion(
                p, v, max(min(a / FPS, duration - (b - a) / FPS), 0.0), min(b / FPS, duration), self._to_categories
            )
            for p, v, (a, b) in zip(probs[:k], vad[:k], windows, strict=True)
        ]
        return SpeechEmotionResult(utterance=utterance, windows=emotions)

    def read_spans(
        self, frame_blocks: Iterable[np.ndarray] | np.ndarray, spans: list[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities (N, classes) and VAD (N, 3) of spans of frames (`frame_stream`) given in blocks (or
        whole).

        Each span is read as soon as its frames are in; frames no span needs any more are dropped, so memory stays
        bounded however long the input.
        """
        order = sorted(range(len(spans)), key=lambda i: spans[i][1])
        features = np.zeros((len(spans), N_INPUTS), np.float32)
        cnn_probs, cnn_vad = np.zeros((len(spans), len(HEAD_LABELS))), np.zeros((len(spans), 3))
        waiting: dict[int, list[tuple[int, np.ndarray]]] = {}  # the CNN's spans by length, read CNN_BATCH at a time
        mel, mel_start, done = np.zeros((0, N_MELS + TRACK_COLUMNS), np.float32), 0, 0
        blocks = iter([frame_blocks] if isinstance(frame_blocks, np.ndarray) else frame_blocks)
        while done < len(spans):
            block = next(blocks, None)
            if block is not None:
                mel = np.concatenate([mel, np.asarray(block, np.float32)])
            end = mel_start + len(mel)
            while done < len(spans) and (spans[order[done]][1] <= end or block is None):
                a, b = spans[order[done]]
                span = mel[a - mel_start : min(b, end) - mel_start]
                features[order[done]] = span_features(span)
                if self.cnn is not None:
                    batch = waiting.setdefault(len(span), [])
                    batch.append((order[done], span[:, :N_MELS].copy()))
                    if len(batch) == CNN_BATCH:
                        self._read_cnn(waiting.pop(len(span)), cnn_probs, cnn_vad)
                done += 1
            keep_from = min((spans[i][0] for i in order[done:]), default=end)
            mel, mel_start = mel[keep_from - mel_start :], keep_from
        for batch in waiting.values():
            self._read_cnn(batch, cnn_probs, cnn_vad)
        with torch.no_grad():
            probs, vad = self.model(torch.from_numpy(features))
        probs, vad = probs.numpy().astype(np.float64), vad.numpy().astype(np.float64)
        if self.cnn is None:
            return probs, vad
        return (probs + cnn_probs) / 2, (vad + cnn_vad) / 2

    def _read_cnn(self, batch: list[tuple[int, np.ndarray]], probs: np.ndarray, vad: np.ndarray) -> None:
        """Write the CNN's class probabilities and VAD of spans of one length, (row, log-mel (T, N_MELS)), into
        those rows of probs and vad. One batch of equal lengths needs no padding: each span reads as it would
        alone."""
        rows = [row for row, _ in batch]
        with torch.no_grad():
            x = torch.from_numpy(np.stack([logmel for _, logmel in batch]).astype(np.float32, copy=False))
            p, v = self.cnn(x, torch.ones(x.shape[:2], dtype=torch.bool))
        probs[rows], vad[rows] = p.numpy(), v.numpy()


def _emotion(probs: np.ndarray, vad: np.ndarray, start: float, end: float, to_categories: np.ndarray) -> SpeechEmotion:
    categories = probs @ to_categories
    return SpeechEmotion(
        start=float(start),
        end=float(end),
        classes={name: float(p) for name, p in zip(HEAD_LABELS, probs, strict=True)},
        probs={name: float(p) for name, p in zip(EMOTIONS, categories, strict=True)},
        label=EMOTIONS[int(np.argmax(categories))],
        valence=float(vad[0]),
        arousal=float(vad[1]),
        dominance=float(vad[2]),
    )


def _read_file(recognizer: SpeechEmotionRecognizer, path: Path) -> SpeechEmotionResult:
    """predict for an audio file, decoded and resampled block by block; the same clear errors as load_audio."""
    if not path.exists():
        raise InputError(f"Audio file '{path}' does not exist. Check the path and try again.")
    if not path.is_file():
        raise InputError(f"Audio path '{path}' is not a file. Give the path of a {SUPPORTED} file.")
    try:
        with sf.SoundFile(path) as f:
            n_samples = round(f.frames * SAMPLE_RATE / f.samplerate)
            if n_samples < MIN_SAMPLES:  # too short: load_audio's check names the problem and the fix
                check_audio(Audio(np.zeros(max(n_samples, 1), np.float32), SAMPLE_RATE, str(path)))
            peak = [0.0]

            def blocks() -> Iterator[np.ndarray]:
                stream = soxr.ResampleStream(f.samplerate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
                produced = 0
                while produced < n_samples:
                    raw = f.read(1 << 18, dtype="float32", always_2d=True)
                    block = stream.resample_chunk(raw.mean(1), last=len(raw) < 1 << 18)
                    block = block[: n_samples - produced]
                    if not np.isfinite(block).all():
                        raise InputError(
                            f"Audio '{path}' contains NaN or infinite samples. Re-export it from "
                            "your editor as 16-bit or float PCM."
                        )
                    peak[0] = max(peak[0], float(np.abs(block).max(initial=0.0)))
                    produced += len(block)
                    yield block
                    if len(raw) < 1 << 18:
                        break
                if produced < n_samples:
                    yield np.zeros(n_samples - produced, np.float32)

            result = recognizer.predict_stream(frame_stream(blocks()), n_samples)
    except (sf.LibsndfileError, RuntimeError, ValueError) as error:
        raise InputError(
            f"Audio file '{path}' could not be decoded ({error}). It may be corrupt or in an "
            f"unsupported format: convert it to {SUPPORTED}."
        ) from None
    if peak[0] < SILENCE_PEAK:
        check_audio(Audio(np.zeros(n_samples, np.float32), SAMPLE_RATE, str(path)))
    return result


def model_config(training: dict, results: dict | None = None) -> dict:
    """The config.json of a recognizer: model type, labels, reading, network size, training and its results."""
    return {
        "model_type": MODEL_TYPE,
        "model_version": MODEL_VERSION,
        "labels": list(HEAD_LABELS),
        "sample_rate": SAMPLE_RATE,
        "window_s": WINDOW_S,
        "hop_s": HOP_S,
        "segment_s": SEGMENT_S,
        "n_features": N_INPUTS,
        "network": {
            **{name: training[name] for name in ("hidden", "members")},
            **({"cnn": {"embed": EMBED}} if training.get("cnn_steps") else {}),
        },
        "training": training,
        "results": results or {},
    }

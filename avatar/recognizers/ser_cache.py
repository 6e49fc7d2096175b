"""Log-mel of every corpus clip, decoded once and kept on disk, so every fold and run reuses them.

Copy 0 is each clip as recorded; copies 1..n are `ser_augment.degrade`d (speed perturbation and a random channel),
each drawn from a seed fixed by the clip's position and the copy, so a cache is the same on every machine. Each copy
is one float16 array (all clips' frames end to end) with per-clip offsets; the folder also holds the noise bank and
the pitch tracks (`ser_prosody.pitch_track`) of the same copies on the same frames.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from avatar.recognizers.ser_augment import SPEED_RANGE, degrade, noise_bank
from avatar.recognizers.ser_corpus import Clip
from avatar.recognizers.ser_logmel import N_MELS, SAMPLE_RATE, log_mel, mel_power
from avatar.recognizers.ser_prosody import TRACK_COLUMNS, pitch_track
from rigs.fileio import atomic_path, write_text_atomic

CACHE_VERSION = 1  # bump when the log-mel or the degradations change
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class MelCache:
    """Log-mel (float16) of each clip in each copy: `clip(i, copy)` is a (T, N_MELS) array."""

    arrays: list[np.ndarray]  # per copy, (total frames, N_MELS)
    offsets: np.ndarray  # (copies, clips + 1)
    bank: np.ndarray  # noise bank, mel power
    folder: Path  # where the arrays live (trained models are kept beside them)
    tracks: list[np.ndarray]  # per copy, (total frames, TRACK_COLUMNS) pitch tracks on the log-mel's frames

    def clip(self, i: int, copy: int = 0) -> np.ndarray:
        return self.arrays[copy][self.offsets[copy, i] : self.offsets[copy, i + 1]]

    def track(self, i: int, copy: int = 0) -> np.ndarray:
        return self.tracks[copy][self.offsets[copy, i] : self.offsets[copy, i + 1]]

    def length(self, i: int, copy: int = 0) -> int:
        return int(self.offsets[copy, i + 1] - self.offsets[copy, i])

    @property
    def copies(self) -> int:
        return len(self.arrays)


def _key(clips: list[Clip], copies: int) -> str:
    listing = "\n".join(f"{c.path.name},{c.label},{c.speaker}" for c in clips)
    return hashlib.sha256(f"{CACHE_VERSION}\n{copies}\n{listing}".encode()).hexdigest()[:16]


def read_samples(path: Path) -> np.ndarray:
    """A corpus clip as 16 kHz mono float32 (the shared copies are 16 kHz mono already)."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path} is {rate} Hz; the corpora folder must hold 16 kHz clips")
    return samples.mean(1)


def _copy_samples(samples: np.ndarray, i: int, copy: int) -> np.ndarray:
    """Copy `copy` of clip i: as recorded (0) or degraded with the seed of (clip, copy)."""
    return samples if copy == 0 else degrade(samples, np.random.default_rng([i, copy]))


def build_cache(
    clips: list[Clip], folder: str | Path, copies: int = 3, progress: Progress | None = None, with_tracks: bool = True
) -> MelCache:
    """The cache of `clips` in `folder`: read if it was built for the same clips and copies, else built (the pitch
    tracks only `with_tracks`: a model of the log-mel alone needs none)."""
    folder = Path(folder) / _key(clips, copies)
    index = folder / "index.json"
    if not index.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        offsets = np.zeros((copies, len(clips) + 1), np.int64)
        parts: list[list[np.ndarray]] = [[] for _ in range(copies)]
        for i, clip in enumerate(clips):
            samples = read_samples(clip.path)
            for copy in range(copies):
                y = _copy_samples(samples, i, copy)
                mel = log_mel(mel_power(y)).astype(np.float16)
                parts[copy].append(mel)
                offsets[copy, i + 1] = offsets[copy, i] + len(mel)
            if progress and (i % 100 == 0 or i + 1 == len(clips)):
                progress("log-mel cache", (i + 1) / len(clips))
        for copy in range(copies):
            with atomic_path(folder / f"copy{copy}.npy") as tmp, open(tmp, "wb") as f:
                np.save(f, np.concatenate(parts[copy]))
            parts[copy] = []
        with atomic_path(folder / "bank.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, noise_bank(np.random.default_rng(0)))
        with atomic_path(folder / "offsets.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, offsets)
        write_text_atomic(index, json.dumps({"version": CACHE_VERSION, "copies": copies, "clips": len(clips)}))
    arrays = [np.load(folder / f"copy{copy}.npy", mmap_mode="r") for copy in range(copies)]
    assert all(a.shape[1] == N_MELS for a in arrays)
    offsets = np.load(folder / "offsets.npy")
    tracks = _build_tracks(clips, folder, offsets, progress) if with_tracks else []
    return MelCache(arrays, offsets, np.load(folder / "bank.npy"), folder, tracks)


def _build_tracks(clips: list[Clip], folder: Path, offsets: np.ndarray, progress: Progress | None) -> list[np.ndarray]:
    """The pitch tracks of every copy (kept in `folder` beside the log-mel), each on its copy's log-mel frames.

    The pitch is tracked on each clip as recorded; a degraded copy's track is that track moved by the copy's speed
    perturbation (resampling by a factor plays the clip that much faster and higher), which agrees with tracking
    the degraded audio on 93-98 % of frames' voicing and to 0.1 % in median F0 at a quarter of the cost. So the
    channel (clipping, codec, telephone band) does not reach the training tracks."""
    names = [folder / f"tracks{copy}.npy" for copy in range(len(offsets))]
    if not all(name.is_file() for name in names):
        tracks = [np.zeros((int(o[-1]), TRACK_COLUMNS), np.float32) for o in offsets]
        for i, clip in enumerate(clips):
            recorded = pitch_track(read_samples(clip.path))
            for copy, o in enumerate(offsets):
                # degrade's first draw of the copy's seed is its speed factor
                factor = 1.0 if copy == 0 else np.random.default_rng([i, copy]).uniform(*SPEED_RANGE)
                frames = np.minimum(np.round(np.arange(o[i + 1] - o[i]) * factor).astype(int), len(recorded) - 1)
                tracks[copy][o[i] : o[i + 1]] = recorded[frames] * np.array([factor, 1.0, 1.0], np.float32)
            if progress and (i % 100 == 0 or i + 1 == len(clips)):
                progress("pitch tracks", (i + 1) / len(clips))
        for name, track in zip(names, tracks, strict=True):
            with atomic_path(name) as tmp, open(tmp, "wb") as f:
                np.save(f, track)
    return [np.load(name, mmap_mode="r") for name in names]

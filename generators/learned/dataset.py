"""Reading a motion corpus (avatar.training.corpus or .beat_data) for training and evaluation; its files, arrays,
dtype and version are those of generators/learned/corpus_format.py, which the writer shares.

- `MotionCorpus(path, split)`: one split's index and its float16 arrays, memory-mapped (nothing is read until used).
- `MotionWindows(corpus, window=128)`: a torch Dataset of random fixed-length windows of the variants, a dict of
  float32 tensors content (W, 114), emotion (W, 11), style (6,), face (W, 59), body (W, 306), bool masks
  face_present and body_present (a real-data corpus may lack a modality: its rows are zeros there), and valid
  (W,): False on frames past the end of a clip shorter than the window. Those frames repeat the clip's last
  frame (motion and emotion held, content silent), so they are plausible even for a loss that ignores `valid`;
  pass `min_frames=window` to sample only clips that fill a whole window. Windows are drawn in proportion to each
  variant's length (times an optional weight per source), and window i of epoch e depends only on (seed, e, i).
- A corpus stores the acoustic content (84) and each item's phones; the articulation part of the content (the viseme
  track, representation.articulation_features) is made from the phones when read, so it can change without a
  rebuild.
- `MotionCorpus.iter_items()`: whole items for evaluation, each with its content rebuilt as a
  `generators.conditioning.Content` (features, phones and words), so the lip-sync measures in
  avatar/evaluation/face.py run on it, and its variants' emotion, style, face and body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from generators.conditioning import EMOTIONS, Content, EmotionFrames, Segment
from generators.learned import corpus_format as disk
from generators.learned import representation as rep


class CorpusError(ValueError):
    """A corpus folder that cannot be read; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class CorpusVariant:
    """One motion variant of an item: its conditions and motion (float32), None for a missing modality."""

    number: int
    emotion_keys: list  # [[time, label, intensity], ...]
    seed: int
    style: np.ndarray  # (6,)
    emotion: np.ndarray  # (T, 11)
    face: np.ndarray | None  # (T, 59)
    body: np.ndarray | None  # (T, 306)

    def emotion_frames(self) -> EmotionFrames:
        """The variant's emotion curve as EmotionFrames (from its display vector and VAD)."""
        return emotion_frames(self.emotion)


@dataclass(frozen=True)
class CorpusItem:
    """One speech item: its description, content features, Content and motion variants."""

    number: int
    id: str
    source: str
    speaker: str
    text: str
    features: np.ndarray  # (T, 114) float32 content features
    content: Content
    variants: tuple[CorpusVariant, ...]
    meta: dict


def emotion_frames(features: np.ndarray) -> EmotionFrames:
    """EmotionFrames from (T, 11) emotion features (display vector x intensity, then VAD)."""
    display = np.clip(np.asarray(features[:, : len(EMOTIONS)], np.float64), 0.0, None)
    total = display.sum(1)
    categories = np.where(total[:, None] > 1e-6, display / np.maximum(total, 1e-6)[:, None], 0.0)
    categories[total <= 1e-6, EMOTIONS.index("neutral")] = 1.0
    return EmotionFrames(categories, np.minimum(total, 1.0), np.clip(features[:, len(EMOTIONS):], -1, 1))


def content_from_features(features: np.ndarray, phones=(), words=(), fps: float = rep.FPS) -> Content:
    """The Content whose acoustic_features() are `features[:, :84]` (the inverse of the representation's scaling)."""
    # The scaling constants are representation.py's own, so this stays its exact inverse.
    f = np.asarray(features, np.float64)[:, :rep.ACOUSTIC_DIM]
    n_mel = f.shape[1] - 4
    db = f[:, n_mel] * rep._DB_SCALE - rep._DB_SHIFT
    rms = np.maximum(10 ** (db / 20) - 1e-5, 0.0)
    f0 = np.where(f[:, n_mel + 1] != 0, 150.0 * 2 ** f[:, n_mel + 1], 0.0)
    segments = lambda spans: tuple(Segment(float(s), float(e), str(label)) for s, e, label in spans)  # noqa: E731
    return Content(fps, segments(phones), segments(words), rms, f0, np.clip(f[:, n_mel + 2], 0, 1),
                   f[:, n_mel + 3] * rep._ONSET_SCALE, f[:, :n_mel] * rep._MEL_SCALE - rep._MEL_SHIFT)


def _load(path: Path) -> np.ndarray:
    """A .npy array memory-mapped (an empty one cannot be mapped, so it is read)."""
    try:
        return np.load(path, mmap_mode="r")
    except ValueError:
        return np.load(path)


class MotionCorpus:
    """One split of a corpus folder: `info` (corpus.json), `items` and `variants` (index dicts), arrays on demand."""

    def __init__(self, path: str | Path, split: str = "train"):
        self.path, self.split = Path(path), split
        if split not in disk.SPLITS:
            raise CorpusError(f"split {split!r} is not one of {disk.SPLITS}")
        info = self.path / disk.INFO_FILE
        if not info.exists():
            raise CorpusError(f"{self.path} is not a motion corpus (no {disk.INFO_FILE}); build one with "
                              f"`python -m avatar.training.corpus --out {self.path}`")
        self.info = json.loads(info.read_text(encoding="utf-8"))
        if self.info.get("version") != disk.VERSION:
            raise CorpusError(f"{self.path} is corpus version {self.info.get('version')}; this code reads version "
                              f"{disk.VERSION}: rebuild the corpus")
        wrong = [k for k, width in disk.ARRAYS.items() if self.info["dims"][k] != width]
        if wrong:
            raise CorpusError(f"{self.path} has {', '.join(wrong)} of other widths than the representation's; "
                              "rebuild the corpus")
        index = json.loads(disk.index_path(self.path, split).read_text(encoding="utf-8"))
        self.items: list[dict] = index["items"]
        self.variants: list[dict] = index["variants"]
        self.fps = float(self.info["fps"])
        self._arrays: dict[str, np.ndarray] = {}
        self._articulation: dict[int, np.ndarray] = {}
        self._variants_of: dict[int, list[int]] = {}
        for k, v in enumerate(self.variants):
            self._variants_of.setdefault(v["item"], []).append(k)

    def array(self, name: str) -> np.ndarray:
        """The split's float16 array `name` (content, emotion, face or body), memory-mapped."""
        if name not in self._arrays:
            self._arrays[name] = _load(disk.array_path(self.path, self.split, name))
        return self._arrays[name]

    def articulation(self, number: int) -> np.ndarray:
        """(T, 30) float16 articulation features of item `number`, made from its phones once and kept."""
        if number not in self._articulation:
            item = self.items[number]
            phones = [Segment(float(s), float(e), str(label)) for s, e, label in item["phones"]]
            features = rep.articulation_features(phones, item["n_frames"], self.fps)
            self._articulation[number] = features.astype(np.float16)
        return self._articulation[number]

    def __getstate__(self) -> dict:
        # Data-loader workers reopen the maps rather than receive copies of them.
        return {**self.__dict__, "_arrays": {}, "_articulation": {}}

    def __len__(self) -> int:
        return len(self.variants)

    @property
    def n_frames(self) -> int:
        """Frames of motion in the split (summed over variants)."""
        return sum(v["n_frames"] for v in self.variants)

    def rows(self, variant: int, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Frames [start, stop) of one variant: content (acoustic + articulation), emotion, face, body (float16) and
        style (6,)."""
        v = self.variants[variant]
        item = self.items[v["item"]]
        stop = v["n_frames"] if stop is None else stop
        acoustic = self.array("content")[item["offset"] + start: item["offset"] + stop]
        out = {"content": np.concatenate([acoustic, self.articulation(v["item"])[start:stop]], axis=1)}
        for name in ("emotion", "face", "body"):
            out[name] = self.array(name)[v["offset"] + start: v["offset"] + stop]
        out["style"] = np.asarray(v["style"], np.float32)
        return out

    def item(self, number: int) -> CorpusItem:
        """Item `number` whole, with its Content and every variant (float32 copies)."""
        item = self.items[number]
        acoustic = self.array("content")[item["offset"]: item["offset"] + item["n_frames"]]
        features = np.concatenate([acoustic, self.articulation(number)], axis=1).astype(np.float32)
        variants = []
        for k in self._variants_of.get(number, []):
            v, rows = self.variants[k], self.rows(k)
            variants.append(CorpusVariant(
                k, v["emotion"], v["seed"], rows["style"], np.asarray(rows["emotion"], np.float32),
                np.asarray(rows["face"], np.float32) if v.get("face_present", True) else None,
                np.asarray(rows["body"], np.float32) if v.get("body_present", True) else None))
        known = {"id", "source", "speaker", "text", "n_frames", "offset", "phones", "words"}
        return CorpusItem(number, item["id"], item["source"], item["speaker"], item["text"], features,
                          content_from_features(features, item["phones"], item["words"], self.fps),
                          tuple(variants), {k: v for k, v in item.items() if k not in known})

    def iter_items(self, sources: tuple[str, ...] | None = None) -> Iterator[CorpusItem]:
        """Every item of the split (optionally of some sources only), in index order."""
        for number, item in enumerate(self.items):
            if sources is None or item["source"] in sources:
                yield self.item(number)


def _pad(values: np.ndarray, n: int) -> np.ndarray:
    """(n, D) float32: `values` followed by copies of its last row."""
    values = np.asarray(values, np.float32)
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.repeat(values[-1:], n - len(values), 0)])


class MotionWindows(Dataset):
    """Random fixed-length windows of a corpus split's variants, as dicts of tensors (see the module docstring)."""

    def __init__(self, corpus: MotionCorpus, window: int = 128, length: int | None = None, seed: int = 0,
                 sources: tuple[str, ...] | None = None, source_weights: Mapping[str, float] | None = None,
                 min_frames: int = 1):
        if window < 1:
            raise ValueError(f"window={window}: give a window of at least 1 frame")
        self.corpus, self.window, self.seed, self.epoch = corpus, window, seed, 0
        weights = dict(source_weights or {})
        chosen, mass = [], []
        for k, v in enumerate(corpus.variants):
            source = corpus.items[v["item"]]["source"]
            if (sources is None or source in sources) and v["n_frames"] >= min_frames:
                chosen.append(k)
                mass.append(v["n_frames"] * float(weights.get(source, 1.0)))
        self.variant_numbers = np.array(chosen, np.int64)
        self._cumulative = np.cumsum(mass, dtype=np.float64)
        frames = sum(corpus.variants[k]["n_frames"] for k in chosen)
        self.length = length if length is not None else (max(1, frames // window) if chosen else 0)
        # Content of silence, for padding short clips: the quietest acoustic row of the split, with the mouth at rest.
        acoustic = corpus.array("content")
        rest = rep.articulation_features((), 1, corpus.fps)[0]
        self._silence = np.concatenate([acoustic[int(np.argmin(acoustic[:, -4]))], rest]).astype(np.float32) \
            if len(acoustic) else None

    def set_epoch(self, epoch: int) -> None:
        """Draw other windows for another epoch (the same ones again for the same epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(f"window {index} of {self.length}")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        pick = int(np.searchsorted(self._cumulative, rng.random() * self._cumulative[-1], side="right"))
        number = int(self.variant_numbers[min(pick, len(self.variant_numbers) - 1)])
        v = self.corpus.variants[number]
        n = v["n_frames"]
        start = int(rng.integers(0, max(n - self.window, 0) + 1))
        stop = min(start + self.window, n)
        rows = self.corpus.rows(number, start, stop)
        valid = np.zeros(self.window, bool)
        valid[: stop - start] = True
        content = _pad(rows["content"], self.window)
        content[stop - start:] = self._silence  # padding is silence, not a held sound
        return {
            "content": torch.from_numpy(content),
            "emotion": torch.from_numpy(_pad(rows["emotion"], self.window)),
            "style": torch.from_numpy(rows["style"]),
            "face": torch.from_numpy(_pad(rows["face"], self.window)),
            "body": torch.from_numpy(_pad(rows["body"], self.window)),
            "face_present": torch.tensor(bool(v.get("face_present", True))),
            "body_present": torch.tensor(bool(v.get("body_present", True))),
            "valid": torch.from_numpy(valid),
        }

"""Other emotion vocabularies and their explicit mappings to and from ours (BEAT's eight categories).

Each `Vocabulary` has two tables: `to_ours[label]` says which of our categories one of its labels stands for,
and `from_ours[category]` which of its labels stands for one of ours; rows sum to 1 (or are empty for a slider
vocabulary's neutral). `lost` says what does not survive each direction. Numbers are our choices, made from the
label definitions; they are documented here so a user can see and change them.

- FER2013 (7; the facial expression recognizer's classes): ours minus contempt. Contempt has no class: ours ->
  FER reads it as 60 % disgust and 40 % neutral (its unilateral smirk is what FER models score that way).
- EmoDB (7; the speech recognizer's training labels): no surprise and no contempt, but boredom. Boredom -> 60 %
  neutral, 40 % sadness, and keeps its own VAD (Russell & Mehrabian's "bored": -0.65, -0.62, -0.33), so a bored
  clip still reads as low arousal. Ours -> EmoDB: surprise -> 50 % happiness + 50 % fear (high arousal, either
  valence), contempt -> 50 % disgust + 50 % boredom.
- MEAD (8): the same categories one to one. MEAD's three intensity levels map to intensity 1/3, 2/3, 1.
- Audio2Face (10 sliders, each 0..1, all zero = neutral): amazement, anger, cheekiness, disgust, fear, grief,
  joy, outofbreath, pain, sadness. Ours -> A2F: happiness -> joy, surprise -> amazement, sadness -> 70 % sadness
  + 30 % grief, contempt -> 60 % cheekiness + 40 % disgust. A2F -> ours: grief -> sadness, cheekiness -> 50 %
  contempt + 50 % happiness, pain -> 40 % sadness + 30 % fear + 30 % disgust; outofbreath has no category (it
  is effort, not affect) and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from avatar.emotion.space import VAD_TABLE, from_display
from avatar.errors import InputError
from generators.conditioning import EMOTIONS, EmotionFrames

Table = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Vocabulary:
    """Another emotion vocabulary: its labels, the two mapping tables, what each direction loses."""

    name: str
    labels: tuple[str, ...]
    to_ours: Table
    from_ours: Table
    lost: dict[str, str]
    sliders: bool = False  # independent 0..1 sliders (A2F) rather than one probability distribution
    own_vad: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def to_matrix(self) -> np.ndarray:
        """(their labels, 8): row i = our categories for their label i."""
        return _matrix(self.to_ours, self.labels, EMOTIONS)

    def from_matrix(self) -> np.ndarray:
        """(8, their labels): row c = their labels for our category c."""
        return _matrix(self.from_ours, EMOTIONS, self.labels)

    def to_emotion(self, values) -> EmotionFrames:
        """Their probabilities (or sliders) (T, N) or (N,) as our EmotionFrames."""
        values = self._check(values)
        display = values @ self.to_matrix()
        vad = display @ VAD_TABLE
        for i, label in enumerate(self.labels):
            if label in self.own_vad:  # replace the mapped VAD of this label's share by its own
                vad += values[:, i : i + 1] * (np.asarray(self.own_vad[label]) - self.to_matrix()[i] @ VAD_TABLE)
        return from_display(display, vad)

    def from_emotion(self, emotion: EmotionFrames) -> np.ndarray:
        """Our EmotionFrames as their values (T, N): probabilities summing to 1, or sliders in [0, 1]."""
        display = emotion.categories.astype(np.float64) * emotion.intensity[:, None]
        if not self.sliders:  # what is not shown reads as neutral
            display[:, EMOTIONS.index("neutral")] += 1.0 - emotion.intensity
        return np.clip(display @ self.from_matrix(), 0.0, 1.0)

    def _check(self, values) -> np.ndarray:
        array = np.atleast_2d(np.asarray(values, np.float64))
        if array.ndim != 2 or array.shape[1] != len(self.labels):
            raise InputError(f"{self.name} values need {len(self.labels)} columns ({', '.join(self.labels)}); "
                             f"got shape {np.shape(values)}")
        if not np.isfinite(array).all() or array.min() < 0 or (self.sliders and array.max() > 1):
            raise InputError(f"{self.name} values must be finite and in [0, 1]")
        if not self.sliders:
            array = array / np.maximum(array.sum(1, keepdims=True), 1e-12)
        return array


def _matrix(table: Table, rows: tuple[str, ...], columns: tuple[str, ...]) -> np.ndarray:
    out = np.zeros((len(rows), len(columns)))
    for label, targets in table.items():
        for target, weight in targets.items():
            out[rows.index(label), columns.index(target)] = weight
    return out


def _same(pairs: dict[str, str]) -> Table:
    return {theirs: {ours: 1.0} for theirs, ours in pairs.items()}


def _inverse(pairs: dict[str, str]) -> Table:
    return {ours: {theirs: 1.0} for theirs, ours in pairs.items()}


_FER = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "sad": "sadness",
        "surprise": "surprise", "neutral": "neutral"}
FER2013 = Vocabulary(
    "FER2013", tuple(_FER), _same(_FER), {**_inverse(_FER), "contempt": {"disgust": 0.6, "neutral": 0.4}},
    lost={"to ours": "nothing", "from ours": "contempt (no FER class; read as disgust + neutral)"})

_EMODB = {"anger": "anger", "disgust": "disgust", "fear": "fear", "happiness": "happiness", "sadness": "sadness",
          "neutral": "neutral"}
EMODB_LABELS = ("anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral")
EMODB = Vocabulary(
    "EmoDB", EMODB_LABELS, {**_same(_EMODB), "boredom": {"neutral": 0.6, "sadness": 0.4}},
    {**_inverse(_EMODB), "surprise": {"happiness": 0.5, "fear": 0.5}, "contempt": {"disgust": 0.5, "boredom": 0.5}},
    lost={"to ours": "boredom as a category (kept as its low-arousal VAD)",
          "from ours": "surprise and contempt (no EmoDB class)"},
    own_vad={"boredom": (-0.65, -0.62, -0.33)})

_MEAD = {"angry": "anger", "contempt": "contempt", "disgusted": "disgust", "fear": "fear", "happy": "happiness",
         "neutral": "neutral", "sad": "sadness", "surprised": "surprise"}
MEAD = Vocabulary("MEAD", tuple(_MEAD), _same(_MEAD), _inverse(_MEAD),
                  lost={"to ours": "nothing (levels 1-3 -> intensity 1/3, 2/3, 1)", "from ours": "nothing"})

A2F_LABELS = ("amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain", "sadness")
AUDIO2FACE = Vocabulary(
    "Audio2Face", A2F_LABELS,
    {"amazement": {"surprise": 1.0}, "anger": {"anger": 1.0}, "cheekiness": {"contempt": 0.5, "happiness": 0.5},
     "disgust": {"disgust": 1.0}, "fear": {"fear": 1.0}, "grief": {"sadness": 1.0}, "joy": {"happiness": 1.0},
     "pain": {"sadness": 0.4, "fear": 0.3, "disgust": 0.3}, "sadness": {"sadness": 1.0}},
    {"happiness": {"joy": 1.0}, "anger": {"anger": 1.0}, "sadness": {"sadness": 0.7, "grief": 0.3},
     "contempt": {"cheekiness": 0.6, "disgust": 0.4}, "surprise": {"amazement": 1.0}, "fear": {"fear": 1.0},
     "disgust": {"disgust": 1.0}},
    lost={"to ours": "outofbreath (effort, not affect); grief and pain fold into sadness/fear/disgust",
          "from ours": "nothing shown is lost, but contempt becomes cheekiness + disgust"},
    sliders=True)

VOCABULARIES: dict[str, Vocabulary] = {v.name.lower(): v for v in (FER2013, EMODB, MEAD, AUDIO2FACE)}


def from_emodb(probs) -> tuple[np.ndarray, np.ndarray]:
    """EmoDB probabilities (N, 7) in EMODB_LABELS order -> our categories (N, 8) and VAD (N, 3)."""
    emotion = EMODB.to_emotion(probs)
    return emotion.categories, emotion.vad


def mead_intensity(level: int) -> float:
    """MEAD's intensity level (1, 2, 3) as our intensity."""
    if level not in (1, 2, 3):
        raise InputError(f"MEAD intensity level {level!r} must be 1, 2 or 3")
    return level / 3.0



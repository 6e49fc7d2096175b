"""The speech emotion corpora (RAVDESS, CREMA-D, TESS, EmoDB) as one labelled, speaker-folded set of clips.

The shared data's `ser/manifest.csv` lists every clip with its corpus, speaker, label and intensity. The recognizer's
head has one class per label any corpus uses (HEAD_LABELS: our categories without contempt, which no corpus has,
plus RAVDESS's calm and EmoDB's boredom), so each corpus is scored on its own label set. Each clip also gets a
valence/arousal/dominance target: its category's VAD (avatar.emotion.space; calm and boredom have their own)
scaled by the corpus's intensity level (INTENSITY_SCALE).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.emotion.space import VAD
from avatar.emotion.vocabularies import EMODB
from avatar.errors import InputError
from generators.conditioning import EMOTIONS
from rigs.paths import SHARED_DATA_HINT

HEAD_LABELS = ("neutral", "calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise", "boredom")
CORPORA = ("crema_d", "ravdess", "tess", "emodb")
CORPUS_LABELS = {
    "crema_d": ("neutral", "happiness", "sadness", "anger", "fear", "disgust"),
    "ravdess": ("neutral", "calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise"),
    "tess": ("neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"),
    "emodb": ("neutral", "happiness", "sadness", "anger", "fear", "disgust", "boredom"),
}
# Calm is neutral at low arousal (our choice: a little positive, arousal as low as sadness's); boredom keeps the
# VAD the EmoDB vocabulary gives it (Russell & Mehrabian's "bored").
HEAD_VAD = {
    **{name: VAD[name] for name in EMOTIONS if name != "contempt"},
    "calm": (0.10, -0.30, 0.0),
    "boredom": EMODB.own_vad["boredom"],
}
# How strongly a clip shows its category: RAVDESS normal/strong, CREMA-D low/medium/high (unspecified, TESS and
# EmoDB: a typical acted level). The VAD target is the category's VAD times this.
INTENSITY_SCALE = {
    "normal": 0.75,
    "strong": 1.0,
    "low": 0.5,
    "medium": 0.75,
    "high": 1.0,
    "unspecified": 0.75,
    "": 0.75,
}
# Head class -> our eight categories: calm is neutral; boredom as the EmoDB vocabulary maps it.
_TO_OURS = {"calm": {"neutral": 1.0}, "boredom": EMODB.to_ours["boredom"]}
# Share of each epoch's draws per corpus (renormalised over the corpora a run trains on); within a corpus every
# class is drawn equally often. CREMA-D is most varied, EmoDB is small and German, TESS easy (two speakers).
CORPUS_SHARE = {"crema_d": 0.45, "ravdess": 0.25, "tess": 0.10, "emodb": 0.20}
N_FOLDS = 5
# Left out of the shipped model's training (not of the evaluation folds), so that tests can check the shipped
# model on speakers it never heard: two CREMA-D actors and two RAVDESS actors, a woman and a man of each.
TEST_SPEAKERS = ("crema_1090", "crema_1091", "ravdess_23", "ravdess_24")


def head_to_categories() -> np.ndarray:
    """(len(HEAD_LABELS), 8) matrix taking head probabilities to our categories (contempt always 0)."""
    matrix = np.zeros((len(HEAD_LABELS), len(EMOTIONS)))
    for i, label in enumerate(HEAD_LABELS):
        for target, weight in _TO_OURS.get(label, {label: 1.0}).items():
            matrix[i, EMOTIONS.index(target)] = weight
    return matrix


@dataclass(frozen=True)
class Clip:
    """One labelled utterance of the corpora."""

    path: Path
    corpus: str
    speaker: str
    label: str  # in HEAD_LABELS
    intensity: str
    duration: float

    @property
    def label_index(self) -> int:
        return HEAD_LABELS.index(self.label)

    @property
    def vad(self) -> np.ndarray:
        """The clip's valence/arousal/dominance target: its category's VAD times its intensity's scale."""
        return INTENSITY_SCALE.get(self.intensity, 0.75) * np.asarray(HEAD_VAD[self.label], np.float32)


def read_manifest(data_dir: str | Path) -> list[Clip]:
    """The clips of `data_dir`/manifest.csv (the shared ser/ folder), in manifest order."""
    folder = Path(data_dir)
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        raise InputError(
            f"'{folder}' has no manifest.csv. Give the speech emotion corpora folder, e.g. --data "
            f"{SHARED_DATA_HINT}/ser (see {SHARED_DATA_HINT}/README.md)."
        )
    clips = []
    with manifest.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["corpus"] not in CORPORA or row["label"] not in CORPUS_LABELS[row["corpus"]]:
                continue  # nothing else is in the shared copy; a user's extra corpus is skipped, not misread
            clips.append(
                Clip(
                    folder / row["path"],
                    row["corpus"],
                    row["speaker"],
                    row["label"],
                    row["intensity"],
                    float(row["duration_s"]),
                )
            )
    if not clips:
        raise InputError(
            f"'{manifest}' lists no clips of {', '.join(CORPORA)}. Give the speech emotion corpora "
            f"folder, e.g. --data {SHARED_DATA_HINT}/ser."
        )
    return clips


def speaker_folds(clips: list[Clip], n_folds: int = N_FOLDS) -> np.ndarray:
    """Fold index of each clip: every corpus's speakers, sorted by name, dealt round-robin into n_folds folds, so
    each fold holds out whole speakers of every corpus (CREMA-D 18-19, RAVDESS 4-5, EmoDB 2, TESS 0-1)."""
    fold_of = {}
    for corpus in CORPORA:
        speakers = sorted({c.speaker for c in clips if c.corpus == corpus})
        fold_of.update({speaker: k % n_folds for k, speaker in enumerate(speakers)})
    return np.array([fold_of[c.speaker] for c in clips])


def draw_weights(clips: list[Clip], chosen: np.ndarray) -> np.ndarray:
    """Sampling probability of each clip (0 outside `chosen`): corpus shares, classes balanced within a corpus."""
    weights = np.zeros(len(clips))
    corpora = {clips[i].corpus for i in np.flatnonzero(chosen)}
    total_share = sum(CORPUS_SHARE[c] for c in corpora)
    for corpus in corpora:
        members = [i for i in np.flatnonzero(chosen) if clips[i].corpus == corpus]
        labels = sorted({clips[i].label for i in members})
        for label in labels:
            group = [i for i in members if clips[i].label == label]
            weights[group] = CORPUS_SHARE[corpus] / total_share / len(labels) / len(group)
    return weights / weights.sum()

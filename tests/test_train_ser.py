"""The speech emotion training run's plan: which clips each of its models learns from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar.recognizers.ser_corpus import N_FOLDS, TEST_SPEAKERS, Clip, speaker_folds
from avatar.recognizers.train_ser import CROSS_CORPUS, training_sets


def _clips() -> list[Clip]:
    speakers = [("crema_d", f"crema_{1000 + i}") for i in range(12)] + [("crema_d", s) for s in TEST_SPEAKERS[:2]]
    speakers += [("ravdess", f"ravdess_{i}") for i in range(1, 9)] + [("ravdess", s) for s in TEST_SPEAKERS[2:]]
    speakers += [("emodb", f"emodb_{i}") for i in range(5)] + [("tess", "tess_oaf")]
    return [Clip(Path(f"{s}_{k}.ogg"), c, s, "anger" if k else "neutral", "", 2.0) for c, s in speakers for k in (0, 1)]


def test_every_model_holds_out_what_it_is_scored_on():
    clips = _clips()
    sets = training_sets(clips)
    assert len(sets) == N_FOLDS + len(CROSS_CORPUS) + 1
    fold = speaker_folds(clips)
    speaker = np.array([c.speaker for c in clips])
    corpus = np.array([c.corpus for c in clips])
    for k, chosen in enumerate(sets[:N_FOLDS]):  # a fold's model never hears a speaker of that fold
        assert not chosen[fold == k].any() and chosen[fold != k].all()
        assert not set(speaker[chosen]) & set(speaker[fold == k])
    for held, chosen in zip(CROSS_CORPUS, sets[N_FOLDS:-1], strict=True):
        assert set(corpus[chosen]) == set(corpus) - {held}
    shipped = sets[-1]
    assert set(speaker[~shipped]) == set(TEST_SPEAKERS) and shipped.sum() == len(clips) - 2 * len(TEST_SPEAKERS)
    assert len(training_sets(clips, evaluate=False)) == 1 and np.array_equal(training_sets(clips, False)[0], shipped)

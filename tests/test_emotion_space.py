"""The emotion space: constructors, keyframe curves, blending, vocabularies, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.emotion import (
    EMOTIONS,
    VAD,
    blend,
    constant_emotion,
    from_keyframes,
    from_probabilities,
    from_vad,
    parse_keyframes,
    resample,
    top_label,
)
from avatar.emotion.vocabularies import AUDIO2FACE, EMODB, FER2013, MEAD, VOCABULARIES, from_emodb, mead_intensity
from avatar.errors import InputError

FPS = 30.0


def shown(emotion, label):
    return emotion.categories[:, EMOTIONS.index(label)] * emotion.intensity


def test_constant_emotion_holds_label_intensity_and_scaled_vad():
    emotion = constant_emotion("Anger", 0.5, 10)
    assert top_label(emotion) == ["anger"] * 10
    np.testing.assert_allclose(emotion.intensity, 0.5)
    np.testing.assert_allclose(emotion.vad, np.tile(np.multiply(VAD["anger"], 0.5), (10, 1)), atol=1e-6)


@pytest.mark.parametrize("label", [e for e in EMOTIONS if e != "neutral"])
def test_vad_of_a_category_reads_back_as_that_category(label):
    emotion = from_vad(VAD[label], n_frames=3)
    assert top_label(emotion) == [label] * 3
    assert emotion.intensity.min() > 0.95
    np.testing.assert_allclose(emotion.vad[0], VAD[label], atol=1e-6)  # the VAD given is kept


def test_vad_at_the_origin_is_neutral_and_halfway_is_half_intensity():
    assert top_label(from_vad((0, 0, 0), 1)) == ["neutral"]
    half = from_vad(np.multiply(VAD["sadness"], 0.5), 1)
    assert top_label(half) == ["sadness"]
    assert half.intensity[0] == pytest.approx(0.5, abs=0.01)


def test_keyframes_hold_between_and_cross_fade_smoothly():
    n = int(8 * FPS)
    emotion = from_keyframes("0 s neutral, 2 s anger 0.8, 5 s sadness 0.5", n, FPS, transition_s=0.6)
    at = lambda s: int(round(s * FPS))  # noqa: E731
    assert top_label(emotion)[at(1.0)] == "neutral"
    assert shown(emotion, "anger")[at(3.5)] == pytest.approx(0.8, abs=1e-6)
    assert shown(emotion, "sadness")[at(7.0)] == pytest.approx(0.5, abs=1e-6)
    # Halfway through the change at the keyframe's own time; finished 0.3 s either side.
    assert shown(emotion, "anger")[at(2.0)] == pytest.approx(0.4, abs=1e-6)
    assert shown(emotion, "anger")[at(1.7)] == pytest.approx(0.0, abs=1e-6)
    assert shown(emotion, "anger")[at(2.3)] == pytest.approx(0.8, abs=1e-6)
    # Smooth: no frame-to-frame jump larger than a 0.6-s smoothstep allows (max slope 1.5 / width).
    steps = np.abs(np.diff(emotion.categories * emotion.intensity[:, None], axis=0)).max()
    assert steps <= 0.8 * 1.5 / (0.6 * FPS) + 1e-6
    assert np.allclose(emotion.categories.sum(1), 1)


def test_keyframes_closer_than_the_transition_still_reach_their_emotion():
    emotion = from_keyframes([(0, "neutral", 0.8), (1.0, "fear", 0.9), (1.2, "surprise", 0.7)], 60, FPS)
    assert shown(emotion, "surprise")[-1] == pytest.approx(0.7, abs=1e-6)
    assert shown(emotion, "fear").max() > 0.5


def test_keyframe_text_forms():
    keys = parse_keyframes("0s neutral; 1.5 sec happiness 1; 3: fear", default_intensity=0.6)
    assert [(k.time, k.label, k.intensity) for k in keys] == [(0.0, "neutral", 0.6), (1.5, "happiness", 1.0),
                                                              (3.0, "fear", 0.6)]


@pytest.mark.parametrize("spec, message", [
    ("0 s neutral, 2 s rage 0.8", "choose one of: neutral, happiness"),
    ("0 s neutral, 2 s anger 1.5", "anger keyframe at 2 s: intensity 1.5 is outside"),
    ("0 s neutral, 5 s anger, 2 s sadness", "out of order"),
    ("0 s neutral, 2 s anger loud", "not a number"),
    ("anger at two", "cannot read"),
    ("", "empty"),
])
def test_bad_keyframes_are_clear_errors(spec, message):
    with pytest.raises(InputError, match=message):
        from_keyframes(spec, 100, FPS)


def test_bad_labels_and_values_name_the_fix():
    with pytest.raises(InputError, match="choose one of: neutral, happiness, anger"):
        constant_emotion("joy", 0.5, 3)
    with pytest.raises(InputError, match="intensity 1.2 is outside"):
        constant_emotion("anger", 1.2, 3)
    with pytest.raises(InputError, match="arousal must lie in"):
        from_vad((0.1, 1.7, 0), 3)


def test_recognizer_probabilities_become_a_curve():
    probs = np.zeros((4, 8))
    probs[:, EMOTIONS.index("neutral")] = 0.6
    probs[:, EMOTIONS.index("anger")] = 0.4
    emotion = from_probabilities(probs)
    np.testing.assert_allclose(shown(emotion, "anger"), 0.4, atol=1e-6)
    with pytest.raises(InputError, match="shape"):
        from_probabilities(np.ones((4, 7)))


def test_blend_and_resample():
    a, b = constant_emotion("happiness", 1.0, 10), constant_emotion("sadness", 0.5, 10)
    mid = blend(a, b, 0.5)
    np.testing.assert_allclose(shown(mid, "happiness"), 0.5, atol=1e-6)
    np.testing.assert_allclose(shown(mid, "sadness"), 0.25, atol=1e-6)
    ramp = blend(a, b, np.linspace(0, 1, 10))
    assert top_label(ramp)[0] == "happiness" and top_label(ramp)[-1] == "sadness"
    with pytest.raises(InputError, match="same frame clock"):
        blend(a, constant_emotion("anger", 1.0, 5))
    longer = resample(ramp, 37)
    assert longer.n_frames == 37 and top_label(longer)[-1] == "sadness"


def test_vocabulary_tables_are_distributions():
    for vocabulary in VOCABULARIES.values():
        to, back = vocabulary.to_matrix(), vocabulary.from_matrix()
        assert to.shape == (len(vocabulary.labels), 8) and back.shape == (8, len(vocabulary.labels))
        for row, label in zip(to, vocabulary.labels, strict=True):
            assert row.sum() == pytest.approx(1.0) or label == "outofbreath"
        for row, label in zip(back, EMOTIONS, strict=True):
            assert row.sum() == pytest.approx(1.0) or (vocabulary.sliders and label == "neutral")


@pytest.mark.parametrize("vocabulary", [FER2013, EMODB, MEAD])
def test_shared_categories_round_trip(vocabulary):
    for label in EMOTIONS:
        theirs = vocabulary.from_emotion(constant_emotion(label, 1.0, 1))
        assert theirs.sum() == pytest.approx(1.0)
        back = vocabulary.to_emotion(theirs)
        if label in ("contempt", "surprise") and vocabulary is not MEAD and not (
                vocabulary is FER2013 and label == "surprise"):
            continue  # no such class there: lost, as documented
        assert top_label(back) == [label]


def test_what_is_lost_is_documented_and_behaves_so():
    assert "contempt" in FER2013.lost["from ours"]
    fer = FER2013.from_emotion(constant_emotion("contempt", 1.0, 1))[0]
    assert fer[FER2013.labels.index("disgust")] == pytest.approx(0.6)
    # Boredom keeps its low arousal though it maps to neutral and sadness.
    categories, vad = from_emodb(np.eye(7)[[EMODB.labels.index("boredom")]])
    assert categories[0, EMOTIONS.index("neutral")] == pytest.approx(0.6)
    assert vad[0, 1] == pytest.approx(-0.62)
    # Partial intensity reads as part neutral in a probability vocabulary.
    mead = MEAD.from_emotion(constant_emotion("anger", 0.25, 1))[0]
    assert mead[MEAD.labels.index("neutral")] == pytest.approx(0.75)
    assert mead_intensity(2) == pytest.approx(2 / 3)


def test_audio2face_sliders():
    sliders = AUDIO2FACE.from_emotion(constant_emotion("sadness", 0.5, 1))[0]
    assert sliders[AUDIO2FACE.labels.index("sadness")] == pytest.approx(0.35)
    assert sliders[AUDIO2FACE.labels.index("grief")] == pytest.approx(0.15)
    assert AUDIO2FACE.from_emotion(constant_emotion("neutral", 1.0, 1)).sum() == 0
    joy = np.zeros(10)
    joy[AUDIO2FACE.labels.index("joy")] = 0.7
    back = AUDIO2FACE.to_emotion(joy)
    assert top_label(back) == ["happiness"] and back.intensity[0] == pytest.approx(0.7)
    with pytest.raises(InputError, match="10 columns"):
        AUDIO2FACE.to_emotion(np.zeros(7))

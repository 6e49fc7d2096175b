"""Text emotion recognizer: clear-cut emotions, negation, the sentence timeline, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.errors import InputError
from avatar.recognizers.text_emotion import TextEmotionRecognizer, split_sentences
from generators.conditioning import EMOTIONS


@pytest.fixture(scope="module")
def recognizer() -> TextEmotionRecognizer:
    """One recognizer (and one model load) for the whole module."""
    return TextEmotionRecognizer()


CLEAR = {
    "neutral": ["The meeting is at three o'clock.", "Turn left at the second traffic light."],
    "happiness": ["I passed the test and I'm over the moon!", "Seeing my old friends again filled me with joy."],
    "anger": ["I'm furious that you lied to my face!", "Keep your hands off me or you'll regret it!"],
    "sadness": ["I've been crying since the funeral.", "I feel empty and alone since you moved away."],
    "fear": ["I'm terrified of what might happen next.", "Run, the building is on fire!"],
    "surprise": ["No way, you built this all by yourself?", "Whoa, that was a huge surprise!"],
    "disgust": ["Yuck, somebody spat their gum on my shoe.", "The leftovers were covered in green fuzz, gross."],
    "contempt": ["Oh please, as if you could ever manage that."],
}


def test_clear_cut_sentences_read_right(recognizer: TextEmotionRecognizer) -> None:
    """Unambiguous sentences get their emotion as the label, with probabilities that form a distribution."""
    pairs = [(emotion, text) for emotion, texts in CLEAR.items() for text in texts]
    results = recognizer.predict_sentences([text for _, text in pairs])
    wrong = [(emotion, r.label, r.text) for (emotion, _), r in zip(pairs, results, strict=True) if r.label != emotion]
    assert not wrong
    for r in results:
        assert list(r.probs) == list(EMOTIONS)
        assert sum(r.probs.values()) == pytest.approx(1.0)
        assert all(-1.0 <= x <= 1.0 for x in (r.valence, r.arousal, r.dominance))
        assert r.confidence == pytest.approx(max(r.probs.values()))


def test_negation(recognizer: TextEmotionRecognizer) -> None:
    """A negated emotion is not read: "not happy" is not happiness and not positive, "not angry" is not anger."""
    happy, not_happy, not_angry, not_afraid = recognizer.predict_sentences(
        ["I am happy.", "I am not happy.", "I am not angry at all.", "I'm not afraid of the dark."])
    assert happy.label == "happiness" and happy.valence > 0
    assert not_happy.label != "happiness" and not_happy.valence <= 0
    assert not_happy.probs["happiness"] < 0.5 * happy.probs["happiness"]
    assert not_angry.label != "anger" and not_angry.probs["anger"] < 0.2
    assert not_afraid.label != "fear"


def test_valence_sign(recognizer: TextEmotionRecognizer) -> None:
    """Happy sentences have positive valence, sad and angry ones negative, and neutral ones near zero."""
    happy, sad, angry, neutral = recognizer.predict_sentences(
        ["What a wonderful day, I love it!", "I miss her so much.", "I'm so mad at you!", "The form has three pages."])
    assert happy.valence > 0.3 and sad.valence < -0.2 and angry.valence < -0.2
    assert abs(neutral.valence) < 0.15
    assert angry.arousal > sad.arousal


def test_sentence_timeline(recognizer: TextEmotionRecognizer) -> None:
    """A multi-sentence text gives ordered, non-overlapping spans into the text, and a length-weighted whole."""
    text = "The bus leaves at 9.30 today.  I'm so happy you came!\nBut then Dr. Brown said he died... I miss him."
    result = recognizer.predict(text)
    assert [s.text for s in result.sentences] == [
        "The bus leaves at 9.30 today.", "I'm so happy you came!", "But then Dr. Brown said he died...",
        "I miss him."]
    assert [s.index for s in result.sentences] == [0, 1, 2, 3]
    for s in result.sentences:
        assert text[s.start: s.end] == s.text
    assert all(a.end <= b.start for a, b in zip(result.sentences, result.sentences[1:], strict=False))
    assert [s.label for s in result.sentences][:2] == ["neutral", "happiness"]
    assert result.sentences[3].label == "sadness"
    assert result.matrix.shape == (4, len(EMOTIONS))
    lengths = np.array([s.end - s.start for s in result.sentences], float)
    expected = lengths @ result.matrix / lengths.sum()
    assert np.allclose([result.probs[e] for e in EMOTIONS], expected, atol=1e-5)


@pytest.mark.parametrize(("text", "expected"), [
    ("Dr. Smith, e.g. at work. It cost 3.50 dollars.", ["Dr. Smith, e.g. at work.", "It cost 3.50 dollars."]),
    ("Really?! No way... That is odd.", ["Really?!", "No way...", "That is odd."]),
    ("Wait... what happened?", ["Wait... what happened?"]),
    ("First line\nSecond line\nand its wrapped end.", ["First line", "Second line\nand its wrapped end."]),
    ("One.\n\nanother paragraph", ["One.", "another paragraph"]),
    ("  Just one, with no end mark  ", ["Just one, with no end mark"]),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    """Abbreviations, decimals, "?!", ellipses and line breaks split where a reader would."""
    assert [text[a:b] for a, b in split_sentences(text)] == expected


def test_long_unpunctuated_run_is_cut() -> None:
    """A transcript without punctuation still gives a timeline of bounded sentences."""
    text = " ".join(["word"] * 130)
    spans = split_sentences(text)
    assert len(spans) == 3 and all(len(text[a:b].split()) <= 50 for a, b in spans)


def test_deterministic(recognizer: TextEmotionRecognizer) -> None:
    """The same text gives the same numbers, from the same or a new recognizer."""
    text = "I can't believe you did that! Get out. Thanks anyway, it was lovely."
    first, again = recognizer.predict(text), recognizer.predict(text)
    fresh = TextEmotionRecognizer().predict(text)
    assert first == again
    assert np.array_equal(first.matrix, fresh.matrix)


@pytest.mark.parametrize("bad", ["", "   \n\t"])
def test_empty_text_is_a_clear_error(recognizer: TextEmotionRecognizer, bad: str) -> None:
    """Empty text raises InputError naming the input and the fix."""
    with pytest.raises(InputError, match=r"text.*non-empty"):
        recognizer.predict(bad)


def test_bad_weights_are_a_clear_error() -> None:
    """Weights must name the three experts."""
    with pytest.raises(InputError, match="weights"):
        TextEmotionRecognizer(weights={"embedding": 1.0})

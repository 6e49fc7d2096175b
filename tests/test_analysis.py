"""`avatar analyze`: the emotion timeline of text, speech or both, its JSON shape, plot and errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from avatar.analysis import CHARS_PER_S, sentence_times
from avatar.cli import app
from avatar.frontend.alignment import Alignment, Interval
from generators.conditioning import EMOTIONS
from tests.conftest import SHARED_DATA

TEXT = "The meeting is at three o'clock. I am so happy you are here. This is terrible, I am scared."


def check_shape(result: dict) -> None:
    """The documented JSON shape scripts rely on."""
    u = result["utterance"]
    assert u["label"] in EMOTIONS and set(u["probs"]) == set(EMOTIONS)
    assert sum(u["probs"].values()) == pytest.approx(1, abs=1e-3)
    assert {"valence", "arousal", "dominance", "confidence"} <= set(u)
    for w in result["windows"]:
        assert {"start", "end", "label", "probs"} <= set(w) and w["end"] - w["start"] <= 1.5 + 1e-6
    starts = [w["start"] for w in result["windows"]]
    assert starts == sorted(starts) and all(b - a == pytest.approx(0.5) for a, b in zip(starts, starts[1:],
                                                                                     strict=False))


def test_text_timeline_json_and_plot(tmp_path):
    result = CliRunner().invoke(app, ["analyze", "--text", TEXT, "--json", str(tmp_path / "e.json"),
                                      "--plot", str(tmp_path / "e.png")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "e.json").read_text())
    check_shape(data)
    assert data["sources"] == ["text"] and data["timing"] == "estimated from text length"
    assert data["duration_s"] == pytest.approx(len(TEXT) / CHARS_PER_S, abs=0.01)
    assert [s["label"] for s in data["text"]["sentences"]] == ["neutral", "happiness", "fear"]
    # The timeline follows the sentences: neutral first, happiness in the middle, fear at the end.
    windows = data["windows"]
    assert windows[0]["label"] == "neutral" and windows[-1]["label"] == "fear"
    assert (tmp_path / "e.png").stat().st_size > 10_000


def test_sentences_get_times_from_the_aligned_words():
    words = "the meeting is at three o'clock i am so happy".split()
    alignment = Alignment(tuple(Interval(0.5 * i, 0.5 * i + 0.4, w) for i, w in enumerate(words)), (), 6.0,
                          "", "given")
    text = "The meeting is at three o'clock. I am so happy."
    spans = [(0, 32), (33, len(text))]
    (a0, a1), (b0, b1) = sentence_times(text, spans, 6.0, alignment)
    assert a0 == 0.0 and a1 == pytest.approx(2.5 + 0.4)  # ends with "o'clock", the sixth word
    assert b0 == pytest.approx(3.0) and b1 == 6.0


@pytest.mark.parametrize("args, message", [
    ([], "nothing to analyze"),
    (["missing.wav"], "does not exist"),
    (["--text", "   "], "nothing to analyze"),
])
def test_bad_input_is_one_clear_line(args, message):
    result = CliRunner().invoke(app, ["analyze", *args])
    assert result.exit_code == 2 and message in result.output


EMODB_ANGER = SHARED_DATA / "emodb" / "wav" / "03a02Wb.wav"  # an anger clip all of EmoDB's listeners agreed on


@pytest.fixture()
def anger_clip():
    if not EMODB_ANGER.is_file():
        pytest.skip(f"EmoDB not found at {EMODB_ANGER.parent}")
    return EMODB_ANGER


def test_speech_timeline_reads_the_voice(anger_clip, tmp_path):
    result = CliRunner().invoke(app, ["analyze", str(anger_clip), "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "e.json").read_text())
    check_shape(data)
    assert data["sources"] == ["speech"] and data["timing"] == "audio"
    assert data["utterance"]["label"] == "anger" and data["speech"]["utterance"]["label"] == "anger"
    assert data["windows"][-1]["end"] == pytest.approx(data["duration_s"], abs=0.05)


def test_speech_and_text_are_fused(anger_clip):
    from avatar.analysis import analyze_emotion
    from avatar.frontend.audio import load_audio

    audio = load_audio(anger_clip)
    analysis = analyze_emotion(audio, "I am furious, this is outrageous!")
    data = analysis.to_json()
    assert data["sources"] == ["speech", "text"]
    assert data["utterance"]["label"] == "anger"
    # Calm words pull the fused reading away from the angry voice: fusion weighs both sources.
    calm = analyze_emotion(audio, "The weather is mild and the meeting is at noon.").to_json()
    assert calm["utterance"]["probs"]["anger"] < data["utterance"]["probs"]["anger"]

"""Speaking style from prosody, and the emotion presets of the voice."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.errors import InputError
from avatar.frontend.audio import Audio, load_audio
from avatar.frontend.emotional_prosody import emotion_prosody
from avatar.frontend.style import STYLE_DIMS, estimate_style
from avatar.frontend.tts import Prosody
from tests.conftest import EXAMPLE_TEXT

VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")


@pytest.fixture(scope="module")
def spoken():
    """The example spoken slowly, at the default rate, and fast, with their alignments."""
    from avatar.frontend.speech import speak

    return {rate: speak(EXAMPLE_TEXT, Prosody(rate=rate)) for rate in (0.8, 1.0, 1.3)}


def test_rate_and_pauses_follow_the_voice(spoken):
    styles = {rate: estimate_style(s.audio, s.alignment) for rate, s in spoken.items()}
    rates = [styles[r].syllables_per_s for r in (0.8, 1.0, 1.3)]
    assert rates[0] < rates[1] < rates[2]
    assert styles[0.8].mean_pause_s > styles[1.3].mean_pause_s
    assert len(styles[1.0].vector()) == len(STYLE_DIMS)


def test_pitch_level_follows_a_pitch_shift():
    from avatar.frontend.tts import get_voice

    voice = get_voice()
    low = estimate_style(voice.synthesize(EXAMPLE_TEXT, Prosody(pitch_semitones=-3)))
    high = estimate_style(voice.synthesize(EXAMPLE_TEXT, Prosody(pitch_semitones=3)))
    semitones = 12 * np.log2(high.f0_median_hz / low.f0_median_hz)
    assert 4.5 < semitones < 7.5
    assert high.vector()[0] > low.vector()[0]


def test_real_speaker_style_is_ordinary_and_rate_is_close_to_the_textgrid(beat_dir):
    from avatar.frontend.textgrid import load_alignment_textgrid

    take = "2_scott_0_1_1"
    audio = load_audio(beat_dir / "wav" / f"{take}.wav")
    alignment = load_alignment_textgrid(beat_dir / "textgrid" / f"{take}.TextGrid")
    aligned, acoustic = estimate_style(audio, alignment), estimate_style(audio)
    assert 100 < aligned.f0_median_hz < 250  # an adult male voice
    assert np.all(np.abs(aligned.vector()) < 2.0)  # a conversational speaker sits near the reference values
    assert acoustic.syllables_per_s == pytest.approx(aligned.syllables_per_s, rel=0.25)


def test_style_drives_the_animators_knobs(spoken):
    style = estimate_style(spoken[1.3].audio, spoken[1.3].alignment)
    slow = estimate_style(spoken[0.8].audio, spoken[0.8].alignment)
    assert style.body_style().rate > slow.body_style().rate
    assert style.face_style().head_motion > 0


def test_silence_is_a_clear_error():
    quiet = Audio(np.r_[np.zeros(8000), 0.01 * np.random.default_rng(0).standard_normal(8000)].astype(np.float32),
                  16_000)
    with pytest.raises(InputError, match="voiced speech"):
        estimate_style(quiet)


def test_emotion_presets_colour_the_voice():
    assert emotion_prosody("neutral", 1.0) == Prosody()
    sad, angry = emotion_prosody("sadness", 0.8), emotion_prosody("anger", 0.8)
    assert sad.rate < 1 and sad.pitch_semitones < 0 and sad.volume < 1 and sad.expressiveness < 1
    assert angry.expressiveness > 1 and angry.pitch_semitones > 0
    assert emotion_prosody("fear", 0.5).rate == pytest.approx(1 + 0.5 * 0.25)
    base = Prosody(rate=1.9)
    assert emotion_prosody("fear", 1.0, base).rate == 2.0  # clipped to the voice's range
    with pytest.raises(InputError, match="choose one of"):
        emotion_prosody("bored")

"""Text to speech: intelligible, deterministic per seed, with rate and pitch control."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from avatar.errors import InputError
from avatar.frontend.alignment import recognize
from avatar.frontend.pronounce import normalize_transcript
from avatar.frontend.tts import Prosody, get_voice
from tests.conftest import EXAMPLE_TEXT

SHORT = "Please tell me about your week."


def test_speech_is_intelligible(spoken_example):
    """A recognizer that never saw the text hears most of its words."""
    heard = set(recognize(spoken_example.resampled()).split())
    said = normalize_transcript(EXAMPLE_TEXT)
    assert sum(w in heard for w in said) / len(said) >= 0.6, heard


def test_same_seed_same_samples_other_seed_varies():
    voice = get_voice()
    a, b, c = (voice.synthesize(SHORT, seed=s).samples for s in (7, 7, 8))
    assert np.array_equal(a, b)
    assert len(a) != len(c) or not np.allclose(a, c)


def test_flat_expressiveness_ignores_seed():
    voice = get_voice()
    flat = Prosody(expressiveness=0.0)
    assert np.array_equal(voice.synthesize(SHORT, flat, seed=1).samples, voice.synthesize(SHORT, flat, seed=2).samples)


def test_rate_changes_duration():
    voice = get_voice()
    normal = voice.synthesize(SHORT, seed=0).duration
    fast = voice.synthesize(SHORT, Prosody(rate=1.5), seed=0).duration
    slow = voice.synthesize(SHORT, Prosody(rate=0.7), seed=0).duration
    assert fast < 0.8 * normal and slow > 1.25 * normal


def _median_f0(samples: np.ndarray, rate: int) -> float:
    f0, voiced, _ = librosa.pyin(samples, fmin=50, fmax=500, sr=rate, frame_length=2048)
    return float(np.nanmedian(f0[voiced]))


@pytest.mark.parametrize("semitones", [3, -3])
def test_pitch_shift_moves_pitch(spoken_example, semitones):
    shifted = get_voice().synthesize(EXAMPLE_TEXT, Prosody(pitch_semitones=semitones), seed=0)
    ratio = _median_f0(shifted.samples, shifted.sample_rate) / _median_f0(
        spoken_example.samples, spoken_example.sample_rate)
    assert ratio == pytest.approx(2 ** (semitones / 12), rel=0.05)


@pytest.mark.parametrize("text", ["", "   ", "!!! ...", "-- ?"])
def test_nothing_to_say(text):
    with pytest.raises(InputError):
        get_voice().synthesize(text)


def test_out_of_range_prosody_names_the_setting():
    with pytest.raises(InputError, match="rate=5"):
        get_voice().synthesize(SHORT, Prosody(rate=5))


def test_unknown_voice_lists_the_known_ones():
    with pytest.raises(InputError, match="joe"):
        get_voice("nobody")

"""The voice's pitch shifter (avatar/frontend/pitch.py): frequencies move by the asked semitones, nothing else."""

import numpy as np
import pytest

from avatar.frontend.pitch import shift_pitch, stretch

RATE = 22050


def harmonic_tone(f0: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))).astype(np.float32)


def strongest_frequency(samples: np.ndarray) -> float:
    middle = samples[len(samples) // 4: 3 * len(samples) // 4] * np.hanning(len(samples) // 2)
    spectrum = np.abs(np.fft.rfft(middle, n=8 * len(middle)))
    return float(np.argmax(spectrum) * RATE / (8 * len(middle)))


@pytest.mark.parametrize("semitones", [-3.0, -1.0, 1.5, 4.0])
def test_every_frequency_moves_by_the_semitones_and_the_length_stays(semitones):
    tone = harmonic_tone(150.0)
    shifted = shift_pitch(tone, RATE, semitones)
    assert shifted.shape == tone.shape and shifted.dtype == tone.dtype
    assert strongest_frequency(shifted) == pytest.approx(150.0 * 2 ** (semitones / 12), rel=0.01)
    assert np.sqrt(np.mean(shifted**2)) == pytest.approx(np.sqrt(np.mean(tone**2)), rel=0.1)  # same loudness


def test_stretch_keeps_the_pitch_and_scales_the_duration():
    tone = harmonic_tone(200.0).astype(np.float64)
    for factor in (0.8, 1.25):
        longer = stretch(tone, factor)
        assert len(longer) == round(len(tone) * factor)
        assert strongest_frequency(longer) == pytest.approx(200.0, rel=0.01)


def test_no_shift_and_empty_input_are_returned_as_they_are():
    tone = harmonic_tone(150.0, 0.05)  # shorter than one analysis frame
    assert shift_pitch(tone, RATE, 0.0) is tone
    assert shift_pitch(tone[:0], RATE, 2.0).shape == (0,)
    assert shift_pitch(tone, RATE, 2.0).shape == tone.shape


def test_the_same_as_librosas_pitch_shift_on_speech():
    """The classic method, as librosa implements it: the two agree to the ear on the voice's own speech."""
    librosa = pytest.importorskip("librosa")
    from avatar.frontend.tts import get_voice

    speech = get_voice().synthesize("The committee met on Tuesday.", seed=0)
    ours = shift_pitch(speech.samples, speech.sample_rate, 2.0)
    theirs = librosa.effects.pitch_shift(speech.samples, sr=speech.sample_rate, n_steps=2.0)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.9999

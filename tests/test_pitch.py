"""The voice's pitch shifter (avatar/frontend/pitch.py): the pitch moves by the asked semitones, the formants stay."""

import numpy as np
import pytest
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

from avatar.frontend.audio import Audio
from avatar.frontend.features import extract_features
from avatar.frontend.pitch import shift_pitch

RATE = 22050


def harmonic_tone(f0: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))).astype(np.float32)


def vowel(f0: float, formants: tuple[float, ...] = (700.0, 1200.0), seconds: float = 1.0) -> np.ndarray:
    """A glottal pulse train through two-pole resonances: a vowel with its formants at `formants`."""
    pulses = np.zeros(int(seconds * RATE))
    pulses[:: int(round(RATE / f0))] = 1.0
    y = pulses
    for f in formants:
        r = np.exp(-np.pi * 80.0 / RATE)  # 80 Hz bandwidth
        y = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], y)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def strongest_frequency(samples: np.ndarray) -> float:
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4] * np.hanning(len(samples) // 2)
    spectrum = np.abs(np.fft.rfft(middle, n=8 * len(middle)))
    return float(np.argmax(spectrum) * RATE / (8 * len(middle)))


def envelope_db(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The long-term spectrum in dB, smoothed over 250 Hz (wider than any harmonic spacing here): the envelope."""
    n = 2048
    frames = np.lib.stride_tricks.sliding_window_view(samples, n)[:: n // 4] * np.hanning(n)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(0)
    width = int(250 / (RATE / n))
    return np.fft.rfftfreq(n, 1 / RATE), np.convolve(10 * np.log10(power + 1e-12), np.ones(width) / width, "same")


def formants(samples: np.ndarray, order: int = 8) -> tuple[float, float]:
    """The two lowest formants: the resonances of an all-pole (LPC, autocorrelation method) fit, below 400 Hz wide."""
    x = samples.astype(np.float64) * np.hanning(len(samples))
    r = np.correlate(x, x, "full")[len(x) - 1 : len(x) + order]
    a = np.concatenate([[1.0], -solve_toeplitz(r[:order], r[1 : order + 1])])
    roots = [z for z in np.roots(a) if z.imag > 0 and -np.log(abs(z)) * RATE / np.pi < 400]
    found = sorted(np.angle(z) * RATE / (2 * np.pi) for z in roots)
    return found[0], found[1]


def median_f0(samples: np.ndarray) -> float:
    f0 = extract_features(Audio(samples, RATE, "test"), fps=100.0).f0_hz[:, 0]
    return float(np.median(f0[f0 > 0]))


@pytest.mark.parametrize("semitones", [-3.0, -1.0, 1.5, 4.0])
def test_the_pitch_moves_by_the_semitones_and_the_length_and_level_stay(semitones):
    tone = harmonic_tone(150.0)
    shifted = shift_pitch(tone, RATE, semitones)
    assert shifted.shape == tone.shape and shifted.dtype == tone.dtype
    assert strongest_frequency(shifted) == pytest.approx(150.0 * 2 ** (semitones / 12), rel=0.01)
    assert np.sqrt(np.mean(shifted**2)) == pytest.approx(np.sqrt(np.mean(tone**2)), rel=0.15)  # same loudness


@pytest.mark.parametrize("semitones", [-3.75, 4.0])
def test_the_formants_stay_where_they_were(semitones):
    """A resampling shifter would move the 700 Hz formant to 560 or 880 Hz: a bigger or a smaller speaker."""
    original = vowel(120.0)
    shifted = shift_pitch(original, RATE, semitones)
    assert median_f0(shifted) == pytest.approx(120.0 * 2 ** (semitones / 12), rel=0.02)
    assert formants(shifted) == pytest.approx(formants(original), rel=0.04)
    assert formants(original) == pytest.approx((700.0, 1200.0), rel=0.04)


def test_the_voice_moves_by_the_semitones_and_keeps_its_spectral_envelope():
    from avatar.frontend.tts import get_voice

    speech = get_voice().synthesize("The committee met on Tuesday to talk about the new budget.", seed=0)
    assert speech.sample_rate == RATE
    frequencies, before = envelope_db(speech.samples)
    band = (frequencies > 300) & (frequencies < 5000)
    for semitones in (-3.75, 3.0, 5.625):
        shifted = shift_pitch(speech.samples, RATE, semitones)
        moved = 12 * np.log2(median_f0(shifted) / median_f0(speech.samples))
        assert moved == pytest.approx(semitones, abs=0.4)
        difference = (envelope_db(shifted)[1] - before)[band]
        assert np.sqrt(np.mean((difference - difference.mean()) ** 2)) < 1.5  # dB; the old shifter's: 3-4 dB
        assert np.abs(shifted).max() <= 1.05 * np.abs(speech.samples).max()  # no clicks at the grain joins


def test_no_shift_and_empty_or_silent_input_are_returned_whole():
    tone = harmonic_tone(150.0, 0.05)  # shorter than one analysis frame
    assert shift_pitch(tone, RATE, 0.0) is tone
    assert shift_pitch(tone[:0], RATE, 2.0).shape == (0,)
    assert shift_pitch(tone, RATE, 2.0).shape == tone.shape
    silence = np.zeros(RATE // 2, np.float32)
    assert np.array_equal(shift_pitch(silence, RATE, 2.0), silence)


@pytest.mark.parametrize("pitch_range", [0.0, 0.5, 2.0])
def test_the_pitch_range_scales_the_intonation_around_its_median(pitch_range):
    t = np.arange(2 * RATE) / RATE
    f0 = 110.0 * 2 ** (0.25 * np.sin(2 * np.pi * 0.5 * t))  # a quarter-octave swing, one rise and fall a second
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    glide = (0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(np.float32)

    def semitones(samples: np.ndarray) -> np.ndarray:
        f = extract_features(Audio(samples, RATE, "test"), fps=100.0).f0_hz[10:-10, 0]
        return 12 * np.log2(f[f > 0] / 110.0)

    before, after = semitones(glide), semitones(shift_pitch(glide, RATE, 0.0, pitch_range))
    assert np.median(after) == pytest.approx(np.median(before), abs=0.5)
    swing = np.percentile(after, 95) - np.percentile(after, 5)
    assert swing == pytest.approx(pitch_range * (np.percentile(before, 95) - np.percentile(before, 5)), abs=0.6)


def test_a_wider_range_does_not_throw_a_high_onset_further_up():
    # A voice that starts an octave above its median (as the engine's voice can on "The") is not sent squeaking two
    # octaves up by a doubled range: a widened swing stops at RANGE_CAP, and a stretch already beyond stays put.
    onset, body = harmonic_tone(220.0, 0.2), harmonic_tone(110.0, 1.0)
    voice = np.concatenate([onset, body]).astype(np.float32)
    f = extract_features(Audio(shift_pitch(voice, RATE, 0.0, 2.0), RATE, "test"), fps=100.0).f0_hz[:, 0]
    assert np.median(f[3:17]) == pytest.approx(220.0, rel=0.06)
    assert np.median(f[40:110]) == pytest.approx(110.0, rel=0.06)

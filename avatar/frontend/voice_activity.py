"""Is there speech in a recording? Periodic sound at a voice's pitch that is not a pure tone: what a voice makes,
and what a tone, a sweep, white noise, hum or a DC offset does not.

Frames of 64 ms every 10 ms, the offset removed and the speech band (80 Hz - 4 kHz) kept. A frame is speech-like when
it is loud (within LOUD_RANGE_DB of the recording's loudest frame), periodic at a voice's pitch (its normalised
autocorrelation has a peak of at least PERIODIC at a lag of 2.5-16 ms: 60-400 Hz) and not one spectral peak (a tone
or a sweep holds TONAL of its power within 50 Hz of its strongest frequency; a voice spreads it over harmonics, even
a low, soft one).
Evidence: bench/voice_activity.py runs real speech (the BEAT takes, EmoDB, the SER corpora: all pass) and synthetic
non-speech (tones, sweeps, white and pink noise, hum, clicks, offsets: none pass; brown noise does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.frontend.audio import SAMPLE_RATE, Audio

FRAME, HOP, FFT = 1024, 160, 2048  # 64 ms frames every 10 ms at 16 kHz; 7.8 Hz bins
BAND_HZ = (80.0, 4000.0)
LAG_S = (1 / 400, 1 / 60)
LOUD_RANGE_DB = 35.0
PERIODIC = 0.45
TONAL = 0.9
PEAK_HZ = 50.0
MIN_SPEECH_S = 0.1  # less speech-like sound than this is no speech (the sparsest real clip has 0.2 s)
_BLOCK = 1000  # frames analysed at once (10 s): bounds the memory of long recordings


@dataclass(frozen=True)
class VoiceActivity:
    """How much of a recording sounds like a voice, and what the rest sounds like."""

    speech_s: float  # seconds of loud, periodic, non-tonal frames
    duration_s: float
    periodic_s: float  # seconds of loud periodic frames (speech-like or tonal)

    @property
    def has_speech(self) -> bool:
        """Enough speech-like sound to animate."""
        return self.speech_s >= MIN_SPEECH_S

    def describe(self) -> str:
        """What the recording sounds like instead of speech, for messages."""
        if self.periodic_s >= MIN_SPEECH_S:
            return "a steady tone or a sweep"
        return "noise, hum or an offset, with no voice's pitch in it"


def voice_activity(audio: Audio) -> VoiceActivity:
    """Measure the speech-like and the periodic seconds of `audio`."""
    samples = audio.resampled(SAMPLE_RATE).samples.astype(np.float32, copy=False)
    padded = np.pad(samples, (FRAME // 2, FRAME // 2))
    frames = max(0, 1 + (len(padded) - FRAME) // HOP)
    window = np.hanning(FRAME).astype(np.float32)
    # The window's own autocorrelation falls with the lag; dividing by it keeps low voices (long periods) periodic.
    window_correlation = np.correlate(window, window, "full")[FRAME - 1 :] / np.sum(window**2)
    freqs = np.fft.rfftfreq(FFT, 1 / SAMPLE_RATE)
    outside = (freqs < BAND_HZ[0]) | (freqs > BAND_HZ[1])
    lags = np.arange(int(LAG_S[0] * SAMPLE_RATE), int(LAG_S[1] * SAMPLE_RATE) + 1)
    near = int(round(PEAK_HZ / freqs[1]))
    power, periodic, tonal = [np.zeros(0)], [np.zeros(0)], [np.zeros(0, bool)]
    for start in range(0, frames, _BLOCK):
        index = (start + np.arange(min(_BLOCK, frames - start)))[:, None] * HOP + np.arange(FRAME)
        block = padded[index]
        block = (block - block.mean(axis=1, keepdims=True)) * window
        spectrum = np.abs(np.fft.rfft(block, FFT, axis=1)) ** 2
        spectrum[:, outside] = 0.0
        in_band = spectrum.sum(axis=1)
        power.append(in_band)
        correlation = np.fft.irfft(spectrum, FFT, axis=1)  # of the band-limited frame (Wiener-Khinchin)
        normalised = correlation[:, lags] / np.maximum(correlation[:, :1], 1e-20) / window_correlation[lags]
        # Only a peak counts: low-passed noise correlates at short lags too, but falls away without rising again.
        inner = normalised[:, 1:-1]
        peaks = (inner > normalised[:, :-2]) & (inner >= normalised[:, 2:])
        periodic.append(np.where(peaks, inner, 0.0).max(axis=1, initial=0.0))
        strongest = np.argmax(spectrum, axis=1)[:, None] + np.arange(-near, near + 1)
        around = np.take_along_axis(spectrum, np.clip(strongest, 0, spectrum.shape[1] - 1), axis=1).sum(axis=1)
        tonal.append(around >= TONAL * np.maximum(in_band, 1e-20))
    power, periodic, tonal = (np.concatenate(v) for v in (power, periodic, tonal))
    if not len(power) or power.max() <= 0:
        return VoiceActivity(0.0, audio.duration, 0.0)
    level = 10 * np.log10(np.maximum(power, 1e-30))
    voiced = (level >= level.max() - LOUD_RANGE_DB) & (periodic >= PERIODIC)
    seconds = HOP / SAMPLE_RATE
    return VoiceActivity(float(np.sum(voiced & ~tonal) * seconds), audio.duration, float(np.sum(voiced) * seconds))

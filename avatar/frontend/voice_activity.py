"""Is there speech in a recording? What a voice makes: periodic sound at a voice's pitch, built of harmonics, spread
over more than one spectral peak and never quite steady; what a tone, a sweep, a note, noise, hum or an offset
does not.

Frames of 64 ms every 10 ms, the offset removed and the speech band (80 Hz - 4 kHz) kept. A frame is speech-like when
- it is loud: within LOUD_RANGE_DB of the recording's loudest frame;
- it is periodic at a voice's pitch: its normalised autocorrelation has a peak of at least PERIODIC at a lag of
  2.5-16 ms (60-400 Hz);
- the period comes from a comb of harmonics, not from the spectrum's shape: with the spectral envelope half divided
  out (the square root of the envelope the first 2 ms of the cepstrum describe), the autocorrelation still peaks at
  HARMONIC or more. Noise whose power piles up at the band's low edge (brown noise, rumble) correlates at a voice's
  lags too, but flattened it is close to white noise, with no peak;
- it is not one spectral peak: a tone or a sweep holds TONAL of its power within 50 Hz of its strongest frequency;
- it is not steady: a voice's pitch and formants move, so its spectrum 50 ms before or after differs, where a hum,
  a buzz or a synthesised note's is the same (a cosine similarity of the magnitude spectra of STEADY or more; 0.5 %
  of the voiced frames of real speech reach it). An unbroken voiced stretch steady for half its length or more is
  not a voice (a note's onset and fade differ from its middle, so single frames are not judged alone).
Evidence: bench/voice_activity.py runs real speech (the BEAT takes, EmoDB, the SER corpora; clean, at -40 dBFS,
telephone-band and in noise at 10 dB SNR) and synthetic non-speech (tones, sweeps, melodies, white, pink and brown
noise, hum, buzz, clicks, offsets); the README gives its figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft  # pocketfft with SIMD over rows: 3x numpy's on these frame batches

from avatar.frontend.audio import SAMPLE_RATE, Audio

FRAME, HOP, FFT = 1024, 160, 2048  # 64 ms frames every 10 ms at 16 kHz; 7.8 Hz bins
BAND_HZ = (80.0, 4000.0)
LAG_S = (1 / 400, 1 / 60)
LOUD_RANGE_DB = 35.0
PERIODIC = 0.45
HARMONIC = 0.4
ENVELOPE_S = 0.002  # cepstral lifter: the envelope varies slower than the harmonics of a 400 Hz voice (2.5 ms)
TONAL = 0.9
PEAK_HZ = 50.0
STEADY = 0.99
STEADY_GAP = 5  # frames (50 ms) between the spectra compared
MIN_SPEECH_S = 0.1  # less speech-like sound is no speech (bench/voice_activity.py: the sparsest real clip has 0.11 s)
_BLOCK = 1000  # frames analysed at once (10 s): bounds the memory of long recordings


@dataclass(frozen=True)
class VoiceActivity:
    """How much of a recording sounds like a voice, and what the rest sounds like."""

    speech_s: float  # seconds of speech-like frames
    duration_s: float
    periodic_s: float  # seconds of loud periodic frames (speech-like, tonal, steady or narrow-band noise)
    steady_s: float = 0.0  # seconds of loud periodic frames built of harmonics whose spectrum stands still

    @property
    def has_speech(self) -> bool:
        """Enough speech-like sound to animate."""
        return self.speech_s >= MIN_SPEECH_S

    def describe(self) -> str:
        """What the recording sounds like instead of speech, for messages."""
        if self.steady_s >= MIN_SPEECH_S:
            return "a steady hum, a buzz or music"
        if self.periodic_s >= MIN_SPEECH_S:
            return "a steady tone, a sweep or rumbling noise"
        return "noise, hum or an offset, with no voice's pitch in it"


def voice_activity(audio: Audio) -> VoiceActivity:
    """Measure the speech-like and the periodic seconds of `audio`."""
    measures = frame_measures(audio.resampled(SAMPLE_RATE).samples)
    power = measures["power"]
    if not len(power) or power.max() <= 0:
        return VoiceActivity(0.0, audio.duration, 0.0)
    level = 10 * np.log10(np.maximum(power, 1e-30))
    periodic = (level >= level.max() - LOUD_RANGE_DB) & (measures["periodic"] >= PERIODIC)
    voiced = periodic & (measures["harmonic"] >= HARMONIC) & ~measures["tonal"]
    steady = _steady_runs(voiced, measures["similarity"] >= STEADY)
    seconds = HOP / SAMPLE_RATE
    return VoiceActivity(
        float(np.sum(voiced & ~steady) * seconds),
        audio.duration,
        float(np.sum(periodic) * seconds),
        float(np.sum(steady) * seconds),
    )


def _steady_runs(voiced: np.ndarray, steady: np.ndarray) -> np.ndarray:
    """The voiced frames of every unbroken voiced stretch that is steady for at least half its length: a note or a
    hum (whose onset and fade differ from the rest), where a voice is steady now and then at most."""
    edges = np.flatnonzero(np.diff(np.r_[0, voiced.astype(np.int8), 0]))
    starts, stops = edges[::2], edges[1::2]
    counted = np.r_[0, np.cumsum(steady & voiced)]
    runs = np.zeros_like(voiced)
    for start, stop in zip(starts, stops, strict=True):
        runs[start:stop] = counted[stop] - counted[start] >= 0.5 * (stop - start)
    return runs


def frame_measures(samples: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame: in-band power, periodicity, periodicity of the flattened spectrum, whether it is one peak, and how
    like its spectrum is to the one STEADY_GAP frames before or after (the larger)."""
    padded = np.pad(samples.astype(np.float32, copy=False), (FRAME // 2, FRAME // 2))
    frames = max(0, 1 + (len(padded) - FRAME) // HOP)
    window = np.hanning(FRAME).astype(np.float32)
    # The window's own autocorrelation falls with the lag; dividing by it keeps low voices (long periods) periodic.
    window_correlation = np.correlate(window, window, "full")[FRAME - 1 :] / np.sum(window**2)
    freqs = np.fft.rfftfreq(FFT, 1 / SAMPLE_RATE)
    outside = (freqs < BAND_HZ[0]) | (freqs > BAND_HZ[1])
    lags = np.arange(int(LAG_S[0] * SAMPLE_RATE), int(LAG_S[1] * SAMPLE_RATE) + 1)
    near = int(round(PEAK_HZ / freqs[1]))
    lifter = int(ENVELOPE_S * SAMPLE_RATE)

    def peak_correlation(spectrum: np.ndarray) -> np.ndarray:
        correlation = fft.irfft(spectrum, FFT, axis=1)  # of the band-limited frame (Wiener-Khinchin)
        normalised = correlation[:, lags] / np.maximum(correlation[:, :1], 1e-30) / window_correlation[lags]
        # Only a peak counts: low-passed noise correlates at short lags too, but falls away without rising again.
        inner = normalised[:, 1:-1]
        peaks = (inner > normalised[:, :-2]) & (inner >= normalised[:, 2:])
        return np.where(peaks, inner, 0.0).max(axis=1, initial=0.0)

    measures: dict[str, list] = {"power": [], "periodic": [], "harmonic": [], "tonal": [], "similarity": []}
    for start in range(0, frames, _BLOCK):
        # The block and STEADY_GAP frames either side, for the spectra its first and last frames are compared with.
        first, stop = max(0, start - STEADY_GAP), min(frames, start + _BLOCK + STEADY_GAP)
        index = np.arange(first, stop)[:, None] * HOP + np.arange(FRAME)
        block = padded[index]
        block = (block - block.mean(axis=1, keepdims=True)) * window
        full = np.abs(fft.rfft(block, FFT, axis=1)) ** 2
        spectrum = np.where(outside, 0.0, full)
        measures["similarity"].append(_similarity(np.sqrt(spectrum), start - first, min(_BLOCK, frames - start)))
        own = slice(start - first, start - first + min(_BLOCK, frames - start))
        full, spectrum = full[own], spectrum[own]
        in_band = spectrum.sum(axis=1)
        measures["power"].append(in_band)
        measures["periodic"].append(peak_correlation(spectrum))
        log_spectrum = np.log(full + 1e-9 * full.max(axis=1, keepdims=True) + 1e-30)
        cepstrum = fft.irfft(log_spectrum, FFT, axis=1)
        cepstrum[:, lifter : FFT - lifter + 1] = 0.0
        envelope = fft.rfft(cepstrum, FFT, axis=1).real  # the log spectrum's slow part
        measures["harmonic"].append(peak_correlation(spectrum * np.exp(-0.5 * envelope)))
        strongest = np.argmax(spectrum, axis=1)[:, None] + np.arange(-near, near + 1)
        around = np.take_along_axis(spectrum, np.clip(strongest, 0, spectrum.shape[1] - 1), axis=1).sum(axis=1)
        measures["tonal"].append(around >= TONAL * np.maximum(in_band, 1e-20))
    return {name: np.concatenate(values) if values else np.zeros(0) for name, values in measures.items()}


def _similarity(magnitude: np.ndarray, offset: int, count: int) -> np.ndarray:
    """For rows offset..offset+count of `magnitude`: the larger cosine similarity with the row STEADY_GAP before
    and the one STEADY_GAP after (0 where neither exists)."""
    unit = magnitude / np.maximum(np.linalg.norm(magnitude, axis=1, keepdims=True), 1e-30)
    rows = np.arange(offset, offset + count)
    best = np.zeros(count)
    for partner in (rows - STEADY_GAP, rows + STEADY_GAP):
        valid = (partner >= 0) & (partner < len(unit))
        best[valid] = np.maximum(best[valid], np.sum(unit[rows[valid]] * unit[partner[valid]], axis=1))
    return best

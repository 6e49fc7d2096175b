"""Pitch shifting for the voice: a phase-vocoder time stretch, then resampling back to the original duration.

The voice (Piper) has no pitch control of its own, so the emotion presets shift the rendered speech by a few
semitones. The method is the classic one (Flanagan and Golden's phase vocoder; librosa.effects.pitch_shift works the
same way): stretch the speech in time by the pitch factor while keeping its spectrum, then resample it by that
factor, which restores the duration and scales every frequency. Written here because importing librosa's effects
and compiling its kernels costs a render about 2 s.
"""

from __future__ import annotations

import numpy as np

N_FFT = 2048  # about 90 ms at the voice's 22.05 kHz: long enough to resolve the harmonics of a low voice
HOP = N_FFT // 4


def shift_pitch(samples: np.ndarray, sample_rate: float, semitones: float) -> np.ndarray:
    """The mono samples with every frequency scaled by 2^(semitones / 12); same length and dtype."""
    import soxr

    if not semitones or len(samples) == 0:
        return samples
    factor = 2.0 ** (semitones / 12.0)
    stretched = stretch(np.asarray(samples, np.float64), factor)
    shifted = soxr.resample(stretched, sample_rate * factor, sample_rate, quality="HQ")
    out = np.zeros(len(samples))
    out[: min(len(out), len(shifted))] = shifted[: len(out)]
    return out.astype(samples.dtype)


def stretch(samples: np.ndarray, factor: float) -> np.ndarray:
    """The samples played `factor` times longer at the same pitch (round(len * factor) samples)."""
    window = np.hanning(N_FFT + 1)[:-1]  # periodic Hann: its shifted copies sum to a constant at a quarter hop
    spectrum = np.fft.rfft(_frames(np.pad(samples, N_FFT // 2)) * window, axis=1)
    bins = np.arange(spectrum.shape[1])
    expected = 2 * np.pi * HOP * bins / N_FFT  # each bin's phase advance over one hop at its centre frequency
    steps = np.arange(0.0, len(spectrum), 1.0 / factor)  # where each output frame reads the input, in frames
    spectrum = np.pad(spectrum, ((0, 2), (0, 0)))  # the last steps interpolate towards silence
    magnitude, angle = np.abs(spectrum), np.angle(spectrum)
    phase = angle[0].copy()
    out = np.empty((len(steps), len(bins)), complex)
    for i, step in enumerate(steps):
        k, fraction = int(step), step - int(step)
        out[i] = ((1 - fraction) * magnitude[k] + fraction * magnitude[k + 1]) * np.exp(1j * phase)
        deviation = angle[k + 1] - angle[k] - expected  # the bin's true frequency, from its measured advance
        phase += expected + deviation - 2 * np.pi * np.round(deviation / (2 * np.pi))
    return _overlap_add(np.fft.irfft(out, n=N_FFT, axis=1) * window, window)[
        N_FFT // 2: N_FFT // 2 + int(round(len(samples) * factor))]


def _frames(samples: np.ndarray) -> np.ndarray:
    """(frames, N_FFT) views of the samples every HOP (the tail shorter than a frame is dropped)."""
    if len(samples) < N_FFT:
        samples = np.pad(samples, (0, N_FFT - len(samples)))
    return np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]


def _overlap_add(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The frames summed at their hops, divided by the summed squared window (exact inverse of the analysis)."""
    total = N_FFT + HOP * (len(frames) - 1)
    signal, weight = np.zeros(total), np.zeros(total)
    for i, frame in enumerate(frames):
        signal[i * HOP: i * HOP + N_FFT] += frame
        weight[i * HOP: i * HOP + N_FFT] += window**2
    return signal / np.where(weight > 1e-10, weight, 1.0)

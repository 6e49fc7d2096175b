"""Log-mel spectra for speech emotion: 64 bands, 25 ms windows every 10 ms, computed block by block or streamed.

Mel power (not its log) is what training augments: noise, babble and reverberation add in the power domain.
`mel_power_stream` gives the same frames as `mel_power` for audio that arrives in blocks, so long inputs never
have to sit in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from avatar.frontend.features import centred_hann, mel_filter_bank

SAMPLE_RATE = 16_000
FPS = 100  # frames per second
HOP = SAMPLE_RATE // FPS
WIN = 400
N_FFT = 512
N_MELS = 64
F_MIN, F_MAX = 50.0, 8000.0
POWER_FLOOR = 1e-8  # of samples in [-1, 1]: about -80 dB under a full-scale sine's band power
_BLOCK = 2000  # frames per block (20 s): memory stays flat on long inputs


@cache
def _mel_basis() -> np.ndarray:
    return mel_filter_bank(SAMPLE_RATE, N_FFT, N_MELS, F_MIN, F_MAX)


@cache
def _window() -> np.ndarray:
    return centred_hann(N_FFT, WIN)


def n_frames(n_samples: int) -> int:
    """Frames of a clip of n_samples: frame j is centred on sample HOP * j."""
    return 1 + n_samples // HOP


def mel_power(samples: np.ndarray) -> np.ndarray:
    """(T, N_MELS) float32 mel power of 16 kHz mono samples (frame j centred on sample HOP * j)."""
    y = np.asarray(samples, np.float32)
    padded = np.concatenate([np.zeros(N_FFT // 2, np.float32), y, np.zeros(N_FFT // 2, np.float32)])
    return _frames_power(padded, n_frames(len(y)))


def mel_power_stream(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Mel power of a stream of sample blocks, in pieces whose concatenation equals mel_power of all samples."""
    buffer, total, emitted = np.zeros(N_FFT // 2, np.float32), 0, 0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, np.float32)])
        total += len(block)
        ready = (len(buffer) - N_FFT) // HOP + 1 if len(buffer) >= N_FFT else 0
        if ready:
            yield _frames_power(buffer, ready)
            buffer, emitted = buffer[ready * HOP :], emitted + ready
    left = n_frames(total) - emitted
    if left > 0:
        yield _frames_power(np.concatenate([buffer, np.zeros(N_FFT, np.float32)]), left)


def _frames_power(padded: np.ndarray, count: int) -> np.ndarray:
    """Mel power of frames padded[i * HOP : i * HOP + N_FFT] for i < count, block by block."""
    out = []
    for j0 in range(0, count, _BLOCK):
        j1 = min(j0 + _BLOCK, count)
        frames = sliding_window_view(padded[j0 * HOP : (j1 - 1) * HOP + N_FFT], N_FFT)[::HOP]
        spectrum = np.fft.rfft(frames * _window(), axis=1)
        out.append(((spectrum.real**2 + spectrum.imag**2) @ _mel_basis().T).astype(np.float32))
    return np.concatenate(out) if out else np.zeros((0, N_MELS), np.float32)


def log_mel(power: np.ndarray) -> np.ndarray:
    """Natural log of mel power with the floor, float32."""
    return np.log(np.asarray(power, np.float32) + POWER_FLOOR)

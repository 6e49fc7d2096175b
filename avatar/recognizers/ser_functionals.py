"""Functionals of a span of log-mel frames: the statistics of spectrum, loudness and their changes that carry emotion.

Emotion in the voice shows in loudness and its dynamics, spectral balance (vocal effort tilts energy upward),
articulation rate and how fast the spectrum moves. A span's frames are summarised, over its speech frames (within
ACTIVE_RANGE_DB of its loudest), by: the spectral envelope relative to the span's mean level (per band), the
spread and rate of change of each band, cepstral statistics (DCT of the log-mel, c1..c20), the loudness contour,
spectral centroid, spread, tilt and flux, the strongest low band (a coarse pitch and first-formant cue), and the
rate of speech bursts. Everything is relative to the span's own level, so recording gain does not matter.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from avatar.recognizers.ser_logmel import FPS, N_MELS

ACTIVE_RANGE_DB = 40.0
N_CEPSTRA = 20
LOW_BANDS = 24  # up to about 1 kHz: where the harmonics of the voice's pitch and the first formant lie
_LN_PER_DB = np.log(10) / 10
_BINS = np.arange(N_MELS, dtype=np.float64)
_CENTRED_BINS = _BINS - _BINS.mean()
_STATS = 5  # mean, standard deviation, 10th, 50th and 90th percentile
N_FEATURES = 3 * N_MELS + 5 * N_CEPSTRA + _STATS + 3 + 5 * _STATS


def _stats(x: np.ndarray) -> list[float]:
    if len(x) == 0:
        return [0.0] * _STATS
    return [float(x.mean()), float(x.std()), *np.percentile(x, (10, 50, 90)).tolist()]


def functionals(logmel: np.ndarray) -> np.ndarray:
    """One float32 vector of N_FEATURES statistics of a (T, N_MELS) log-mel span (natural-log mel power)."""
    lm = np.asarray(logmel, np.float64)
    energy = np.log(np.exp(lm).sum(1))
    active = energy > energy.max() - ACTIVE_RANGE_DB * _LN_PER_DB
    speech = lm[active]
    relative = speech - speech.mean()
    delta = np.diff(lm, axis=0)[active[1:]]
    cepstra = dct(lm, type=2, norm="ortho", axis=1)[:, 1 : N_CEPSTRA + 1]
    active_cepstra = cepstra[active]
    delta_cepstra = np.diff(cepstra, axis=0)[active[1:]]
    share = np.exp(speech - speech.max(1, keepdims=True))
    share /= share.sum(1, keepdims=True)
    centroid = share @ _BINS
    spread = np.sqrt(np.maximum(share @ _BINS**2 - centroid**2, 0.0))
    tilt = relative @ _CENTRED_BINS / np.sum(_CENTRED_BINS**2)  # least-squares slope across the bands
    flux = np.sqrt(np.square(np.diff(relative, axis=0)).mean(1))
    low_peak = speech[:, :LOW_BANDS].argmax(1).astype(np.float64)
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    seconds = len(lm) / FPS
    zeros = np.zeros(N_MELS)
    values = [
        *relative.mean(0),
        *relative.std(0),
        *(delta.std(0) if len(delta) else zeros),
        *active_cepstra.mean(0),
        *active_cepstra.std(0),
        *np.percentile(active_cepstra, (10, 90), axis=0).ravel(),
        *(delta_cepstra.std(0) if len(delta_cepstra) else np.zeros(N_CEPSTRA)),
        *_stats(energy[active] - energy.max()),
        float(np.abs(np.diff(energy)).mean()) if len(energy) > 1 else 0.0,
        float(active.mean()),
        float((edges == 1).sum() / seconds),
        *_stats(centroid),
        *_stats(spread),
        *_stats(tilt),
        *_stats(flux),
        *_stats(low_peak),
    ]
    return np.nan_to_num(np.asarray(values, np.float64)).astype(np.float32)

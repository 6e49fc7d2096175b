"""Acoustic functionals for speech emotion: prosody, voice quality and spectral statistics over a window.

A clip is analysed once at 100 frames per second: the front end's log-mel spectrum, loudness, F0 and voicing, plus
eGeMAPS-style spectral measures (alpha ratio, Hammarberg index, spectral slopes, harmonicity, ...). Each window is
then summarised by statistics of its frames (means, spreads, percentiles, slopes, rates), which is where emotion in
speech shows: pitch level and range, loudness dynamics, spectral tilt, voice quality and articulation rate.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.fft import dct
from scipy.signal import get_window

from avatar.frontend.audio import SAMPLE_RATE, Audio
from avatar.frontend.features import ANALYSIS_FPS, HOP, extract_features

WINDOW_S = 1.5  # the timeline: windows this long...
HOP_S = 0.5  # ...starting this far apart
SEGMENT_S = 2.0  # the utterance: read whole in segments of about this long (the training clips' length)
N_MFCC = 20
N_BANDS = 40  # the front end's 80 mel bands, averaged in pairs
# Frames quieter than this many dB under the window's loudest count as pauses: statistics of spectra and pitch
# are taken over speech only, so pauses and EmoDB's zero padding do not dilute them.
ACTIVE_RANGE_DB = 40.0
PERCENTILES = (10, 50, 90)
SPECTRAL = ("alpha_ratio", "hammarberg", "slope_0_500", "slope_500_1500", "centroid", "flatness", "rolloff", "flux",
            "harmonicity", "zcr")

_N_FFT, _WIN, _AC_FRAME = 512, 400, 1024  # spectrum: 25 ms Hann in 512 points; autocorrelation: 64 ms
_MARGIN = _AC_FRAME // 2
_BLOCK = 1000  # frames per block (10 s), so memory stays flat on long clips
_FREQ = np.fft.rfftfreq(_N_FFT, 1 / SAMPLE_RATE)


@dataclass(frozen=True)
class Frames:
    """Per-frame analysis of one clip at ANALYSIS_FPS (100 Hz); every array has the same length T."""

    mfcc: np.ndarray  # (T, N_MFCC) DCT of the log-mel spectrum, c0 included
    log_mel: np.ndarray  # (T, N_BANDS) log-mel power
    level_db: np.ndarray  # (T,) RMS level in dBFS
    log_f0: np.ndarray  # (T,) F0 in semitones re 100 Hz, NaN where unvoiced
    voiced: np.ndarray  # (T,) voicing probability
    onset: np.ndarray  # (T,) onset strength (dB rise per 10 ms)
    spectral: np.ndarray  # (T, len(SPECTRAL)) spectral-shape and voice-quality measures

    def __len__(self) -> int:
        return len(self.level_db)

    def window(self, start: int, stop: int) -> Frames:
        """Frames start..stop-1."""
        return Frames(*(getattr(self, f.name)[start:stop] for f in fields(self)))


def analyse(audio: Audio) -> Frames:
    """Frame analysis of a clip, peak-normalised first (as the EmoDB training copy is, utterance by utterance)."""
    audio = audio.resampled(SAMPLE_RATE)
    peak = float(np.max(np.abs(audio.samples)))
    audio = Audio((audio.samples / max(peak, 1e-9)).astype(np.float32), SAMPLE_RATE, audio.source)
    feats = extract_features(audio, fps=ANALYSIS_FPS)
    log_mel80 = feats.log_mel.astype(np.float64)
    f0 = feats.f0_hz[:, 0].astype(np.float64)
    n = feats.n_frames
    return Frames(
        mfcc=dct(log_mel80, type=2, norm="ortho", axis=1)[:, :N_MFCC],
        log_mel=0.5 * (log_mel80[:, 0::2] + log_mel80[:, 1::2]),
        level_db=20 * np.log10(np.maximum(feats.rms[:, 0].astype(np.float64), 1e-5)),
        log_f0=np.where(f0 > 0, 12 * np.log2(np.maximum(f0, 1e-3) / 100.0), np.nan),
        voiced=feats.voiced_prob[:, 0].astype(np.float64),
        onset=feats.onset[:, 0].astype(np.float64),
        spectral=np.concatenate([_spectral_block(audio.samples, j, min(j + _BLOCK, n)) for j in range(0, n, _BLOCK)]),
    )


def _spectral_block(y: np.ndarray, j0: int, j1: int) -> np.ndarray:
    """(j1 - j0, len(SPECTRAL)) measures of frames j0..j1-1 (frame j centred on sample HOP * j)."""
    seg = np.zeros((j1 - j0 - 1) * HOP + 2 * _MARGIN + 1, np.float64)
    start = j0 * HOP - _MARGIN
    lo, hi = max(start, 0), min(start + len(seg), len(y))
    if hi > lo:
        seg[lo - start : hi - start] = y[lo:hi]

    def frames(width: int) -> np.ndarray:  # (n, width) view: frame i centred on seg[_MARGIN + i * HOP]
        return sliding_window_view(seg, width)[_MARGIN - width // 2 :: HOP][: j1 - j0]

    window = np.zeros(_N_FFT)
    window[(_N_FFT - _WIN) // 2 : (_N_FFT + _WIN) // 2] = get_window("hann", _WIN)
    spec = np.abs(np.fft.rfft(frames(_N_FFT) * window, axis=1)) ** 2 + 1e-10
    ac_frames = frames(_AC_FRAME)
    ac_frames = (ac_frames - ac_frames.mean(1, keepdims=True)) * np.hanning(_AC_FRAME)
    ac = np.fft.irfft(np.abs(np.fft.rfft(ac_frames, 2 * _AC_FRAME, axis=1)) ** 2, axis=1)
    signs = np.signbit(frames(_WIN))
    return np.column_stack([*_spectral_shape(spec), _harmonicity(ac), np.mean(signs[:, 1:] != signs[:, :-1], axis=1)])


def _spectral_shape(spec: np.ndarray) -> list[np.ndarray]:
    """Alpha ratio, Hammarberg index, slopes 0-500 and 500-1500 Hz (dB/kHz), centroid, flatness, rolloff, flux."""

    def band(lo: float, hi: float) -> np.ndarray:
        return spec[:, (_FREQ >= lo) & (_FREQ < hi)]

    def db_slope(lo: float, hi: float) -> np.ndarray:
        sel = (_FREQ >= lo) & (_FREQ <= hi)
        return np.polyfit(_FREQ[sel] / 1000.0, 10 * np.log10(spec[:, sel]).T, 1)[0]

    total = spec.sum(1)
    norm = np.sqrt(spec / total[:, None])
    flux = np.concatenate([[0.0], np.sqrt(np.square(np.diff(norm, axis=0)).sum(1))])
    return [
        10 * np.log10(band(50, 1000).sum(1) / band(1000, 5000).sum(1)),
        10 * np.log10(band(0, 2000).max(1) / band(2000, 5000).max(1)),
        db_slope(0, 500),
        db_slope(500, 1500),
        np.log2((spec * _FREQ).sum(1) / total + 1.0),
        np.exp(np.log(spec).mean(1)) / spec.mean(1),
        np.log2(_FREQ[np.argmax(np.cumsum(spec, 1) >= 0.85 * total[:, None], axis=1)] + 1.0),
        flux,
    ]


def _harmonicity(ac: np.ndarray) -> np.ndarray:
    """Highest normalised autocorrelation at the lags of 50-500 Hz periods: near 1 for a clean voice, 0 for noise."""
    return ac[:, SAMPLE_RATE // 500 : SAMPLE_RATE // 50].max(1) / np.maximum(ac[:, 0], 1e-10)


def window_bounds(n_frames: int) -> list[tuple[int, int]]:
    """Frame spans of the windows over a clip: every HOP_S, plus one ending at the clip's end if a tail is left."""
    size, hop = round(WINDOW_S * ANALYSIS_FPS), round(HOP_S * ANALYSIS_FPS)
    if n_frames <= size:
        return [(0, n_frames)]
    bounds = [(start, start + size) for start in range(0, n_frames - size + 1, hop)]
    if bounds[-1][1] < n_frames:
        bounds.append((n_frames - size, n_frames))
    return bounds


def segment_bounds(n_frames: int) -> list[tuple[int, int]]:
    """Frame spans of the utterance's segments: the clip cut into round(length / SEGMENT_S) equal parts, at least 1."""
    n = max(1, round(n_frames / (SEGMENT_S * ANALYSIS_FPS)))
    edges = np.linspace(0, n_frames, n + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _stats(x: np.ndarray, width: int = 1) -> list[float]:
    """Mean, standard deviation and percentiles of each column of (T, width) x; zeros when T = 0."""
    if len(x) == 0:
        return [0.0] * (width * (2 + len(PERCENTILES)))
    x = x.reshape(len(x), width)
    return np.concatenate([x.mean(0), x.std(0), *np.percentile(x, PERCENTILES, axis=0)]).tolist()


def _mean_std(x: np.ndarray, width: int) -> list[float]:
    """Mean and standard deviation of each column of (T, width) x; zeros when T = 0."""
    if len(x) == 0:
        return [0.0] * (2 * width)
    return np.concatenate([x.mean(0), x.std(0)]).tolist()


def _slope(y: np.ndarray) -> float:
    """Least-squares slope of y against time in seconds (0 for fewer than 3 points)."""
    if len(y) < 3:
        return 0.0
    return float(np.polyfit(np.arange(len(y)) / ANALYSIS_FPS, y, 1)[0])


def _runs(mask: np.ndarray) -> tuple[int, float]:
    """Number of True runs in mask and their mean length in seconds."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return len(starts), float(np.mean(stops - starts)) / ANALYSIS_FPS if len(starts) else 0.0


def functionals(frames: Frames) -> np.ndarray:
    """One feature vector (float32, N_FEATURES long) summarising a window of frames."""
    seconds = max(len(frames), 1) / ANALYSIS_FPS
    level = frames.level_db
    active = level > level.max() - ACTIVE_RANGE_DB
    voiced = (frames.voiced >= 0.5) & np.isfinite(frames.log_f0)
    mel = frames.log_mel[active]
    d_mfcc = np.diff(frames.mfcc, axis=0)[active[1:]]
    f0 = frames.log_f0[voiced]
    d_f0 = np.diff(frames.log_f0)
    d_f0 = d_f0[np.isfinite(d_f0)]
    d_level = np.diff(level)
    n_voiced_runs, voiced_run = _runs(voiced)
    n_active_runs, _ = _runs(active)
    # Spectral tilt of each speech frame across the bands, and the balance of the upper and lower halves.
    tilt = np.polyfit(np.arange(N_BANDS), mel.T, 1)[0] if len(mel) else mel[:, 0]
    balance = mel[:, N_BANDS // 2 :].mean(1) - mel[:, : N_BANDS // 2].mean(1)
    values = [
        *_stats(frames.mfcc[active], N_MFCC),
        *(d_mfcc.std(0) if len(d_mfcc) else np.zeros(N_MFCC)),
        *_mean_std(mel, N_BANDS),
        *_stats(f0),
        float(np.ptp(f0)) if len(f0) else 0.0,
        _slope(f0),
        float(np.abs(d_f0).mean()) if len(d_f0) else 0.0,
        # Loudness relative to the window's loudest frame: free of recording gain, which the level itself is not.
        *_stats(level[active] - level.max()),
        float(np.abs(d_level).mean()) if len(d_level) else 0.0,
        float(np.std(d_level)) if len(d_level) else 0.0,
        float(active.mean()),
        float(voiced.mean()),
        n_voiced_runs / seconds,
        voiced_run,
        n_active_runs / seconds,
        *_stats(frames.onset[active]),
        *_stats(tilt),
        *_stats(balance),
        *_stats(frames.spectral[active], len(SPECTRAL)),
        *(frames.spectral[voiced].mean(0) if voiced.any() else np.zeros(len(SPECTRAL))),
    ]
    return np.nan_to_num(np.asarray(values, np.float64)).astype(np.float32)


# MFCC (5 stats, delta spread), bands (mean, spread), F0 (5 stats, range, slope, delta), level (5 stats, 2 deltas),
# 5 shares and rates, onset, tilt and balance (5 stats each), spectral measures (5 stats, voiced mean).
N_FEATURES = 6 * N_MFCC + 2 * N_BANDS + 8 + 7 + 5 + 3 * 5 + 6 * len(SPECTRAL)


def span_features(frames: Frames, bounds: list[tuple[int, int]]) -> np.ndarray:
    """(len(bounds), N_FEATURES) functionals of the given frame spans of a clip."""
    return np.stack([functionals(frames.window(a, b)) for a, b in bounds])

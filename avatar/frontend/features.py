"""Frame features of speech on the animation frame clock: log-mel, loudness, pitch, voicing and onsets.

Every later stage shares the frame clock: at `fps` frames per second, frame k stands for time k / fps and
describes the audio in [k / fps - 0.5 / fps, k / fps + 0.5 / fps).

Features are computed at an internal 100 Hz analysis rate (16 kHz audio, hop 160, frame j centred on sample
160 j), then box-averaged onto the frame clock by `resample_to_clock`. Long inputs are analysed in blocks, so
memory beyond the input and the 100 Hz features stays constant.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft  # pocketfft with SIMD over rows: 3x numpy's on these frame batches

from avatar.errors import InputError
from avatar.frontend.audio import SAMPLE_RATE, Audio
from rigs.clock import OnFrameClock, check_fps, frame_count
from rigs.fileio import atomic_path

ANALYSIS_FPS = 100.0
HOP = SAMPLE_RATE // 100
WIN = 400  # 25 ms
N_FFT = 512
N_MELS = 80
F_MIN, F_MAX = 20.0, 8000.0
F0_MIN, F0_MAX = 60.0, 500.0
# log_mel is ln(mel power + LOG_FLOOR), mel power of an STFT of samples in [-1, 1] (Hann window, no scaling).
LOG_FLOOR = 1e-6

# YIN pitch tracker: lags up to one period of F0_MIN, summed over a 32 ms window.
_TAU_MIN = int(SAMPLE_RATE // F0_MAX)
_TAU_MAX = math.ceil(SAMPLE_RATE / F0_MIN)
_YIN_WIN = 512
_YIN_FRAME = _YIN_WIN + _TAU_MAX + 2  # +2: a neighbour on each side of every lag, for the parabola
_YIN_FFT = 1024
_YIN_THRESHOLD = 0.1  # first dip of the normalised difference below this is the period (YIN's rule)
_YIN_MARGIN = 0.1  # else the first dip within this of the deepest
_F0_MEDIAN = 7  # frames of median smoothing over voiced neighbours
# Voicing: periodic (deepest normalised difference around 0.3 or less) and loud (within 40 dB of the take's
# loud level, and above -60 dBFS). Tuned on BEAT speech against phone alignments: see bench/features.py.
_APERIODICITY_MID = 0.3
_LOUD_RANGE_DB = 40.0
_LOUD_MIN_DBFS = -60.0
# Half the widest analysis frame: the block margin that makes blockwise analysis equal the whole-signal one.
_MARGIN = max(N_FFT, _YIN_FRAME) // 2 + 1
_BLOCK = 1000  # analysis frames per block (10 s): bounds the (frames x lags) arrays of the pitch tracker


def resample_to_clock(values: np.ndarray, src_fps: float, fps: float, n_frames: int) -> np.ndarray:
    """Box-average (N, D) values on a src_fps clock over each frame of an fps clock, as (n_frames, D) float32.

    The source is piecewise constant (frame j holds over [j - 0.5, j + 0.5) / src_fps); each target frame gets
    its exact area average, so this averages when downsampling and holds when upsampling. Target spans partly
    past the source are averaged over the covered part; spans wholly past it take the nearest source frame.
    """
    values = np.asarray(values)
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(f"values must be a non-empty (N, D) array, got shape {values.shape}")
    n_src = len(values)
    # Cumulative integral at the source frame edges, in units of source frames.
    integral = np.zeros((n_src + 1, values.shape[1]))
    np.cumsum(values, axis=0, dtype=np.float64, out=integral[1:])
    # Target span edges in source-frame units measured from the first source edge, clipped to the source.
    centres = np.arange(n_frames) * (src_fps / check_fps(fps)) + 0.5
    half = 0.5 * src_fps / fps
    lo = np.clip(centres - half, 0.0, n_src)
    hi = np.clip(centres + half, 0.0, n_src)

    def area(pos: np.ndarray) -> np.ndarray:  # the integral is piecewise linear: interpolate within a frame
        j = np.minimum(pos.astype(np.int64), n_src - 1)
        return integral[j] + (pos - j)[:, None] * values[j]

    width = (hi - lo)[:, None]
    nearest = values[np.clip(np.floor(centres).astype(np.int64), 0, n_src - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(width > 1e-9, (area(hi) - area(lo)) / width, nearest)
    return out.astype(np.float32)


@dataclass(frozen=True)
class FrameFeatures(OnFrameClock):
    """Per-frame speech features on the frame clock at `fps`; every array is (T, D) float32."""

    fps: float
    log_mel: np.ndarray  # (T, 80) ln(mel power + 1e-6), 80 bands 20-8000 Hz
    rms: np.ndarray  # (T, 1) RMS amplitude of 25 ms frames, samples in [-1, 1]
    f0_hz: np.ndarray  # (T, 1) fundamental frequency, 0 where unvoiced
    voiced_prob: np.ndarray  # (T, 1) probability in [0, 1] that the frame is voiced
    onset: np.ndarray  # (T, 1) onset strength: mean rise of the mel spectrum in dB per 10 ms

    ARRAYS: ClassVar[tuple[str, ...]] = ("log_mel", "rms", "f0_hz", "voiced_prob", "onset")
    COLUMNS: ClassVar[tuple[str, ...]] = (
        *(f"log_mel_{i:02d}" for i in range(N_MELS)),
        "rms",
        "f0_hz",
        "voiced_prob",
        "onset",
    )

    def __post_init__(self) -> None:
        shapes = {name: getattr(self, name).shape for name in self.ARRAYS}
        lengths = {shape[0] for shape in shapes.values()}
        if len(lengths) != 1 or any(len(shape) != 2 for shape in shapes.values()):
            raise ValueError(f"FrameFeatures arrays must be (T, D) with one T, got {shapes}")

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return len(self.rms)

    def stacked(self) -> np.ndarray:
        """All features side by side as (T, 84) float32, columns named by COLUMNS."""
        return np.hstack([getattr(self, name) for name in self.ARRAYS]).astype(np.float32)

    def save_npz(self, path: str | os.PathLike, extra: Mapping[str, np.ndarray] | None = None) -> Path:
        """Write the features, and any `extra` arrays on the same clock (e.g. visemes), to an .npz, atomically."""
        path = Path(path)
        arrays = {name: getattr(self, name) for name in self.ARRAYS}
        clash = set(arrays) & set(extra or {})
        if clash:
            raise ValueError(f"extra arrays may not reuse feature names: {sorted(clash)}")
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a file object: np.savez adds no suffix
            np.savez(f, fps=np.float64(self.fps), **arrays, **(extra or {}))
        return path

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> FrameFeatures:
        """Read features written by save_npz."""
        with np.load(path) as data:
            missing = [key for key in ("fps", *cls.ARRAYS) if key not in data]
            if missing:
                raise InputError(
                    f"Feature file '{path}' lacks {', '.join(missing)}: it was not written by "
                    "FrameFeatures.save_npz. Extract the features again."
                )
            return cls(float(data["fps"]), *(data[name].astype(np.float32) for name in cls.ARRAYS))


def extract_features(audio: Audio, fps: float = 30.0) -> FrameFeatures:
    """Speech features of `audio` on the frame clock at `fps`."""
    fps = check_fps(fps)
    y = audio.resampled(SAMPLE_RATE).samples.astype(np.float32, copy=False)
    a = _analyse(y)
    n = frame_count(audio.duration, fps)  # from the input's own duration, as every later stage counts

    def clock(values: np.ndarray) -> np.ndarray:
        return resample_to_clock(values, ANALYSIS_FPS, fps, n)

    # F0 is averaged in log frequency over the voiced analysis frames only, so unvoiced zeros never pull a
    # voiced frame down; a frame is voiced when at least half of its span is.
    voiced = a["f0"] > 0
    voiced_share = clock(voiced.astype(np.float32))
    log_f0 = clock(np.log2(np.where(voiced, a["f0"], 1.0))) / np.maximum(voiced_share, 1e-6)
    f0 = np.where(voiced_share >= 0.5, np.exp2(log_f0), 0.0).astype(np.float32)
    return FrameFeatures(
        fps=fps,
        log_mel=clock(a["log_mel"]),
        rms=clock(a["rms"]),
        f0_hz=f0,
        voiced_prob=clock(a["voiced_prob"]),
        onset=clock(a["onset"]),
    )


def _analyse(y: np.ndarray) -> dict[str, np.ndarray]:
    """All features at the 100 Hz analysis rate, as (N, D) float32 arrays."""
    n = 1 + len(y) // HOP
    blocks = [_analyse_block(y, j0, min(j0 + _BLOCK, n)) for j0 in range(0, n, _BLOCK)]
    out = {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}
    out["voiced_prob"], out["f0"] = _voicing(out.pop("f0_raw"), out.pop("aperiodicity"), out["rms"])
    return out


def _analyse_block(y: np.ndarray, j0: int, j1: int) -> dict[str, np.ndarray]:
    """Features of analysis frames j0..j1-1 (and frame j0-1 for the onset), from a zero-padded slice of y."""
    first = max(j0 - 1, 0)
    start = first * HOP - _MARGIN
    seg = np.zeros((j1 - first - 1) * HOP + 2 * _MARGIN + 1, dtype=np.float32)
    lo, hi = max(start, 0), min(start + len(seg), len(y))
    if hi > lo:
        seg[lo - start : hi - start] = y[lo:hi]
    n = j1 - first

    def frames(width: int) -> np.ndarray:  # (n, width) view: frame i centred on seg[_MARGIN + i * HOP]
        return sliding_window_view(seg, width)[_MARGIN - width // 2 :: HOP][:n]

    spectrum = fft.rfft(frames(N_FFT) * _stft_window(), axis=1)
    mel_power = (spectrum.real**2 + spectrum.imag**2) @ _mel_basis().T
    log_mel = np.log(mel_power + LOG_FLOOR).astype(np.float32)
    # Onset: mean positive rise between consecutive frames in dB (no framing shift: our frames are centred).
    rise = np.maximum(np.diff(log_mel * np.float32(10 / np.log(10)), axis=0), 0.0).mean(axis=1)
    onset = np.concatenate([[0.0], rise])
    energy = np.concatenate([[0.0], np.cumsum(np.square(seg, dtype=np.float64))])
    centres = _MARGIN + np.arange(n) * HOP
    rms = np.sqrt(np.maximum(energy[centres + WIN // 2] - energy[centres - WIN // 2], 0.0) / WIN)
    f0_raw, aperiodicity = _yin(frames(_YIN_FRAME))
    keep = slice(j0 - first, None)  # drop the context frame that only fed the onset (block 0 has none)
    return {
        "log_mel": log_mel[keep],
        "rms": rms[keep, None].astype(np.float32),
        "onset": onset[keep, None].astype(np.float32),
        "f0_raw": f0_raw[keep],
        "aperiodicity": aperiodicity[keep],
    }


def _yin(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame F0 estimate (Hz) and aperiodicity (the deepest normalised difference: 0 periodic, 1 not)."""
    x = frames.astype(np.float64)
    n_lags = _TAU_MAX + 2
    # Difference function d(tau) = E(0) + E(tau) - 2 r(tau) over _YIN_WIN samples; r by FFT cross-correlation.
    head = fft.rfft(x[:, :_YIN_WIN], _YIN_FFT, axis=1)
    full = fft.rfft(x, _YIN_FFT, axis=1)
    r = fft.irfft(full * head.conj(), _YIN_FFT, axis=1)[:, :n_lags]
    power = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x**2, axis=1)], axis=1)
    energy = power[:, _YIN_WIN : _YIN_WIN + n_lags] - power[:, :n_lags]
    diff = np.maximum(energy[:, :1] + energy - 2 * r, 0.0)
    # Cumulative-mean normalisation: d'(tau) = d(tau) / mean(d(1..tau)); silence gives 0/0, read as aperiodic.
    mean = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, n_lags)
    with np.errstate(invalid="ignore", divide="ignore"):
        cmnd = np.where(mean > 1e-12, diff[:, 1:] / mean, 1.0)
    cmnd = np.concatenate([np.ones((len(x), 1)), cmnd], axis=1)  # index = lag

    lags = slice(_TAU_MIN, _TAU_MAX + 1)
    mid, left, right = cmnd[:, lags], cmnd[:, _TAU_MIN - 1 : _TAU_MAX], cmnd[:, _TAU_MIN + 1 : _TAU_MAX + 2]
    # YIN's rule, the first dip below the threshold, avoids octave-down errors; where no dip is that deep, the
    # first one near the deepest does the same.
    deepest = mid.min(axis=1, keepdims=True)
    limit = np.maximum(_YIN_THRESHOLD, deepest + _YIN_MARGIN)
    dips = (mid <= limit) & (mid <= left) & (mid <= right)
    tau = _TAU_MIN + np.where(dips.any(axis=1), dips.argmax(axis=1), mid.argmin(axis=1))
    rows = np.arange(len(x))
    a, b, c = cmnd[rows, tau - 1], cmnd[rows, tau], cmnd[rows, tau + 1]
    curvature = a - 2 * b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(curvature > 1e-12, 0.5 * (a - c) / curvature, 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    f0 = SAMPLE_RATE / (tau + shift)
    return f0.astype(np.float32), np.clip(deepest[:, 0], 0.0, 1.0).astype(np.float32)


def _voicing(f0_raw: np.ndarray, aperiodicity: np.ndarray, rms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voicing probability from periodicity and loudness, and the median-smoothed F0 (0 where unvoiced)."""
    periodic = 1.0 / (1.0 + np.exp((aperiodicity - _APERIODICITY_MID) / 0.05))
    level = 20 * np.log10(np.maximum(rms[:, 0], 1e-10))
    # The take's loud level is its 95th percentile, so the gate follows recording gain.
    floor = max(float(np.percentile(level, 95)) - _LOUD_RANGE_DB, _LOUD_MIN_DBFS)
    loud = 1.0 / (1.0 + np.exp(-(level - floor) / 2.0))
    prob = (periodic * loud).astype(np.float32)
    voiced = prob >= 0.5
    # Median over the voiced frames of a short window, in log frequency: removes single-frame octave slips.
    half = _F0_MEDIAN // 2
    log_f0 = np.pad(np.where(voiced, np.log2(f0_raw), np.nan), half, constant_values=np.nan)
    windows = sliding_window_view(log_f0, _F0_MEDIAN)[voiced]
    f0 = np.zeros_like(f0_raw)
    if voiced.any():
        f0[voiced] = np.exp2(np.nanmedian(windows, axis=1))
    return prob[:, None], f0[:, None]


def centred_hann(n_fft: int, width: int) -> np.ndarray:
    """(n_fft,) float32: a periodic Hann window of `width` samples (scipy's "hann") centred in an n_fft frame."""
    window = np.zeros(n_fft, dtype=np.float32)
    offset = (n_fft - width) // 2
    window[offset : offset + width] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(width) / width)
    return window


@cache
def _stft_window() -> np.ndarray:
    """A 25 ms periodic Hann window centred in an N_FFT frame."""
    return centred_hann(N_FFT, WIN)


def _hz_to_mel(hz):
    """Slaney's mel scale (the Auditory Toolbox's, librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    return np.where(hz < 1000.0, hz * 3 / 200, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * 27 / np.log(6.4))


def _mel_to_hz(mel):
    mel = np.asarray(mel, np.float64)
    return np.where(mel < 15.0, mel * 200 / 3, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27))


def mel_band_edges(n_mels: int = N_MELS, f_min: float = F_MIN, f_max: float = F_MAX) -> np.ndarray:
    """(n_mels + 2,) Hz: mel band i rises from edge i, peaks at edge i + 1 and ends at edge i + 2."""
    return _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))


def mel_filter_bank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32: triangles on Slaney's mel scale, each of unit area (Slaney
    normalisation), as librosa.filters.mel makes them by default (without importing librosa: ~2 s)."""
    edges = mel_band_edges(n_mels, f_min, f_max)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    rising = (bins[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - bins[None, :]) / np.diff(edges)[1:, None]
    basis = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return basis.astype(np.float32)


@cache
def _mel_basis() -> np.ndarray:
    """(80, N_FFT // 2 + 1) mel filter bank, 20-8000 Hz."""
    return mel_filter_bank(SAMPLE_RATE, N_FFT, N_MELS, F_MIN, F_MAX)

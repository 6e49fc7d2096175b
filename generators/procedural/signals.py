"""Small signal helpers shared by the procedural animators: frame clocks, segment masks, smoothing and noise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from generators.conditioning import Content, Segment
from rigs.phones import SILENCE


def is_silence(label: str) -> bool:
    """Whether a phone or word label marks a pause rather than speech."""
    return label.strip().upper() in SILENCE


def segment_mask(segments: Sequence[Segment], n_frames: int, fps: float) -> np.ndarray:
    """(T,) bool: frames whose time lies inside one of the segments, [start, end)."""
    mask = np.zeros(n_frames, bool)
    for start, end, _ in segments:
        mask[int(np.ceil(start * fps - 1e-9)): int(np.ceil(end * fps - 1e-9))] = True
    return mask


def speech_segments(content: Content) -> list[Segment]:
    """The spoken phones (pauses dropped); the words when there are no phones."""
    spoken = [p for p in content.phones if not is_silence(p.label)]
    return spoken or [w for w in content.words if not is_silence(w.label)]


def phrases(content: Content, min_pause_s: float = 0.25) -> list[tuple[float, float]]:
    """Stretches of speech as (start, end) seconds, split at pauses of at least min_pause_s."""
    spans: list[list[float]] = []
    for start, end, _ in sorted(speech_segments(content)):
        if spans and start - spans[-1][1] < min_pause_s:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def speaking(content: Content, min_pause_s: float = 0.25) -> np.ndarray:
    """(T,) float32 in {0, 1}: 1 inside a phrase of speech; from voicing when there is no alignment."""
    spans = phrases(content, min_pause_s)
    if spans:
        return segment_mask([Segment(a, b, "") for a, b in spans], content.n_frames, content.fps).astype(np.float32)
    voiced = gaussian_filter1d(content.voiced.astype(np.float64), 0.15 * content.fps) > 0.3
    return voiced.astype(np.float32)


def loudness(rms: np.ndarray, range_db: float = 30.0) -> np.ndarray:
    """(T,) in [0, 1]: level in dB mapped from range_db below the clip's loud level (95th percentile) up to it."""
    db = 20 * np.log10(np.maximum(rms.astype(np.float64), 1e-5))
    loud = np.percentile(db, 95) if len(db) else 0.0
    return np.clip((db - (loud - range_db)) / range_db, 0.0, 1.0)


def semitones(f0_hz: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """(T,) pitch in semitones above the clip's median voiced F0; NaN where unvoiced."""
    ok = (f0_hz > 0) & (voiced > 0.5)
    out = np.full(len(f0_hz), np.nan)
    if ok.any():
        out[ok] = 12 * np.log2(f0_hz[ok] / np.median(f0_hz[ok]))
    return out


def smooth(values: np.ndarray, sigma_s: float, fps: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along time (axis 0), sigma in seconds."""
    sigma = sigma_s * fps
    return gaussian_filter1d(values.astype(np.float64), sigma, axis=0, mode="nearest") if sigma > 0.05 else values


def lag(values: np.ndarray, tau_s: float, fps: float) -> np.ndarray:
    """Causal first-order lag along time (axis 0), time constant tau in seconds, starting from the first value."""
    if tau_s <= 0:
        return values
    a = 1.0 - np.exp(-1.0 / (tau_s * fps))
    values = np.asarray(values, np.float64)
    out = a * values  # then out[t] += (1 - a) * out[t - 1], from out[-1] = values[0]: a loop, not
    # scipy.signal.lfilter, whose import costs every process half a second
    if len(out):
        out[0] += (1.0 - a) * values[0]
    for t in range(1, len(out)):
        out[t] += (1.0 - a) * out[t - 1]
    return out


def smooth_noise(rng: np.random.Generator, n_frames: int, fps: float, timescale_s: float, width: int = 1) -> np.ndarray:
    """(T, width) Gaussian noise with unit standard deviation, smooth over about timescale_s seconds."""
    sigma = max(timescale_s * fps, 0.5)
    pad = int(4 * sigma)
    white = rng.standard_normal((n_frames + 2 * pad, width))
    noise = gaussian_filter1d(white, sigma, axis=0, mode="wrap")[pad: pad + n_frames]
    return noise * np.sqrt(2 * np.sqrt(np.pi) * sigma)  # a Gaussian filter scales white noise's std by this


def smoothstep(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk ease from 0 to 1 over u in [0, 1] (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10 + u * (6 * u - 15))


def events_to_curve(times: np.ndarray, amplitudes: np.ndarray, kernel: np.ndarray, lead: int, n_frames: int,
                    fps: float) -> np.ndarray:
    """(T,) the sum of `kernel` (sampled at fps, peak at index `lead`) placed with its peak on each event, scaled."""
    pad = len(kernel)
    impulses = np.zeros(n_frames + 2 * pad, np.float64)
    frames = np.round(np.asarray(times, np.float64) * fps).astype(int) + pad
    keep = (frames >= 0) & (frames < len(impulses))
    np.add.at(impulses, frames[keep], np.asarray(amplitudes, np.float64)[keep])
    return np.convolve(impulses, kernel)[pad + lead: pad + lead + n_frames]

"""Fusing timed emotion estimates from several recognizers (speech windows, text sentences) into one curve.

Each estimate covers a span of time with probabilities over EMOTIONS, a confidence in [0, 1] and optionally its
own VAD. Per frame and per source, the estimates covering the frame are averaged, weighted by confidence; the
sources are then mixed with weights `source weight x confidence`, and the result is smoothed over `smooth_s`
(Gaussian) so the curve eases between windows. Frames no estimate covers are neutral with confidence 0. The
fused confidence per frame is the weighted mean confidence of the sources, over all sources' weights, so a frame
only one unsure source speaks for has a low confidence.

Default source weights: speech 0.5, text 0.5. The speech model was trained on acted German (EmoDB), so on other
speech it hears arousal better than the category; text reads the category of clear wording well but not its
delivery. VAD is fused the same way from each estimate's VAD (or the VAD of its probabilities).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from avatar.emotion.curves import from_probabilities
from avatar.emotion.space import VAD_TABLE
from avatar.errors import InputError
from generators.conditioning import EMOTIONS, EmotionFrames

DEFAULT_WEIGHTS: dict[str, float] = {"speech": 0.5, "text": 0.5}


@dataclass(frozen=True)
class TimedEstimate:
    """One recognizer's reading of a span of time."""

    source: str
    start: float
    end: float
    probs: np.ndarray  # (8,) over EMOTIONS
    confidence: float = 1.0
    vad: np.ndarray | None = None  # (3,); the VAD of `probs` when None


@dataclass(frozen=True)
class FusedEmotion:
    """The fused curve on the frame clock, its per-frame confidence, and each source's own per-frame curve."""

    emotion: EmotionFrames
    confidence: np.ndarray  # (T,)
    fps: float
    per_source: dict[str, np.ndarray]  # source -> (T, 8) probabilities (NaN where the source says nothing)


def fuse(estimates: Sequence[TimedEstimate], n_frames: int, fps: float,
         weights: Mapping[str, float] | None = None, smooth_s: float = 0.4) -> FusedEmotion:
    """One emotion curve of n_frames at fps from timed estimates (see the module docstring)."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    sources = sorted({e.source for e in estimates})
    unknown = [s for s in sources if s not in weights]
    if unknown:
        raise InputError(f"no fusion weight for source(s) {unknown}; give weights for them")
    times = np.arange(n_frames) / fps
    total = np.zeros((n_frames, len(EMOTIONS)))
    total_vad = np.zeros((n_frames, 3))
    mass = np.zeros(n_frames)
    per_source = {}
    for source in sources:
        probs, vad, confidence = _source_frames([e for e in estimates if e.source == source], times)
        per_source[source] = np.where(confidence[:, None] > 0, probs, np.nan)
        w = weights[source] * confidence
        total += w[:, None] * probs
        total_vad += w[:, None] * vad
        mass += w
    neutral = np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")]
    fused = np.where(mass[:, None] > 0, total / np.maximum(mass, 1e-12)[:, None], neutral)
    vad = np.where(mass[:, None] > 0, total_vad / np.maximum(mass, 1e-12)[:, None], 0.0)
    sigma = smooth_s * fps
    if sigma > 0 and n_frames > 1:
        fused = gaussian_filter1d(fused, sigma, axis=0, mode="nearest")
        vad = gaussian_filter1d(vad, sigma, axis=0, mode="nearest")
    confidence = mass / max(sum(weights[s] for s in sources), 1e-12) if sources else np.zeros(n_frames)
    return FusedEmotion(from_probabilities(fused, 1.0, np.clip(vad, -1, 1)), confidence.astype(np.float32), fps,
                        per_source)


def _source_frames(estimates: Sequence[TimedEstimate], times: np.ndarray):
    """Per-frame confidence-weighted mean probabilities (T, 8), VAD (T, 3) and mean confidence (T,) of one source."""
    probs = np.zeros((len(times), len(EMOTIONS)))
    vad = np.zeros((len(times), 3))
    weight = np.zeros(len(times))
    count = np.zeros(len(times))
    for e in estimates:
        p = np.asarray(e.probs, np.float64)
        if p.shape != (len(EMOTIONS),) or not np.isfinite(p).all() or p.min() < 0:
            raise InputError(f"{e.source} estimate at {e.start:g}-{e.end:g} s: probabilities need {len(EMOTIONS)} "
                             "finite non-negative values")
        p = p / max(p.sum(), 1e-12)
        inside = (times >= e.start) & (times < e.end)
        c = float(np.clip(e.confidence, 0.0, 1.0))
        probs[inside] += c * p
        vad[inside] += c * (p @ VAD_TABLE if e.vad is None else np.asarray(e.vad, np.float64))
        weight[inside] += c
        count[inside] += 1
    covered = weight > 0
    probs[covered] /= weight[covered, None]
    vad[covered] /= weight[covered, None]
    return probs, vad, np.where(count > 0, weight / np.maximum(count, 1), 0.0)

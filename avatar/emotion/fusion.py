"""Fusing the timelines of several recognizers (speech, text) into one emotion curve on the frame clock.

Each source gives an EmotionTimeline (per-frame probabilities over EMOTIONS, confidence in [0, 1], optionally its
own VAD; `avatar.emotion.windows.spread` makes one from readings of timed spans). Per frame, the sources are mixed
with weights `source weight x confidence`, and the result is smoothed over `smooth_s` (Gaussian) so the curve eases
between windows. Frames no source speaks for are neutral with confidence 0. The fused confidence per frame is the
weighted mean confidence of the sources, over all sources' weights, so a frame only one unsure source speaks for
has a low confidence.

Default source weights: speech 0.5, text 0.5. The speech model was trained on acted German (EmoDB), so on other
speech it hears arousal better than the category; text reads the category of clear wording well but not its
delivery. VAD is fused the same way from each source's VAD (or the VAD of its probabilities).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from avatar.emotion.curves import from_probabilities
from avatar.emotion.space import VAD_TABLE
from avatar.emotion.timeline import EmotionTimeline
from avatar.errors import InputError
from generators.conditioning import EMOTIONS, EmotionFrames

DEFAULT_WEIGHTS: dict[str, float] = {"speech": 0.5, "text": 0.5}


@dataclass(frozen=True)
class FusedEmotion:
    """The fused curve on the frame clock, its per-frame confidence, and each source's own per-frame curve."""

    emotion: EmotionFrames
    confidence: np.ndarray  # (T,)
    fps: float
    per_source: dict[str, np.ndarray]  # source -> (T, 8) probabilities (NaN where the source says nothing)


def fuse(
    timelines: Mapping[str, EmotionTimeline],
    n_frames: int,
    fps: float,
    weights: Mapping[str, float] | None = None,
    smooth_s: float = 0.4,
) -> FusedEmotion:
    """One emotion curve of n_frames at fps from each source's timeline on that clock (see the module docstring)."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    sources = sorted(timelines)
    unknown = [s for s in sources if s not in weights]
    if unknown:
        raise InputError(f"no fusion weight for source(s) {unknown}; give weights for them")
    for source in sources:
        timeline = timelines[source]
        if timeline.n_frames != n_frames or timeline.fps != fps:
            raise InputError(
                f"the {source} timeline has {timeline.n_frames} frames at {timeline.fps:g} fps; fusion "
                f"needs {n_frames} at {fps:g}: read it on the same frame clock"
            )
    total = np.zeros((n_frames, len(EMOTIONS)))
    total_vad = np.zeros((n_frames, 3))
    mass = np.zeros(n_frames)
    per_source = {}
    for source in sources:
        timeline = timelines[source]
        vad = timeline.probs @ VAD_TABLE if timeline.vad is None else timeline.vad
        per_source[source] = np.where(timeline.confidence[:, None] > 0, timeline.probs, np.nan)
        w = weights[source] * timeline.confidence
        total += w[:, None] * timeline.probs
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
    return FusedEmotion(
        from_probabilities(fused, 1.0, np.clip(vad, -1, 1)), confidence.astype(np.float32), fps, per_source
    )

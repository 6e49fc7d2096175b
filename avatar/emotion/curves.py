"""Emotion curves on the frame clock: from a label, from VAD, from keyframes, from recognizer output; blending.

Every constructor returns `generators.conditioning.EmotionFrames` (T frames). Keyframes read like
"0 s neutral, 2 s anger 0.8, 5 s sadness 0.5": each emotion holds from its time until the next keyframe, and
each change is a smoothstep cross-fade of the display vectors (categories x intensity) over `transition_s`,
centred on the keyframe's time (shortened where keyframes are closer than that), so the face and body ease in
and out instead of switching on a frame.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avatar.emotion.space import VAD_TABLE, check_emotion, check_intensity, check_vad, display_vector, from_display
from avatar.errors import InputError
from generators.conditioning import EMOTIONS, EmotionFrames

DEFAULT_TRANSITION_S = 0.6


@dataclass(frozen=True)
class Keyframe:
    """An emotion reached at a time: seconds, a label and an intensity in [0, 1]."""

    time: float
    label: str
    intensity: float = 0.8


def constant_emotion(label: str, intensity: float, n_frames: int) -> EmotionFrames:
    """One emotion held at one intensity over n_frames; VAD is the category's coordinates scaled by intensity."""
    label, intensity = check_emotion(label), check_intensity(intensity)
    categories = np.zeros((n_frames, len(EMOTIONS)), np.float32)
    categories[:, EMOTIONS.index(label)] = 1.0
    vad = np.tile(VAD_TABLE[EMOTIONS.index(label)] * intensity, (n_frames, 1))
    return EmotionFrames(categories, np.full(n_frames, intensity, np.float32), vad)


def from_vad(vad, n_frames: int | None = None, sharpness: float = 12.0) -> EmotionFrames:
    """Emotion from valence/arousal/dominance, one triple (3,) held for n_frames or one per frame (T, 3).

    The VAD is kept as given; the categories are a soft nearest-prototype reading of it (softmax of
    -sharpness x squared distance to each category's VAD, neutral at the origin), and the intensity is the
    point's distance from neutral relative to the nearest emotion's (capped at 1).
    """
    values = check_vad(vad)
    if values.ndim == 1:
        if n_frames is None:
            raise InputError("from_vad with one VAD triple needs n_frames")
        values = np.tile(values, (n_frames, 1))
    distance = ((values[:, None, :] - VAD_TABLE[None]) ** 2).sum(-1)  # (T, 8)
    logits = -sharpness * distance
    categories = np.exp(logits - logits.max(1, keepdims=True))
    categories[:, EMOTIONS.index("neutral")] = 0.0  # the intensity carries "how far from neutral"
    categories /= categories.sum(1, keepdims=True)
    nearest = np.linalg.norm(VAD_TABLE[np.argmax(categories, 1)], axis=1)
    intensity = np.clip(np.linalg.norm(values, axis=1) / np.maximum(nearest, 1e-6), 0.0, 1.0)
    categories[intensity <= 1e-6] = np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")]
    return EmotionFrames(categories.astype(np.float32), intensity.astype(np.float32), values)


_KEYFRAME = re.compile(r"^(?P<time>[+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*(?:s|sec|seconds?)?\s*[:=]?\s*(?P<label>[A-Za-z]+)"
                       r"(?:\s+(?P<intensity>\S+))?$")


def parse_keyframes(spec: str, default_intensity: float = 0.8) -> list[Keyframe]:
    """Keyframes from text like "0 s neutral, 2 s anger 0.8, 5 s sadness 0.5" (commas or semicolons)."""
    items = [item.strip() for item in re.split(r"[,;\n]", spec) if item.strip()]
    if not items:
        raise InputError("emotion keyframes are empty; write them like \"0 s neutral, 2 s anger 0.8\"")
    keyframes = []
    for item in items:
        match = _KEYFRAME.match(item)
        if not match:
            raise InputError(f"cannot read emotion keyframe {item!r}; write TIME LABEL [INTENSITY], "
                             "e.g. \"2 s anger 0.8\"")
        intensity = default_intensity
        if match["intensity"] is not None:
            try:
                intensity = float(match["intensity"])
            except ValueError:
                raise InputError(f"emotion keyframe {item!r}: intensity {match['intensity']!r} is not a number "
                                 "in [0, 1]") from None
        keyframes.append(Keyframe(float(match["time"]), match["label"], intensity))
    return check_keyframes(keyframes)


def check_keyframes(keyframes: Sequence[Keyframe | tuple]) -> list[Keyframe]:
    """Keyframes with known labels, intensities in [0, 1], and times that are finite, >= 0 and increasing."""
    checked: list[Keyframe] = []
    for raw in keyframes:
        key = raw if isinstance(raw, Keyframe) else Keyframe(*raw)
        if not (np.isfinite(key.time) and key.time >= 0):
            raise InputError(f"emotion keyframe time {key.time} must be a number of seconds >= 0")
        label = check_emotion(key.label)
        intensity = check_intensity(key.intensity, f"{label} keyframe at {key.time:g} s: intensity")
        if checked and key.time <= checked[-1].time:
            raise InputError(f"emotion keyframes are out of order: {key.time:g} s ({label}) comes after "
                             f"{checked[-1].time:g} s ({checked[-1].label}); list them by increasing time")
        checked.append(Keyframe(float(key.time), label, intensity))
    if not checked:
        raise InputError("no emotion keyframes given; give at least one, e.g. [(0, 'neutral', 0.8)]")
    return checked


def from_keyframes(keyframes: str | Sequence[Keyframe | tuple], n_frames: int, fps: float,
                   transition_s: float = DEFAULT_TRANSITION_S) -> EmotionFrames:
    """An emotion curve through keyframes: holds between them, smoothstep cross-fades centred on their times."""
    keys = parse_keyframes(keyframes) if isinstance(keyframes, str) else check_keyframes(keyframes)
    times = np.arange(n_frames) / fps
    eye = np.eye(len(EMOTIONS))
    targets = [key.intensity * eye[EMOTIONS.index(key.label)] for key in keys]
    display = np.tile(targets[0], (n_frames, 1))
    for k in range(1, len(keys)):
        # Each change fades within half the gap to its neighbours, so fades never overlap.
        gaps = [keys[k].time - keys[k - 1].time] + ([keys[k + 1].time - keys[k].time] if k + 1 < len(keys) else [])
        width = max(min(transition_s, min(gaps)), 1e-6)
        x = np.clip((times - keys[k].time) / width + 0.5, 0.0, 1.0)
        display += (x * x * (3 - 2 * x))[:, None] * (targets[k] - targets[k - 1])
    return from_display(display)


def from_probabilities(probs, intensity: float | np.ndarray = 1.0, vad=None) -> EmotionFrames:
    """Emotion from per-frame probabilities over EMOTIONS (T, 8), e.g. a recognizer's, at the given intensity."""
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(EMOTIONS):
        raise InputError(f"emotion probabilities need shape (frames, {len(EMOTIONS)}) over {', '.join(EMOTIONS)}; "
                         f"got {probs.shape}")
    if not np.isfinite(probs).all() or probs.min(initial=0) < 0:
        raise InputError("emotion probabilities must be finite and non-negative")
    probs = probs / np.maximum(probs.sum(1, keepdims=True), 1e-12)
    level = np.broadcast_to(np.asarray(intensity, np.float64), (len(probs),))
    if level.min(initial=0) < 0 or level.max(initial=0) > 1:
        raise InputError("emotion intensity must lie in [0, 1]")
    return from_display(probs * level[:, None], None if vad is None else check_vad(vad))


def blend(first: EmotionFrames, second: EmotionFrames, weight: float | np.ndarray = 0.5) -> EmotionFrames:
    """(1 - weight) x first + weight x second, frame by frame (weight scalar or per frame in [0, 1])."""
    if first.n_frames != second.n_frames:
        raise InputError(f"cannot blend emotion curves of {first.n_frames} and {second.n_frames} frames; "
                         "build both on the same frame clock")
    w = np.broadcast_to(np.asarray(weight, np.float64), (first.n_frames,))
    if not np.isfinite(w).all() or w.min(initial=0) < 0 or w.max(initial=0) > 1:
        raise InputError("blend weight must lie in [0, 1]")
    display = (1 - w)[:, None] * display_vector(first) + w[:, None] * display_vector(second)
    vad = (1 - w)[:, None] * first.vad + w[:, None] * second.vad
    return from_display(display, vad)


def resample(emotion: EmotionFrames, n_frames: int) -> EmotionFrames:
    """The same curve on another frame count (linear in time), e.g. from recognizer windows to the frame clock."""
    if emotion.n_frames == n_frames:
        return emotion
    source = np.linspace(0.0, 1.0, emotion.n_frames) if emotion.n_frames > 1 else np.zeros(1)
    target = np.linspace(0.0, 1.0, n_frames)
    display, vad = display_vector(emotion), emotion.vad
    interp = lambda a: np.stack([np.interp(target, source, a[:, i]) for i in range(a.shape[1])], 1)  # noqa: E731
    return from_display(interp(display), interp(vad))

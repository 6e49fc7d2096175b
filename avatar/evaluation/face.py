"""Quality measures of a speaking face track against its phones: lip closure, jaw, blinks, emotion.

Shared by the procedural face's bench and tests and by any later face generator, so every one is held to the same
definitions:
- bilabial closure: the share of P/B/M phone intervals where some frame inside the interval (+-1 frame) has
  jawOpen - mouthClose <= 0.05 and all of mouthUpperUp_L/R, mouthLowerDown_L/R <= 0.15 (target >= 95 %);
- open vowels: mean jawOpen over the frames of AA/AE/AH/AO/AW/AY intervals (target >= 0.25) and its ratio to the
  mean over P/B/M intervals (target >= 3); a phone shorter than a frame counts its nearest frame;
- blinks: a blink is a run of frames with eyelid closure (mean of eyeBlinkLeft/Right) >= 0.5; its duration is the
  run of frames >= 0.1 around it, in frames / fps (targets at neutral: 8-30 per minute, each 100-400 ms);
- emotion shows: the mean over speech frames (inside a spoken phone) of an emotion's defining ARKit shapes
  (``generators.procedural.facs.defining_shapes``): >= 0.3 at intensity 0.8, <= 0.1 for a neutral face.
Frame k stands for time k / fps; "inside [start, end)" means start <= k / fps < end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from generators.conditioning import EMOTIONS, Content, EmotionFrames, Segment
from generators.procedural.facs import defining_shapes
from rigs.face.track import FaceTrack
from rigs.phones import BILABIALS, OPEN_VOWELS, SILENCE

CLOSED_GAP = 0.05  # jawOpen - mouthClose at most this: the lips touch
CLOSED_LIP = 0.15  # mouthUpperUp / mouthLowerDown at most this: the lips are not pulled apart
BLINK_CLOSED, BLINK_EDGE = 0.5, 0.1
TARGETS = {"closure": 0.95, "open_jaw": 0.25, "jaw_ratio": 3.0, "blinks_per_min": (8.0, 30.0),
           "blink_s": (0.1, 0.4), "emotion_at_0.8": 0.3, "emotion_at_neutral": 0.1}

Animate = Callable[[Content, EmotionFrames], FaceTrack]


def _label(raw: str) -> str:
    return raw.strip().upper().rstrip("012")


def _frames(start: float, end: float, fps: float, n: int) -> np.ndarray:
    """Frames inside [start, end), or the one nearest the middle when the interval holds none."""
    inside = np.arange(max(0, int(np.ceil(start * fps - 1e-9))), min(n, int(np.ceil(end * fps - 1e-9))))
    return inside if len(inside) else np.array([min(n - 1, max(0, int(round((start + end) / 2 * fps))))])


def intervals(phones: Sequence[Segment], labels: frozenset[str]) -> list[Segment]:
    """The phone intervals whose label (stress digits dropped) is one of `labels`."""
    return [p for p in phones if _label(p.label) in labels]


def closed_frames(track: FaceTrack) -> np.ndarray:
    """(T,) bool: frames where the lips are closed by the bilabial definition."""
    gap = track["jawOpen"] - track["mouthClose"]
    apart = np.max([track[n] for n in ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
                                       "mouthLowerDownRight")], axis=0)
    return (gap <= CLOSED_GAP) & (apart <= CLOSED_LIP)


def bilabial_closure(track: FaceTrack, phones: Sequence[Segment]) -> tuple[float, list[float]]:
    """Share of P/B/M intervals with a closed frame inside (+-1 frame), and the start times of those without."""
    closed = closed_frames(track)
    fps, n = track.fps, track.n_frames
    missed = []
    spans = intervals(phones, BILABIALS)
    for start, end, _ in spans:
        a = max(0, int(np.ceil((start - 1 / fps) * fps - 1e-9)))
        b = min(n - 1, int(np.floor((end + 1 / fps) * fps + 1e-9)))
        if not closed[a: b + 1].any():
            missed.append(start)
    return (1 - len(missed) / len(spans) if spans else float("nan")), missed


def _pooled_mean(values: np.ndarray, spans: list[Segment], fps: float) -> float:
    if not spans:
        return float("nan")
    return float(np.mean(np.concatenate([values[_frames(s, e, fps, len(values))] for s, e, _ in spans])))


def open_vowel_jaw(track: FaceTrack, phones: Sequence[Segment]) -> tuple[float, float, float]:
    """Mean jawOpen over open-vowel intervals, over P/B/M intervals, and their ratio."""
    jaw = track["jawOpen"]
    vowels = _pooled_mean(jaw, intervals(phones, OPEN_VOWELS), track.fps)
    bilabials = _pooled_mean(jaw, intervals(phones, BILABIALS), track.fps)
    return vowels, bilabials, vowels / max(bilabials, 1e-6)


def blinks(track: FaceTrack) -> tuple[float, np.ndarray]:
    """Blinks per minute and each blink's duration in seconds."""
    lid = (track["eyeBlinkLeft"] + track["eyeBlinkRight"]) / 2

    def runs(mask: np.ndarray) -> np.ndarray:
        edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], 1)  # [start, end) per run

    closed, moving = runs(lid >= BLINK_CLOSED), runs(lid >= BLINK_EDGE)
    durations = []
    for start, _ in closed:
        around = moving[(moving[:, 0] <= start) & (moving[:, 1] > start)][0]
        durations.append((around[1] - around[0]) / track.fps)
    minutes = track.duration / 60
    return (len(closed) / minutes if minutes > 0 else float("nan")), np.array(durations)


def speech_frames(phones: Sequence[Segment], n_frames: int, fps: float) -> np.ndarray:
    """(T,) bool: frames inside a spoken (non-pause) phone."""
    mask = np.zeros(n_frames, bool)
    for start, end, label in phones:
        if _label(label) not in SILENCE:
            mask[max(0, int(np.ceil(start * fps - 1e-9))): max(0, int(np.ceil(end * fps - 1e-9)))] = True
    return mask


def shape_mean(track: FaceTrack, shapes: Sequence[str], frames: np.ndarray) -> float:
    """Mean of the named shapes over the selected frames."""
    if not len(shapes) or not frames.any():
        return float("nan")
    return float(np.mean([track[name][frames] for name in shapes]))


def constant(label: str, intensity: float, n_frames: int) -> EmotionFrames:
    """One emotion held over the clip (the front end's constant_emotion, with its VAD table)."""
    from avatar.emotion import constant_emotion

    return constant_emotion(label, intensity, n_frames)


@dataclass
class FaceFigures:
    """The four measures of one face generator on one input."""

    closure: float
    closure_missed: list[float]
    open_jaw: float
    bilabial_jaw: float
    jaw_ratio: float
    blinks_per_min: float
    blink_s: np.ndarray
    emotion_at_08: dict[str, float] = field(default_factory=dict)  # defining-shape mean at intensity 0.8
    emotion_at_neutral: dict[str, float] = field(default_factory=dict)  # the same shapes on the neutral face

    def failures(self) -> list[str]:
        """The targets this input misses, as readable lines (empty when all are met)."""
        t, out = TARGETS, []
        if not self.closure >= t["closure"]:
            out.append(f"bilabial closure {self.closure:.1%} < 95 % (missed at {self.closure_missed[:5]} s)")
        if not (self.open_jaw >= t["open_jaw"] and self.jaw_ratio >= t["jaw_ratio"]):
            out.append(f"open-vowel jaw {self.open_jaw:.3f} (>= 0.25), ratio {self.jaw_ratio:.1f} (>= 3)")
        lo, hi = t["blinks_per_min"]
        if not lo <= self.blinks_per_min <= hi:
            out.append(f"{self.blinks_per_min:.1f} blinks per minute, outside 8-30")
        if len(self.blink_s) and not (self.blink_s.min() >= 0.1 - 1e-6 and self.blink_s.max() <= 0.4 + 1e-6):
            out.append(f"blink durations {self.blink_s.min():.3f}-{self.blink_s.max():.3f} s, outside 0.1-0.4 s")
        for emotion, value in self.emotion_at_08.items():
            if not value >= t["emotion_at_0.8"]:
                out.append(f"{emotion} at 0.8: defining shapes mean {value:.3f} < 0.3")
            if not self.emotion_at_neutral[emotion] <= t["emotion_at_neutral"]:
                out.append(f"{emotion} shapes at neutral: mean {self.emotion_at_neutral[emotion]:.3f} > 0.1")
        return out

    def lines(self) -> list[str]:
        """The figures as readable lines."""
        durations = (f"{1000 * self.blink_s.min():.0f}-{1000 * self.blink_s.max():.0f} ms (median "
                     f"{1000 * np.median(self.blink_s):.0f})" if len(self.blink_s) else "none")
        emotions = ", ".join(f"{e} {self.emotion_at_08[e]:.2f}/{self.emotion_at_neutral[e]:.2f}"
                             for e in self.emotion_at_08)
        return [f"bilabial closure {self.closure:.1%} of P/B/M",
                f"open-vowel jawOpen {self.open_jaw:.3f}, P/B/M {self.bilabial_jaw:.3f}, ratio {self.jaw_ratio:.1f}",
                f"blinks at neutral {self.blinks_per_min:.1f}/min, {durations}",
                f"defining shapes at 0.8 / at neutral: {emotions}"]


def measure(animate: Animate, content: Content, emotions: Sequence[str] = EMOTIONS[1:]) -> FaceFigures:
    """All four measures of a face generator (content, emotion frames -> track) on one input."""
    n = content.n_frames
    neutral = animate(content, constant("neutral", 0.8, n))
    closure, missed = bilabial_closure(neutral, content.phones)
    open_jaw, bilabial_jaw, ratio = open_vowel_jaw(neutral, content.phones)
    per_min, durations = blinks(neutral)
    figures = FaceFigures(closure, missed, open_jaw, bilabial_jaw, ratio, per_min, durations)
    speech = speech_frames(content.phones, n, content.fps)
    for emotion in emotions:
        shapes = defining_shapes(emotion)
        track = animate(content, constant(emotion, 0.8, n))
        figures.emotion_at_08[emotion] = shape_mean(track, shapes, speech)
        figures.emotion_at_neutral[emotion] = shape_mean(neutral, shapes, speech)
    return figures

"""Emotion from face motion: ARKit-52 tracks read through FACS action units and the EMFACS emotion prototypes.

Explainable and fast (no rendering, no learned weights): every reading names the action units (AUs) behind it.

1. AUs from ARKit. Each AU is read from the ARKit blendshapes Apple documents for that movement
   (ARFaceAnchor.BlendShapeLocation: e.g. browInnerUp, the inner brows moving up = AU1; mouthSmile, the mouth
   corners pulled up and out = AU12; noseSneer = AU9), AU meanings from FACS (Ekman, Friesen & Hager 2002,
   "Facial Action Coding System: The Manual"). Paired shapes give a symmetric part (min of the two sides, what
   a bilateral AU shows) and an asymmetric part (|left - right|, what a unilateral AU shows). ARKit has no lip
   tightener (AU23); anger is read with the lip presser AU24 instead, which EMFACS lists as an anger variant too.
2. Only sustained movement counts. Expressions are held for seconds, while speech and conversation move the same
   muscles for a fraction of one: every AU is median-filtered over STEADY_S (drops blinks, brow flashes on stressed
   words, jitter), and the AUs that articulation moves (AU10, 16, 17, 20, 24, 26: jaw, lip opening, spreading,
   pressing, chin) keep only their floor under the syllable cycle, the SPEECH_QUANTILE quantile over SPEECH_S.
   Funnel, pucker, mouthClose and lip roll (pure articulation: AU18, 22, 28) are not read at all.
3. Evidence per AU: (value - FLOOR) / (FULL - FLOOR), clipped to [0, 1]; FLOOR is trace-level noise, FULL a marked
   (FACS C-level) movement on ARKit's 0..1 scale.
4. Prototypes (EMFACS, Friesen & Ekman 1983, as summarised in the FACS Investigator's Guide 2002; Matsumoto &
   Ekman 2004 for contempt), AUs that articulation also moves counting half:
   happiness 6+12; sadness 1+4+15 (+17); surprise 1+2+5+26; fear 1+2+4+5+20+26 (+7 at half weight: it is in the
   widely reproduced 1+2+4+5+7+20+26 but not in EMFACS's main fear prototype); anger 4+5+7+24 (for 23);
   disgust 9+15+16 (+10); contempt 12+14 on one side only. An emotion's score is the weighted mean of its AUs'
   evidence minus AGAINST_WEIGHT x the strongest AU that contradicts it (AGAINST: e.g. the brow lowerer turns
   surprise's raised brows into fear's, an outer-brow raise has no place in sadness or anger, a smile in anger).
   Neutral scores NEUTRAL_SCORE: it wins when no prototype is shown clearly enough.
5. Distribution: softmax(scores / TEMPERATURE) over the eight EMOTIONS.
Readings: per frame (from that frame's sustained AUs), per window (WINDOW_S every HOP_S; the AU evidence averaged
over the window, then scored; a track shorter than a window is one window, and a last window ends at the track's
end when the hop leaves a tail) and for the whole track.

The recognizer is independent of the procedural animator (generators/procedural/facs.py): it reads the published
prototypes through Apple's shape definitions and never inverts the animator's table. Both follow the same
literature, so on procedural faces agreement is expected and checks the pipeline more than the recognizer; they
differ where the literature leaves choices (fear's AU7, the contradicting AUs, the symmetric/one-sided split, the
speech gating), and the recognizer ignores the animator's secondary shapes (eyeSquint with AU6, browDown with AU9).

    recognizer = FaceMotionRecognizer.from_pretrained()
    recognizer.read(track)                                    # EmotionTimeline: per frame, on the track's clock
    reading = recognizer.predict(track)
    reading.overall.label, reading.overall.explanation, [w.label for w in reading.windows], reading.frame_labels
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import median_filter, percentile_filter

from avatar.emotion.timeline import EmotionTimeline
from avatar.emotion.windows import WindowReadings, sliding_windows
from avatar.errors import InputError
from generators.conditioning import EMOTIONS
from rigs.errors import RigInputError
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack

# AU -> (FACS name, ARKit shapes that show it; two shapes = left and right).
ACTION_UNITS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("inner brow raiser", ("browInnerUp",)),
    2: ("outer brow raiser", ("browOuterUpLeft", "browOuterUpRight")),
    4: ("brow lowerer", ("browDownLeft", "browDownRight")),
    5: ("upper lid raiser", ("eyeWideLeft", "eyeWideRight")),
    6: ("cheek raiser", ("cheekSquintLeft", "cheekSquintRight")),
    7: ("lid tightener", ("eyeSquintLeft", "eyeSquintRight")),
    9: ("nose wrinkler", ("noseSneerLeft", "noseSneerRight")),
    10: ("upper lip raiser", ("mouthUpperUpLeft", "mouthUpperUpRight")),
    12: ("lip corner puller", ("mouthSmileLeft", "mouthSmileRight")),
    14: ("dimpler", ("mouthDimpleLeft", "mouthDimpleRight")),
    15: ("lip corner depressor", ("mouthFrownLeft", "mouthFrownRight")),
    16: ("lower lip depressor", ("mouthLowerDownLeft", "mouthLowerDownRight")),
    17: ("chin raiser", ("mouthShrugLower",)),
    20: ("lip stretcher", ("mouthStretchLeft", "mouthStretchRight")),
    24: ("lip presser", ("mouthPressLeft", "mouthPressRight")),
    26: ("jaw drop", ("jawOpen",)),
}
SPEECH_AUS = frozenset({10, 16, 17, 20, 24, 26})  # moved by articulation: read through their sustained floor

# Features: each AU's symmetric reading, and for contempt the one-sided parts of AU12 and AU14.
FEATURES: tuple[tuple[int, str], ...] = tuple((au, "both") for au in ACTION_UNITS) + ((12, "one side"),
                                                                                      (14, "one side"))
_FEATURE = {key: i for i, key in enumerate(FEATURES)}

# Emotion -> ((AU, side, weight), ...): the EMFACS prototypes. Weight 0.5 for AUs articulation also moves.
PROTOTYPES: dict[str, tuple[tuple[int, str, float], ...]] = {
    "happiness": ((6, "both", 1.0), (12, "both", 1.0)),
    "sadness": ((1, "both", 1.0), (4, "both", 1.0), (15, "both", 1.0), (17, "both", 0.5)),
    "surprise": ((1, "both", 1.0), (2, "both", 1.0), (5, "both", 1.0), (26, "both", 0.5)),
    # AU7 is in some published fear prototypes (1+2+4+5+7+20+26) and not in others (1+2+4+5+20+26): half weight.
    "fear": ((1, "both", 1.0), (2, "both", 1.0), (4, "both", 1.0), (5, "both", 1.0), (7, "both", 0.5),
             (20, "both", 0.5), (26, "both", 0.5)),
    "anger": ((4, "both", 1.0), (5, "both", 1.0), (7, "both", 1.0), (24, "both", 0.5)),
    "disgust": ((9, "both", 1.0), (15, "both", 1.0), (16, "both", 0.5), (10, "both", 0.5)),
    "contempt": ((12, "one side", 1.0), (14, "one side", 1.0)),
}
# Emotion -> AUs whose presence argues against it (the distinctions the FACS Investigator's Guide draws).
AGAINST: dict[str, tuple[int, ...]] = {
    "happiness": (4, 15),  # a lowered brow or pulled-down corners are not a smile's
    "sadness": (2, 5, 9, 12),  # sadness raises only the inner brow; no wide eyes, wrinkled nose or smile
    "surprise": (4, 7, 9, 12, 15),  # 1+2 with 4 is the fear brow; surprise does not tighten the lids
    "fear": (9, 12),
    "anger": (1, 2, 12),  # anger's brows are lowered and drawn together, never raised
    "disgust": (2, 5),
    "contempt": (),  # its evidence is the asymmetry itself
}

STEADY_S = 0.5  # median filter of every AU: movements shorter than about half of this do not count
SPEECH_S = 1.0  # window of the floor of the AUs articulation moves
SPEECH_QUANTILE = 20.0  # percentile: what stays under the syllable cycle
FLOOR, FULL = 0.05, 0.5  # ARKit values of trace-level noise and of a marked movement
AGAINST_WEIGHT = 1.0  # a contradicting AU at full evidence cancels a fully shown prototype
NEUTRAL_SCORE = 0.2  # an emotion has to score more than this to beat neutral
TEMPERATURE = 0.05  # of the softmax: a neutral face (all scores <= 0) reads neutral ~0.9
WINDOW_S, HOP_S = 2.0, 1.0
EXPLAIN_MIN = 0.1  # AU evidence below this is not named in an explanation


@dataclass(frozen=True)
class AUEvidence:
    """One action unit in an explanation: how strongly it shows (0..1) and whether it supports the label."""

    au: int
    name: str
    side: str  # "both" or "one side"
    evidence: float
    supports: bool  # True: part of the label's prototype; False: argues against it

    def __str__(self) -> str:
        side = " (one side)" if self.side == "one side" else ""
        return f"{'' if self.supports else 'against: '}AU{self.au} {self.name}{side} {self.evidence:.2f}"


@dataclass(frozen=True)
class MotionEmotion:
    """What a stretch of face motion expresses: scores, probabilities and label over EMOTIONS, and why."""

    start: float  # seconds
    end: float
    scores: dict[str, float]  # prototype match per category (neutral: NEUTRAL_SCORE)
    probs: dict[str, float]  # softmax(scores / TEMPERATURE), summing to 1
    label: str
    action_units: dict[str, float]  # evidence per feature, "AU12" or "AU12 one side", 0..1
    explanation: tuple[AUEvidence, ...] = field(default=())

    @property
    def categories(self) -> np.ndarray:
        """The eight category probabilities as float32 in EMOTIONS order."""
        return np.array([self.probs[name] for name in EMOTIONS], np.float32)

    def describe(self) -> str:
        """One line: the label, its probability and the AUs behind it."""
        why = ", ".join(str(item) for item in self.explanation)
        if self.label == "neutral":
            why = why or "no action unit shows"
            return f"neutral {self.probs['neutral']:.2f}: no emotion prototype scores above {NEUTRAL_SCORE} ({why})"
        return f"{self.label} {self.probs[self.label]:.2f}: {why}"


@dataclass(frozen=True)
class FaceMotionResult(WindowReadings):
    """Readings of a face track: per frame (arrays), per window and for the whole track."""

    fps: float
    frame_scores: np.ndarray  # (T, 8) in EMOTIONS order
    frame_probs: np.ndarray  # (T, 8)
    frame_evidence: np.ndarray  # (T, len(FEATURES)) sustained AU evidence, 0..1
    windows: list[MotionEmotion]
    overall: MotionEmotion

    @property
    def frame_labels(self) -> list[str]:
        """The top category of every frame."""
        return [EMOTIONS[i] for i in np.argmax(self.frame_probs, axis=1)]


def _feature_name(au: int, side: str) -> str:
    return f"AU{au}" if side == "both" else f"AU{au} {side}"


def _raw_features(weights: np.ndarray) -> np.ndarray:
    """(T, len(FEATURES)) AU intensities straight from the ARKit weights."""
    out = np.zeros((len(weights), len(FEATURES)), np.float32)
    for (au, side), j in _FEATURE.items():
        columns = weights[:, [INDEX[name] for name in ACTION_UNITS[au][1]]]
        if columns.shape[1] == 1:
            out[:, j] = columns[:, 0] if side == "both" else 0.0
        elif side == "both":
            out[:, j] = columns.min(axis=1)
        else:
            out[:, j] = np.abs(columns[:, 0] - columns[:, 1])
    return out


def _odd(seconds: float, fps: float) -> int:
    return max(1, int(round(seconds * fps)) | 1)


def sustained_evidence(track: FaceTrack) -> np.ndarray:
    """(T, len(FEATURES)) per-frame evidence of each AU feature, speech and blinks filtered out (module doc, 2-3)."""
    raw = _raw_features(track.weights)
    steady = median_filter(raw, size=(_odd(STEADY_S, track.fps), 1), mode="nearest")
    speech = [j for (au, _), j in _FEATURE.items() if au in SPEECH_AUS]
    if speech:
        floor = percentile_filter(raw[:, speech], SPEECH_QUANTILE, size=(_odd(SPEECH_S, track.fps), 1),
                                  mode="nearest")
        steady[:, speech] = np.minimum(steady[:, speech], floor)
    return np.clip((steady - FLOOR) / (FULL - FLOOR), 0.0, 1.0)


def _tables() -> tuple[np.ndarray, list[list[int]]]:
    weights = np.zeros((len(EMOTIONS), len(FEATURES)))
    against: list[list[int]] = [[] for _ in EMOTIONS]
    for e, emotion in enumerate(EMOTIONS):
        for au, side, weight in PROTOTYPES.get(emotion, ()):
            weights[e, _FEATURE[(au, side)]] = weight
        against[e] = [_FEATURE[(au, "both")] for au in AGAINST.get(emotion, ())]
    sums = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0), against


_WEIGHTS, _AGAINST = _tables()  # (8, F) prototype weights normalised per emotion; contradicting feature columns


def prototype_scores(evidence: np.ndarray) -> np.ndarray:
    """(N, 8) category scores of AU evidence (N, len(FEATURES)): prototype match minus contradiction."""
    evidence = np.atleast_2d(evidence)
    scores = evidence @ _WEIGHTS.T
    for e, columns in enumerate(_AGAINST):
        if columns:
            scores[:, e] -= AGAINST_WEIGHT * evidence[:, columns].max(axis=1)
    scores[:, EMOTIONS.index("neutral")] = NEUTRAL_SCORE
    return scores


def softmax_probs(scores: np.ndarray) -> np.ndarray:
    """(N, 8) probabilities: softmax of the scores at TEMPERATURE."""
    z = np.atleast_2d(scores) / TEMPERATURE
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _explain(label: str, evidence: np.ndarray) -> tuple[AUEvidence, ...]:
    if label == "neutral":  # the strongest AUs that showed, none strong enough to make an emotion
        order = [j for j in np.argsort(-evidence) if evidence[j] >= EXPLAIN_MIN][:3]
        return tuple(AUEvidence(FEATURES[j][0], ACTION_UNITS[FEATURES[j][0]][0], FEATURES[j][1],
                                float(evidence[j]), True) for j in order)
    items = []
    for au, side, _ in sorted(PROTOTYPES[label], key=lambda p: -p[2] * evidence[_FEATURE[(p[0], p[1])]]):
        value = float(evidence[_FEATURE[(au, side)]])
        if value >= EXPLAIN_MIN:
            items.append(AUEvidence(au, ACTION_UNITS[au][0], side, value, True))
    for au in AGAINST[label]:
        value = float(evidence[_FEATURE[(au, "both")]])
        if value >= EXPLAIN_MIN:
            items.append(AUEvidence(au, ACTION_UNITS[au][0], "both", value, False))
    return tuple(items)


def _reading(evidence: np.ndarray, start: float, end: float) -> MotionEmotion:
    scores = prototype_scores(evidence)[0]
    probs = softmax_probs(scores)[0]
    label = EMOTIONS[int(np.argmax(probs))]
    return MotionEmotion(
        start=float(start), end=float(end),
        scores={n: float(s) for n, s in zip(EMOTIONS, scores, strict=True)},
        probs={n: float(p) for n, p in zip(EMOTIONS, probs, strict=True)},
        label=label,
        action_units={_feature_name(au, side): float(evidence[j]) for (au, side), j in _FEATURE.items()},
        explanation=_explain(label, evidence),
    )


class FaceMotionRecognizer:
    """FACS/EMFACS emotion recognizer on ARKit-52 face tracks: read gives the per-frame timeline, predict also the
    windows and the action units behind them."""

    def __init__(self, window_s: float = WINDOW_S, hop_s: float = HOP_S):
        for name, value in (("window_s", window_s), ("hop_s", hop_s)):
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"face-motion recognizer {name} is {value!r}; give a positive number of seconds, "
                                 f"e.g. {WINDOW_S if name == 'window_s' else HOP_S}")
        self.window_s, self.hop_s = float(window_s), float(hop_s)

    @classmethod
    def from_pretrained(cls, path=None) -> FaceMotionRecognizer:
        """The recognizer with its default windows. It learns nothing (its tables are the published prototypes),
        so there is no checkpoint: path must be None."""
        if path is not None:
            raise InputError(f"the face-motion recognizer has no weights to load from '{path}' (its tables are the "
                             "published FACS prototypes); leave the path out")
        return cls()

    def read(self, track: FaceTrack | np.ndarray, fps: float | None = None) -> EmotionTimeline:
        """The per-frame reading of a face track on its frame clock (every frame fully trusted)."""
        result = self.predict(track, fps)
        return EmotionTimeline.certain(result.frame_probs, result.fps)

    def predict(self, track: FaceTrack | np.ndarray, fps: float | None = None) -> FaceMotionResult:
        """Emotions of a face track (a FaceTrack, or ARKit weights (T, 52) with fps) per frame, window and whole."""
        track = _check_track(track, fps)
        evidence = sustained_evidence(track)
        scores = prototype_scores(evidence)
        windows = [_reading(evidence[a:b].mean(axis=0), a / track.fps, b / track.fps)
                   for a, b in sliding_windows(track.n_frames, track.fps, self.window_s, self.hop_s)]
        overall = _reading(evidence.mean(axis=0), 0.0, track.duration)
        return FaceMotionResult(track.fps, scores.astype(np.float32), softmax_probs(scores).astype(np.float32),
                                evidence.astype(np.float32), windows, overall)


def _check_track(track, fps: float | None) -> FaceTrack:
    if not isinstance(track, FaceTrack):
        if fps is None:
            raise InputError("face-motion input is not a FaceTrack; give a FaceTrack, or ARKit weights (T, 52) "
                             "together with fps=")
        try:
            track = FaceTrack(np.asarray(track, np.float32), fps)
        except (RigInputError, ValueError, TypeError) as error:
            raise InputError(f"face-motion input: {error}") from error
    elif fps is not None and fps != track.fps:
        raise InputError(f"fps={fps} disagrees with the FaceTrack's own {track.fps}; leave fps out for a FaceTrack")
    if track.n_frames == 0:
        raise InputError("face track has no frames; give at least one frame of ARKit weights")
    return track

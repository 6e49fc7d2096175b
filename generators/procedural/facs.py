"""Emotion on the face: the FACS table (emotion -> action units -> ARKit shapes), its timing, and its layering.

Prototypes follow Ekman & Friesen's EMFACS predictions of the basic emotions (as summarised in Ekman, Friesen &
Hager 2002, "FACS Investigator's Guide", and Matsumoto & Ekman 2004 for contempt):

| emotion   | action units (intensity at full emotion)                            | reads as                         |
|-----------|---------------------------------------------------------------------|----------------------------------|
| happiness | AU6 cheek raiser .7, AU12 lip corner puller .85                     | Duchenne smile                   |
| sadness   | AU1 inner brow raiser .85, AU4 brow lowerer .45, AU15 lip corner    | oblique brows, corners down      |
|           | depressor .6; secondary AU17 chin raiser .25                        |                                  |
| surprise  | AU1 .85, AU2 outer brow raiser .8, AU5 upper lid raiser .7,          | brows up, eyes wide, jaw dropped |
|           | AU26 jaw drop .3                                                    |                                  |
| fear      | AU1 .8, AU2 .55, AU4 .4, AU5 .75, AU20 lip stretcher .6, AU26 .2    | brows up and drawn, lips stretch |
| anger     | AU4 .85, AU5 .35, AU7 lid tightener .6, AU23 lip tightener .6       | glare, lowered brows, thin lips  |
| disgust   | AU9 nose wrinkler .7, AU15 .5, AU16 lower lip depressor .4          | nose wrinkled, lower lip down    |
| contempt  | AU12 .6 and AU14 dimpler .7 on the character's left side only       | one-sided smirk                  |

Neutral has no action units. Every AU maps to its ARKit shapes (``_AU_SHAPES``; ARKit has no lip tightener, so
AU23 uses the presser with a little lip roll). An emotion's *defining shapes* are each of its AUs' main shapes
(weight 1 in ``_AU_SHAPES``, on the sides the AU acts on): what a viewer or a recognizer should see.

Timing: a category's activation (category weight x intensity) rises towards a new value with the time constant
ONSET_S and falls with OFFSET_S (expressions set in faster than they fade), then a short lag rounds the corners.
Each activation therefore changes by at most MAX_ACTIVATION_RATE per second: no emotion ever jumps.

Layering: expressions add onto speech, but where the mouth is busy the mouth-region expression yields
(`layer_expression`): shapes that part the lips or drop the jaw give way while the lips seal (P/B/M, rest), and
spreading shapes (smile, stretch, dimple) partly give way while the lips round (OW/UW/W). The bilabial closure
pass in `lipsync.seal_bilabials` runs after everything, so an expression never opens a P/B/M.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from generators.conditioning import EMOTIONS, EmotionFrames
from generators.procedural.signals import lag, smooth
from rigs.face.arkit import INDEX, N_BLENDSHAPES

_BOTH = ("Left", "Right")

# Action unit -> ARKit shapes with weights; weight 1 marks the AU's main shape(s). "{side}" expands per side.
_AU_SHAPES: dict[int, tuple[tuple[str, float], ...]] = {
    1: (("browInnerUp", 1.0),),
    2: (("browOuterUp{side}", 1.0),),
    4: (("browDown{side}", 1.0),),
    5: (("eyeWide{side}", 1.0),),
    6: (("cheekSquint{side}", 1.0), ("eyeSquint{side}", 0.35)),  # the raised cheek narrows the eye from below
    7: (("eyeSquint{side}", 1.0),),
    9: (("noseSneer{side}", 1.0), ("mouthUpperUp{side}", 0.25), ("browDown{side}", 0.2)),  # lifts lip, pulls brow
    12: (("mouthSmile{side}", 1.0),),
    14: (("mouthDimple{side}", 1.0),),
    15: (("mouthFrown{side}", 1.0),),
    16: (("mouthLowerDown{side}", 1.0),),
    17: (("mouthShrugLower", 1.0),),
    20: (("mouthStretch{side}", 1.0),),
    23: (("mouthPress{side}", 1.0), ("mouthRollLower", 0.15), ("mouthRollUpper", 0.15)),
    26: (("jawOpen", 1.0),),
}

# Emotion -> (AU, intensity at full emotion, sides, defining). Secondary AUs (defining=False) add realism but are
# not what the emotion is recognised by.
_EMOTION_AUS: dict[str, tuple[tuple[int, float, tuple[str, ...], bool], ...]] = {
    "neutral": (),
    "happiness": ((6, 0.7, _BOTH, True), (12, 0.85, _BOTH, True)),
    "sadness": ((1, 0.85, _BOTH, True), (4, 0.45, _BOTH, True), (15, 0.6, _BOTH, True), (17, 0.25, _BOTH, False)),
    "surprise": ((1, 0.85, _BOTH, True), (2, 0.8, _BOTH, True), (5, 0.7, _BOTH, True), (26, 0.3, _BOTH, True)),
    "fear": ((1, 0.8, _BOTH, True), (2, 0.55, _BOTH, True), (4, 0.4, _BOTH, True), (5, 0.75, _BOTH, True),
             (20, 0.6, _BOTH, True), (26, 0.2, _BOTH, True)),
    "anger": ((4, 0.85, _BOTH, True), (5, 0.35, _BOTH, True), (7, 0.6, _BOTH, True), (23, 0.6, _BOTH, True)),
    "disgust": ((9, 0.7, _BOTH, True), (15, 0.5, _BOTH, True), (16, 0.4, _BOTH, True)),
    "contempt": ((12, 0.6, ("Left",), True), (14, 0.7, ("Left",), True)),
}

# Head posture at full emotion, radians (yaw + toward the character's left, pitch + down, roll), and where the gaze
# rests (pitch in the world, + down; 0 is the listener's eyes): sadness hangs the head and looks down, surprise and
# fear pull back, contempt lifts the chin and tilts, disgust turns away, anger lowers the chin and glares up at the
# listener (the eyes hold the listener while the head drops).
POSTURE: dict[str, tuple[float, float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0, 0.0),
    "happiness": (0.0, -0.03, 0.04, 0.0),
    "anger": (0.0, 0.06, 0.0, 0.0),
    "sadness": (0.0, 0.08, 0.03, 0.25),
    "contempt": (0.05, -0.08, 0.05, 0.03),
    "surprise": (0.0, -0.06, 0.0, -0.02),
    "fear": (0.04, -0.04, 0.0, 0.0),
    "disgust": (-0.06, -0.02, -0.03, 0.02),
}

ONSET_S = 0.3  # time constant of an expression setting in
OFFSET_S = 0.6  # time constant of an expression fading
ROUNDING_S = 0.08  # a second, short lag that rounds the start of every change
MAX_ACTIVATION_RATE = 1.0 / ONSET_S  # per second: the fastest any category's activation can change
YIELD_S = 0.04  # smoothing of the mouth shapes' yielding to a lip closure


def _expand(name: str, sides: tuple[str, ...]) -> list[str]:
    return [name.format(side=side) for side in sides] if "{side}" in name else [name]


def _table() -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    shapes = np.zeros((len(EMOTIONS), N_BLENDSHAPES))
    defining: dict[str, tuple[str, ...]] = {}
    for e, emotion in enumerate(EMOTIONS):
        names: list[str] = []
        for au, intensity, sides, is_defining in _EMOTION_AUS[emotion]:
            for pattern, weight in _AU_SHAPES[au]:
                for name in _expand(pattern, sides):
                    shapes[e, INDEX[name]] += intensity * weight
                    if is_defining and weight == 1.0 and name not in names:
                        names.append(name)
        defining[emotion] = tuple(names)
    return np.clip(shapes, 0.0, 1.0), defining


# (8, 52): each emotion's ARKit weights at full intensity, rows in EMOTIONS order.
EXPRESSIONS, DEFINING_SHAPES = _table()


def defining_shapes(emotion: str) -> tuple[str, ...]:
    """The ARKit shapes an emotion is recognised by (its action units' main shapes); empty for neutral."""
    return DEFINING_SHAPES[emotion]


def activation(emotion: EmotionFrames, fps: float, onset_s: float = ONSET_S, offset_s: float = OFFSET_S) -> np.ndarray:
    """(T, 8) how strongly each category shows per frame: weight x intensity, with natural onset and offset."""
    target = emotion.categories.astype(np.float64) * emotion.intensity[:, None]
    rise, fall = 1 - np.exp(-1 / (onset_s * fps)), 1 - np.exp(-1 / (offset_s * fps))
    out = target.copy()  # a clip starts in its first emotion, not fading in from neutral
    for e in np.flatnonzero(np.ptp(target, axis=0) > 0):  # held categories need no filtering
        state, column = target[0, e], out[:, e]
        for t, goal in enumerate(target[:, e].tolist()):
            state += (rise if goal > state else fall) * (goal - state)
            column[t] = state
    return lag(out, ROUNDING_S, fps)


def expression(act: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(T, 52) ARKit weights of the emotion layer for activations (T, 8)."""
    return np.clip(gain * act @ EXPRESSIONS, 0.0, 1.0)


def posture(act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Head offset (T, 3) radians and gaze pitch offset (T,) of the emotions for activations (T, 8)."""
    table = np.array([POSTURE[e] for e in EMOTIONS])
    offsets = act @ table
    return offsets[:, :3], offsets[:, 3]


_OPENING = [INDEX[n] for n in ("jawOpen", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
                               "mouthLowerDownRight", "mouthStretchLeft", "mouthStretchRight")]
_SPREADING = [INDEX[n] for n in ("mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
                                 "mouthDimpleLeft", "mouthDimpleRight")]
_PRESSING = [INDEX[n] for n in ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")]


def layer_expression(speech: np.ndarray, expr: np.ndarray, seal: np.ndarray, rounding: np.ndarray,
                     jaw: np.ndarray, fps: float) -> np.ndarray:
    """(T, 52) speech weights plus the expression, its mouth shapes yielding where the articulation needs the lips.

    seal: how closed the lips must be (0..1); rounding: how rounded (0..1); jaw: speech jaw opening.
    """
    # The expression starts giving way a little before the lips close and takes a little after to come back, so a
    # surprised jaw drop leaves a P or M at the speed of a jaw, not in one frame.
    sealing = smooth(maximum_filter1d(np.clip(seal, 0, 1), max(1, int(round(0.1 * fps))) | 1), YIELD_S, fps)
    give = np.ones_like(expr)
    give[:, _OPENING] = (1 - sealing)[:, None]  # nothing pulls the lips apart while they seal
    give[:, _SPREADING] *= (1 - 0.6 * np.clip(rounding, 0, 1))[:, None]  # rounding wins over spreading
    give[:, _PRESSING] = (1 - 0.6 * np.clip(jaw / 0.4, 0, 1))[:, None]  # pressed lips relax on open vowels
    return np.clip(speech + expr * give, 0.0, 1.0)

"""The one emotion space of the engine: eight categories, valence/arousal/dominance and intensity, as curves.

`space` holds the categories' VAD table and checks; `curves` builds per-frame curves (label, VAD, keyframes,
recognizer output, blends); `timeline` is what a recognizer reads on the frame clock and the shape of a recognizer
that reads over time; `windows` cuts frames into windows and spreads timed readings back onto frames;
`vocabularies` maps FER2013, EmoDB, MEAD and Audio2Face labels to and from ours.
"""

from avatar.emotion.curves import (
    Keyframe,
    blend,
    constant_emotion,
    from_keyframes,
    from_probabilities,
    from_vad,
    parse_keyframes,
    resample,
)
from avatar.emotion.space import VAD, VAD_TABLE, check_emotion, check_intensity, check_vad, from_display, top_label
from avatar.emotion.timeline import EmotionReader, EmotionTimeline
from generators.conditioning import EMOTIONS, EmotionFrames

__all__ = [
    "EMOTIONS", "VAD", "VAD_TABLE", "EmotionFrames", "EmotionReader", "EmotionTimeline", "Keyframe", "blend",
    "check_emotion", "check_intensity", "check_vad", "constant_emotion", "from_display", "from_keyframes",
    "from_probabilities", "from_vad", "parse_keyframes", "resample", "top_label",
]

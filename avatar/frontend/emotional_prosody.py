"""Emotion-coloured speech for text input: per-emotion presets for the voice's rate, pitch, loudness and liveliness.

The directions follow the vocal-affect literature (Scherer 2003, "Vocal communication of emotion: a review of
research paradigms", Speech Communication 40; Juslin & Laukka 2003, Psychological Bulletin 129): anger, fear,
happiness and surprise raise pitch and liveliness, anger and fear speed up, sadness is slower, lower, quieter and
flatter; contempt and disgust are slower and lower. The sizes are ours, kept modest so the voice stays natural.
At intensity i a setting moves i of the way from the user's base prosody toward base x preset (rate, volume,
expressiveness) or base + preset (pitch, in semitones), clipped to the voice's ranges.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from avatar.emotion import check_emotion, check_intensity
from avatar.frontend.audio import Audio
from avatar.frontend.tts import Prosody

# label: (rate factor, pitch shift in semitones, volume factor, expressiveness factor), at intensity 1.
PRESETS: dict[str, tuple[float, float, float, float]] = {
    "neutral": (1.00, 0.0, 1.00, 1.00),
    "happiness": (1.08, 2.0, 1.00, 1.35),
    "anger": (1.06, 1.0, 1.00, 1.50),
    "sadness": (0.82, -2.0, 0.70, 0.55),
    "contempt": (0.90, -1.0, 0.90, 0.85),
    "surprise": (1.10, 3.0, 1.00, 1.60),
    "fear": (1.15, 2.5, 0.85, 1.25),
    "disgust": (0.88, -1.5, 0.90, 0.90),
}
_LIMITS = {"rate": (0.5, 2.0), "pitch_semitones": (-6.0, 6.0), "volume": (0.05, 1.0), "expressiveness": (0.0, 2.0)}


def emotion_prosody(emotion: str, intensity: float = 0.8, base: Prosody = Prosody()) -> Prosody:
    """The base prosody coloured by an emotion at an intensity (see PRESETS)."""
    rate, pitch, volume, liveliness = PRESETS[check_emotion(emotion)]
    i = check_intensity(intensity)
    blend = lambda value, factor: value * (1 + i * (factor - 1))  # noqa: E731
    settings = {"rate": blend(base.rate, rate), "pitch_semitones": base.pitch_semitones + i * pitch,
                "volume": blend(base.volume, volume), "expressiveness": blend(base.expressiveness, liveliness)}
    return replace(base, **{k: float(np.clip(v, *_LIMITS[k])) for k, v in settings.items()}).check()


def read_voice(audio: Audio, target: str) -> dict:
    """What the speech emotion recognizer reads from an emotion-coloured voice, against the emotion it was given."""
    from avatar.analysis import speech_recognizer

    utterance = speech_recognizer().predict(audio).utterance
    return {"target": target, "read_as": utterance.label, "target_probability": round(utterance.probs[target], 4),
            "matches": utterance.label == target}

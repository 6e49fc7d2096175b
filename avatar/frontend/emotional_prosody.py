"""Emotion-coloured speech for text input: per-emotion presets for the voice's rate, pitch, loudness and liveliness.

The directions follow the vocal-affect literature (Scherer 2003, "Vocal communication of emotion: a review of
research paradigms", Speech Communication 40; Juslin & Laukka 2003, Psychological Bulletin 129): anger, fear,
happiness and surprise raise pitch and liveliness, anger and fear speed up, sadness is slower, lower, quieter and
flatter; contempt and disgust are slower and lower. The sizes are ours, kept modest so the voice stays natural.
At intensity i a setting moves i of the way from the user's base prosody toward base x preset (rate, volume,
expressiveness) or base + preset (pitch in semitones, brightness in dB per octave), clipped to the voice's ranges.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from avatar.emotion import check_emotion, check_intensity
from avatar.frontend.audio import Audio
from avatar.frontend.tts import Prosody

# label: (rate factor, pitch shift in semitones, volume factor, expressiveness factor, brightness in dB per
# octave), at intensity 1. Directions from the literature above; sizes chosen, within natural ranges, by what the
# speech emotion recognizer reads from the voice (bench/speech_emotion.py --voice; ten tuning sentences apart from
# the bench's forty): the voice's pitch shifter leaves a colour the recognizer reads as disgust, so the presets that
# move pitch lean on rate, liveliness and brightness too. Fear and contempt keep literature-only presets (no setting
# tried made the voice read as fear; contempt has no speech data).
PRESETS: dict[str, tuple[float, float, float, float, float]] = {
    "neutral": (1.00, 0.0, 1.00, 1.00, 0.0),
    "happiness": (1.25, 1.875, 1.00, 1.625, -3.75),
    "anger": (0.875, 5.625, 1.00, 1.625, 3.75),
    "sadness": (0.75, -3.75, 0.70, 0.375, -3.75),
    "contempt": (0.90, -1.0, 0.90, 0.85, 0.0),
    "surprise": (1.25, 3.75, 1.00, 2.25, -3.75),
    "fear": (1.15, 2.5, 0.85, 1.25, 0.0),
    "disgust": (0.875, -1.875, 0.90, 1.00, 0.0),
}
_LIMITS = {"rate": (0.5, 2.0), "pitch_semitones": (-6.0, 6.0), "volume": (0.05, 1.0), "expressiveness": (0.0, 2.0),
           "brightness": (-6.0, 6.0)}


def emotion_prosody(emotion: str, intensity: float = 0.8, base: Prosody = Prosody()) -> Prosody:
    """The base prosody coloured by an emotion at an intensity (see PRESETS)."""
    rate, pitch, volume, liveliness, brightness = PRESETS[check_emotion(emotion)]
    i = check_intensity(intensity)
    blend = lambda value, factor: value * (1 + i * (factor - 1))  # noqa: E731
    settings = {"rate": blend(base.rate, rate), "pitch_semitones": base.pitch_semitones + i * pitch,
                "volume": blend(base.volume, volume), "expressiveness": blend(base.expressiveness, liveliness),
                "brightness": base.brightness + i * brightness}
    return replace(base, **{k: float(np.clip(v, *_LIMITS[k])) for k, v in settings.items()}).check()


def read_voice(audio: Audio, target: str) -> dict:
    """What the speech emotion recognizer reads from an emotion-coloured voice, against the emotion it was given."""
    from avatar.analysis import speech_recognizer

    utterance = speech_recognizer().predict(audio).utterance
    return {"target": target, "read_as": utterance.label, "target_probability": round(utterance.probs[target], 4),
            "matches": utterance.label == target}

"""Emotion-coloured speech for text input: per-emotion presets for the voice's rate, pitch, pitch range, loudness,
liveliness and brightness.

The directions follow the vocal-affect literature (Scherer 2003, "Vocal communication of emotion: a review of
research paradigms", Speech Communication 40; Juslin & Laukka 2003, Psychological Bulletin 129): anger, fear and
happiness are faster, higher, wider in pitch range, livelier and brighter (more high-frequency energy); surprise is
higher and wider; sadness is slower, lower, narrower, quieter, flatter and darker; contempt and disgust are slower
and lower. The sizes are ours, within what a natural voice does. At intensity i a setting moves i of the way from
the user's base prosody toward base x preset (rate, volume, expressiveness, pitch range) or base + preset (pitch
in semitones, brightness in dB per octave), clipped to the voice's ranges.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from avatar.emotion import check_emotion, check_intensity
from avatar.frontend.audio import Audio
from avatar.frontend.tts import Prosody


class Preset(NamedTuple):
    """An emotion's voice at intensity 1, relative to the base prosody."""

    rate: float = 1.0  # factor
    pitch: float = 0.0  # semitones added
    volume: float = 1.0  # factor
    liveliness: float = 1.0  # factor on the voice's expressiveness
    brightness: float = 0.0  # dB per octave added
    pitch_range: float = 1.0  # factor on the intonation's swing


# Directions from the literature above; sizes chosen within them by what the speech emotion recognizer reads from
# the voice, on ten tuning sentences apart from the benchmark's forty (`bench/voice_presets.py`; measured by
# `bench/speech_emotion.py --voice`). Contempt keeps a literature-only preset (there is no speech data for it).
PRESETS: dict[str, Preset] = {
    "neutral": Preset(),
    "happiness": Preset(1.25, 3.0, 1.00, 1.25, 0.0, 1.75),
    "anger": Preset(1.25, 4.5, 1.00, 2.00, 3.75, 1.75),
    "sadness": Preset(0.8125, -4.5, 0.70, 0.25, -3.75, 0.375),
    "contempt": Preset(0.90, -1.0, 0.90, 0.85, 0.0, 1.0),
    "surprise": Preset(1.00, 4.5, 1.00, 2.00, 0.0, 1.75),
    "fear": Preset(1.25, 1.5, 0.85, 1.75, 3.75, 1.75),
    "disgust": Preset(0.75, -4.5, 0.90, 0.75, 0.0, 1.375),
}
_LIMITS = {"rate": (0.5, 2.0), "pitch_semitones": (-6.0, 6.0), "volume": (0.05, 1.0), "expressiveness": (0.0, 2.0),
           "brightness": (-6.0, 6.0), "pitch_range": (0.0, 2.0)}


def emotion_prosody(emotion: str, intensity: float = 0.8, base: Prosody = Prosody()) -> Prosody:
    """The base prosody coloured by an emotion at an intensity (see PRESETS)."""
    return preset_prosody(PRESETS[check_emotion(emotion)], intensity, base)


def preset_prosody(preset: Preset, intensity: float = 0.8, base: Prosody = Prosody()) -> Prosody:
    """The base prosody moved `intensity` of the way toward a preset."""
    i = check_intensity(intensity)
    blend = lambda value, factor: value * (1 + i * (factor - 1))  # noqa: E731
    settings = {"rate": blend(base.rate, preset.rate), "pitch_semitones": base.pitch_semitones + i * preset.pitch,
                "volume": blend(base.volume, preset.volume),
                "expressiveness": blend(base.expressiveness, preset.liveliness),
                "brightness": base.brightness + i * preset.brightness,
                "pitch_range": blend(base.pitch_range, preset.pitch_range)}
    return replace(base, **{k: float(np.clip(v, *_LIMITS[k])) for k, v in settings.items()}).check()


def read_voice(audio: Audio, target: str) -> dict:
    """What the speech emotion recognizer reads from an emotion-coloured voice, against the emotion it was given."""
    from avatar.analysis import speech_recognizer

    utterance = speech_recognizer().predict(audio).utterance
    return {"target": target, "read_as": utterance.label, "target_probability": round(utterance.probs[target], 4),
            "matches": utterance.label == target}

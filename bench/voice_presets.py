"""Choose the emotion presets of the engine's voice: the settings, within the literature's directions, that the
speech emotion recognizer reads best as their emotion, on ten tuning sentences apart from the benchmark's forty.

For each emotion the speech recognizer knows (neutral stays the plain voice), a grid over the preset's rate,
liveliness, pitch, pitch range and brightness, each only in the direction the vocal-affect literature gives for that
emotion (Scherer 2003; Juslin & Laukka 2003: anger, fear and happiness faster, higher, wider, livelier and brighter;
sadness slower, lower, narrower, flatter and darker; disgust slower and lower; surprise higher and wider), and no
further than a natural voice goes. Each setting is spoken at intensity 0.8, as the benchmark speaks it; the voice
speaks each rate and liveliness once, and pitch, range and brightness are applied to that speech (as
`tts.coloured` does). Scored by the recognizer's mean probability of the target over the sentences. Prints the
chosen PRESETS for `avatar/frontend/emotional_prosody.py`; `bench/speech_emotion.py --voice` then measures them on
the forty.

Run: .venv/bin/python bench/voice_presets.py [--checkpoint checkpoints/ser] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

import numpy as np
import torch

from avatar.frontend.audio import Audio
from avatar.frontend.emotional_prosody import PRESETS, Preset, preset_prosody
from avatar.frontend.tts import coloured, get_voice
from avatar.recognizers.speech_emotion import DEFAULT_CHECKPOINT, SpeechEmotionRecognizer

INTENSITY = 0.8
TUNING_SENTENCES = (
    "The blue folder is on the second shelf.",
    "We will meet at the station after lunch.",
    "He wrote the numbers down on a card.",
    "The bakery opens early on weekdays.",
    "She moved the plant closer to the window.",
    "There were four cars parked outside.",
    "The lecture starts at half past ten.",
    "I left the umbrella at the office.",
    "They walked home along the river.",
    "The printer on this floor is out of paper.",
)
# Per emotion, the values tried for each setting at intensity 1 (Preset's units): the literature's direction, up
# to what a natural voice does.
FASTER, SLOWER = (1.125, 1.1875, 1.25), (0.75, 0.8125, 0.875)  # always some way: a listener hears the tempo
LIVELIER, FLATTER = (1.25, 1.625, 2.0), (0.25, 0.625, 1.0)
HIGHER, LOWER = (1.5, 3.0, 4.5), (-1.5, -3.0, -4.5)
WIDER, NARROWER = (1.0, 1.375, 1.75), (0.375, 0.625, 1.0)
BRIGHTER, DARKER = (0.0, 1.875, 3.75), (-3.75, -1.875, 0.0)
AROUSED = {"rate": FASTER, "liveliness": LIVELIER, "pitch": HIGHER, "pitch_range": WIDER, "brightness": BRIGHTER}
GRID: dict[str, dict[str, tuple[float, ...]]] = {
    "happiness": AROUSED,
    "anger": AROUSED,
    "fear": {**AROUSED, "liveliness": (0.75, 1.25, 1.75)},
    "surprise": {**AROUSED, "rate": (0.875, 1.0, 1.125), "brightness": (-1.875, 0.0, 1.875)},
    "sadness": {"rate": SLOWER, "liveliness": FLATTER, "pitch": LOWER, "pitch_range": NARROWER, "brightness": DARKER},
    "disgust": {
        "rate": SLOWER,
        "liveliness": (0.75, 1.0, 1.25),
        "pitch": LOWER,
        "pitch_range": (0.625, 1.0, 1.375),
        "brightness": DARKER,
    },
}


def tune(recognizer: SpeechEmotionRecognizer, emotion: str) -> dict:
    """The grid point of `emotion` with the highest mean target probability on the tuning sentences."""
    voice, grid = get_voice(), GRID[emotion]
    volume = PRESETS[emotion].volume  # loudness is not tuned: the recognizer hears levels relative to the clip
    scores = []
    for rate, liveliness in itertools.product(grid["rate"], grid["liveliness"]):
        spoken = preset_prosody(Preset(rate=rate, liveliness=liveliness), INTENSITY)
        clips = [voice.synthesize(s, spoken, seed=k) for k, s in enumerate(TUNING_SENTENCES)]
        for pitch, pitch_range, brightness in itertools.product(grid["pitch"], grid["pitch_range"], grid["brightness"]):
            preset = Preset(rate, pitch, volume, liveliness, brightness, pitch_range)
            colour = preset_prosody(Preset(pitch=pitch, brightness=brightness, pitch_range=pitch_range), INTENSITY)
            read = [
                recognizer.predict(Audio(coloured(c.samples, c.sample_rate, colour), c.sample_rate, c.source)).utterance
                for c in clips
            ]
            probability = float(np.mean([r.probs[emotion] for r in read]))
            hits = float(np.mean([r.label == emotion for r in read]))
            scores.append((preset, probability, hits))
    best = max(scores, key=lambda s: s[1])
    print(
        f"{emotion:9s} best {tuple(best[0])}: target probability {best[1]:.3f}, read as {emotion} "
        f"{100 * best[2]:.0f} % (the current preset {tuple(PRESETS[emotion])}; {len(scores)} settings tried)",
        flush=True,
    )
    return {"preset": best[0]._asdict(), "probability": best[1], "hits": best[2], "tried": len(scores)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--emotions", default=",".join(GRID), help="comma-separated emotions to tune")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    recognizer = SpeechEmotionRecognizer.from_pretrained(args.checkpoint)
    results = {emotion: tune(recognizer, emotion) for emotion in args.emotions.split(",")}
    print("PRESETS = {")
    for emotion, preset in PRESETS.items():
        chosen = Preset(**results[emotion]["preset"]) if emotion in results else preset
        print(f'    "{emotion}": Preset({", ".join(f"{v:g}" for v in chosen)}),')
    print("}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The real BEAT takes (shared_data("beat")): audio, reference alignment, and the generators' input built from them.

One loader for every benchmark and test that measures against real speech and capture. The takes are speaker 2
(scott), about a minute each; each has a wav, a TextGrid (words and phones) and a BVH of the real motion capture.
"""

from __future__ import annotations

from pathlib import Path

from rigs.paths import shared_data

BEAT = shared_data("beat")
BEAT_TAKES = ("2_scott_0_1_1", "2_scott_0_2_2", "2_scott_0_3_3")


def beat_take(take: str, beat: Path = BEAT):
    """A BEAT take's audio (Audio) and its reference alignment (Alignment, from its TextGrid)."""
    from avatar.frontend.audio import load_audio
    from avatar.frontend.textgrid import load_alignment_textgrid

    return load_audio(beat / "wav" / f"{take}.wav"), load_alignment_textgrid(beat / "textgrid" / f"{take}.TextGrid")


def beat_content(take: str, beat: Path = BEAT, fps: float = 30.0):
    """A BEAT take as generator input (Content): its audio's frame features with the TextGrid's words and phones."""
    from avatar.frontend.features import extract_features
    from avatar.frontend.speech import SpeechContent

    audio, alignment = beat_take(take, beat)
    features = extract_features(audio, fps)
    return SpeechContent(audio, alignment, features).content()

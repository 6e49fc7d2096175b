"""The front end as one stage: speech (audio, or text to speak) in, its timed content on the frame clock out."""

from __future__ import annotations

from dataclasses import dataclass

from avatar.frontend.alignment import Alignment, align
from avatar.frontend.audio import SAMPLE_RATE, Audio
from avatar.frontend.features import FrameFeatures, extract_features
from avatar.frontend.tts import Prosody, get_voice
from generators.conditioning import Content, Segment


@dataclass(frozen=True)
class SpeechContent:
    """What the generators are conditioned on from the speech: audio, timings and frame features (the visemes are
    the generators' own reading of the phones, generators.visemes)."""

    audio: Audio  # 16 kHz mono
    alignment: Alignment
    features: FrameFeatures

    @property
    def fps(self) -> float:
        """Frames per second of the frame clock."""
        return self.features.fps

    def content(self) -> Content:
        """The generators' view: timed words and phones with per-frame features."""
        f = self.features
        return Content(
            fps=f.fps,
            phones=tuple(Segment(p.start, p.end, p.label) for p in self.alignment.phones),
            words=tuple(Segment(w.start, w.end, w.label) for w in self.alignment.words),
            rms=f.rms[:, 0], f0_hz=f.f0_hz[:, 0], voiced=f.voiced_prob[:, 0], onset=f.onset[:, 0], log_mel=f.log_mel,
        )


def analyze_speech(audio: Audio, transcript: str | None = None, fps: float = 30.0) -> SpeechContent:
    """Align `audio` (recognizing it when no transcript is given) and extract its frame features."""
    audio = audio.resampled(SAMPLE_RATE)
    alignment = align(audio, transcript)  # checks the audio first, so bad input fails before any other work
    features = extract_features(audio, fps)
    return SpeechContent(audio, alignment, features)


def speak(text: str, prosody: Prosody = Prosody(), seed: int = 0, voice: str = "joe",
          fps: float = 30.0) -> SpeechContent:
    """Speak `text` with the TTS voice and analyse the result (its transcript is known, so it is aligned)."""
    return analyze_speech(get_voice(voice).synthesize(text, prosody, seed), text, fps)

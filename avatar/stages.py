"""The stages of a render, shared by AvatarPipeline (avatar/pipeline.py) and the commands: the emotion curve, the
speaking style, and the motion generator (the output kinds and the request's checks are in avatar/request.py).

Output files (stable names, in the output folder):
  face    -> face.csv (Live Link Face), face.json (ARKit, BEAT layout), face.glb (mesh + 52 morph targets)
  body    -> body.bvh, body.glb (skinned capsule body)
  preview -> preview.mp4 (the 3-D face and body side by side, H.264 with the speech)
  video   -> video.mp4 (the portrait talking, H.264 with the speech)
  always  -> render.json (inputs, emotion, style, seed, frames, files, timings); speech.wav when the speech was
             synthesized; emotion.json and emotion.png (what the recognizers read) with emotion "auto";
             report.json and report.png (the recognizer in the loop) with verification on

The emotion is one of: a label held at an intensity; keyframes ("0 s neutral, 2 s anger 0.8"), which win over the
label; or "auto", the fused estimate of the speech and text recognizers (avatar/analysis.py), its probabilities
scaled by the intensity. The style (avatar/frontend/style.py) is read from the speech itself, or from a separate
reference clip, and sets the animators' knobs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar.emotion import constant_emotion, from_keyframes, parse_keyframes
from avatar.errors import InputError
from avatar.frontend.audio import Audio
from avatar.frontend.speech import SpeechContent
from avatar.frontend.style import Style, estimate_style
from generators import GENERATORS
from generators.procedural.generator import ProceduralGenerator
from generators.procedural.standing import shift_weight
from generators.protocol import MotionGenerator
from rigs.body.track import BodyTrack
from rigs.face.track import FaceTrack


def emotion_curve(speech: SpeechContent, emotion: str, intensity: float, keyframes: str | None = None):
    """The emotion curve on the speech's frame clock, a description for the report, and the analysis (auto only)."""
    n, fps = speech.features.n_frames, speech.fps
    if keyframes is not None:
        keys = parse_keyframes(keyframes, intensity)
        described = {"keyframes": [{"time": k.time, "label": k.label, "intensity": k.intensity} for k in keys]}
        return from_keyframes(keys, n, fps), described, None
    if emotion == "auto":
        from avatar.analysis import analyze_emotion
        from avatar.emotion import from_display

        analysis = analyze_emotion(speech.audio, speech.alignment.transcript or None, speech.alignment, fps)
        fused = analysis.fused.emotion
        shown = fused.categories[:n] * fused.intensity[:n, None] * intensity
        curve = from_display(np.pad(shown, ((0, n - len(shown)), (0, 0)), mode="edge"))
        summary = analysis.summary()
        return curve, {"label": "auto", "intensity": intensity, "recognized": summary["label"],
                       "confidence": summary["confidence"], "sources": analysis.sources}, analysis
    return constant_emotion(emotion, intensity, n), {"label": emotion, "intensity": intensity}, None


class Animator:
    """A named motion generator (generators.protocol.MotionGenerator) and the recognizer loop's lever on it: extra
    emotion guidance, for a generator that has that control."""

    def __init__(self, name: str, generator: MotionGenerator):
        self.name, self.generator = name, generator

    @classmethod
    def load(cls, name: str, checkpoint: str | Path | None = None) -> Animator:
        """The named generator ("learned", from `checkpoint` or the shipped one, or "procedural")."""
        if name not in GENERATORS:
            raise InputError(f"unknown generator {name!r}; choose one of: {', '.join(GENERATORS)}")
        if name == "procedural":
            return cls(name, ProceduralGenerator())
        from generators.learned.animate import DEFAULT_CHECKPOINT, LearnedAnimator, MissingCheckpointError

        try:
            return cls(name, LearnedAnimator.from_pretrained(checkpoint or DEFAULT_CHECKPOINT))
        except MissingCheckpointError as error:
            raise InputError(str(error)) from None

    @property
    def fps(self) -> float | None:
        """The frame clock the generator makes motion on; None: any (the procedural animators)."""
        return self.generator.fps

    def _guidance(self, boost: float) -> dict[str, float]:
        """The emotion guidance raised by `boost` (within its range), when the generator has it."""
        control = next((c for c in self.generator.guidance if c.name == "emotion_scale"), None)
        return {} if control is None or not boost else {control.name: control.clip(control.default + boost)}

    def __call__(self, content, emotion, seed: int, style: Style | None, guidance_boost: float = 0.0,
                 with_body: bool = True) -> tuple[FaceTrack, BodyTrack | None]:
        """Face and body tracks (body None without with_body); guidance_boost raises the emotion guidance. The
        body stands on its feet: weight shifts over planted feet (generators/procedural/standing.py), whichever
        generator moved its upper body."""
        face, body = self.generator.animate(content, emotion, seed, style, with_body=with_body,
                                            **self._guidance(guidance_boost))
        return face, None if body is None else shift_weight(body, content, emotion, seed)

    def face(self, content, emotion, seed: int, style: Style | None, guidance_boost: float = 0.0,
             frames: tuple[int, int] | None = None) -> FaceTrack:
        """The face track alone, of all frames or of frames (a, b) only (the learned generator makes them from
        that stretch of the speech alone: the loop re-generates a few windows at a fraction of the whole's cost)."""
        return self.generator.animate(content, emotion, seed, style, with_body=False, frames=frames,
                                      **self._guidance(guidance_boost))[0]


def speaking_style(speech: SpeechContent, reference: Audio | None = None) -> Style | None:
    """The reference clip's style (its errors are the user's), else the speech's own, else None (default knobs).

    A reference clip is read from its audio alone: no transcript is needed, and none is recognized.
    """
    if reference is not None:
        return estimate_style(reference)
    try:
        return estimate_style(speech.audio, speech.alignment)
    except InputError:  # a very short clip: animate with the default style rather than fail
        return None

"""What a motion generator offers the engine: its frame clock, its guidance controls and the call that makes the
face and body tracks.

The procedural animators (generators.procedural.generator.ProceduralGenerator) and the latent-diffusion generator
(generators.learned.animate.LearnedAnimator) both satisfy `MotionGenerator`; avatar/stages.py drives either through
it, so the engine needs no case for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from generators.conditioning import Content, EmotionFrames
from rigs.body.track import BodyTrack
from rigs.face.track import FaceTrack


@dataclass(frozen=True)
class GuidanceControl:
    """A keyword of `MotionGenerator.animate` that sets how strongly a condition steers the motion."""

    name: str  # the keyword, e.g. "emotion_scale"
    minimum: float
    maximum: float
    default: float  # what the generator uses when the keyword is not given
    description: str

    def clip(self, value: float) -> float:
        """The value held inside the control's range."""
        return float(min(max(value, self.minimum), self.maximum))

    def check(self, value: float) -> float:
        """The value, if it is inside the range; ValueError naming the control otherwise."""
        if not self.minimum <= value <= self.maximum:
            raise ValueError(
                f"{self.name}={value:g} is outside [{self.minimum:g}, {self.maximum:g}]; give a value "
                f"in that range (default {self.default:g})"
            )
        return float(value)


class SpeakingStyle(Protocol):
    """A speaker's style as the generators read it (avatar.frontend.style.Style is one)."""

    def vector(self) -> np.ndarray:
        """The six style dimensions, centred and scaled (float32)."""

    def face_style(self):
        """The procedural face's knobs."""

    def body_style(self):
        """The procedural body's knobs."""


@runtime_checkable
class MotionGenerator(Protocol):
    """Speech content and an emotion curve in; an ARKit-52 face track and a BEAT-skeleton body track out."""

    @property
    def fps(self) -> float | None:
        """The frame clock the generator makes motion on (content must come on it); None: any clock."""

    @property
    def guidance(self) -> tuple[GuidanceControl, ...]:
        """The guidance controls `animate` takes as keywords (none for a generator without guidance)."""

    def animate(self, content: Content, emotion: EmotionFrames, seed: int = 0, style: SpeakingStyle | None = None,
                *, with_body: bool = True, frames: tuple[int, int] | None = None,
                **guidance: float) -> tuple[FaceTrack, BodyTrack | None]:
        """Face and body tracks for the content under the emotion curve (on the content's frame clock), with an
        optional speaking style; the body is None without with_body; frames (a, b): those frames only."""

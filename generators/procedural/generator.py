"""The procedural face and body animators as one MotionGenerator (generators/protocol.py)."""

from __future__ import annotations

from dataclasses import replace

from generators.conditioning import Content, EmotionFrames
from generators.procedural.body import animate_body
from generators.procedural.face import animate_face
from generators.protocol import GuidanceControl, SpeakingStyle
from rigs.body.track import BodyTrack
from rigs.face.track import FaceTrack


class ProceduralGenerator:
    """The rule-based animators: any frame clock, no guidance controls (the emotion curve alone sets the
    expression), the speaking style through its procedural knobs."""

    fps: float | None = None
    guidance: tuple[GuidanceControl, ...] = ()

    def animate(self, content: Content, emotion: EmotionFrames, seed: int = 0, style: SpeakingStyle | None = None,
                *, with_body: bool = True, frames: tuple[int, int] | None = None) -> tuple[FaceTrack, BodyTrack | None]:
        """Face and body tracks for the content under the emotion curve; the body is None without with_body.
        frames (a, b): those frames of the whole (the rules animate whole phrases, and cheaply)."""
        face = animate_face(content, emotion, seed, style and style.face_style())
        body = animate_body(content, emotion, seed, style and style.body_style()) if with_body else None
        if frames is None:
            return face, body
        a, b = frames
        if body is not None:
            body = replace(body, rotations=body.rotations[a:b].copy(), root_positions=body.root_positions[a:b].copy())
        return face.frames(a, b), body

"""The learned generator as a MotionGenerator (generators/protocol.py): Content + EmotionFrames in, tracks out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from generators.conditioning import Content, EmotionFrames
from generators.learned import representation as rep
from generators.learned.pipeline import MotionDiffusionPipeline
from generators.protocol import GuidanceControl, SpeakingStyle
from rigs.body.track import BodyTrack
from rigs.face.track import FaceTrack
from rigs.paths import checkpoint

DEFAULT_CHECKPOINT = checkpoint("motion-diffusion")


class MissingCheckpointError(FileNotFoundError):
    """The learned generator's checkpoint folder is not there."""


@dataclass
class LearnedAnimator:
    """Face and body from the latent-diffusion pipeline, on the same frame clock and emotion."""

    pipe: MotionDiffusionPipeline
    steps: int = 10
    scheduler: str = "dpm"
    # Sampling runs on this many threads: torch splits a CPU reduction by thread count, so a fixed count makes a
    # seed give the same bytes in every process (a batch worker, the page, a script); the matrices are small
    # enough that one thread is about as fast as two.
    num_threads: int = 1

    @classmethod
    def from_pretrained(cls, path: str | Path = DEFAULT_CHECKPOINT, **kwargs) -> LearnedAnimator:
        """Load the shipped (or another) checkpoint folder."""
        path = Path(path)
        if not ((path / "config.json").is_file() and (path / "denoiser").is_dir()):
            raise MissingCheckpointError(
                f"no learned motion checkpoint at '{path}'; train one with `avatar train motion --data data/corpus "
                f"--out {path}` or use the procedural generator")
        return cls(MotionDiffusionPipeline.from_pretrained(path), **kwargs)

    @property
    def fps(self) -> float:
        """The frame clock the checkpoint makes motion on (checked against its config on load): content must
        come on it."""
        return self.pipe.fps

    @property
    def guidance(self) -> tuple[GuidanceControl, ...]:
        """Classifier-free guidance of the emotion and of the style (1: as trained; the checkpoint's defaults)."""
        # Beyond about 3 the emotion's defining shapes stop growing (bench/learned_motion.py); the range leaves room
        # for the recognizer loop, which adds 1 per attempt for up to 20 attempts.
        return (GuidanceControl("emotion_scale", 0.0, 20.0, self.pipe.emotion_scale,
                                "how strongly the emotion curve steers the motion"),
                GuidanceControl("style_scale", 0.0, 20.0, self.pipe.style_scale,
                                "how strongly the speaking style steers the motion"))

    def animate(self, content: Content, emotion: EmotionFrames, seed: int = 0,
                style: SpeakingStyle | None = None, emotion_scale: float | None = None,
                style_scale: float | None = None, with_body: bool = True, frames: tuple[int, int] | None = None
                ) -> tuple[FaceTrack, BodyTrack | None]:
        """Face and body tracks for the content under the emotion curve, with an optional speaking style; the
        body is None without with_body. frames (a, b): generate those frames only, from that stretch alone."""
        emotion_control, style_control = self.guidance
        emotion_scale = None if emotion_scale is None else emotion_control.check(emotion_scale)
        style_scale = None if style_scale is None else style_control.check(style_scale)
        if not np.isclose(content.fps, self.fps):
            raise ValueError(f"this checkpoint makes motion at {self.fps:g} fps but the content is at "
                             f"{content.fps:g} fps: build the content on its clock and resample the tracks")
        if emotion.n_frames != content.n_frames:
            raise ValueError(f"the emotion curve has {emotion.n_frames} frames but the content has "
                             f"{content.n_frames}; build it on the content's frame clock")
        a, b = (0, content.n_frames) if frames is None else frames
        if not 0 <= a < b <= content.n_frames:
            raise ValueError(f"frames {frames} are not a stretch of the content's {content.n_frames} frames")
        threads = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            features = rep.content_features(content)[a:b], rep.emotion_features(emotion)[a:b]
            face, body = self.pipe(*features, None if style is None else style.vector(), seed=seed,
                                   steps=self.steps, scheduler=self.scheduler, emotion_scale=emotion_scale,
                                   style_scale=style_scale, with_body=with_body)
        finally:
            torch.set_num_threads(threads)  # leave the process as we found it
        body = None if body is None else rep.body_track(body, content.fps, stance=rep.stance_track())
        return rep.face_track(face, content.fps), body

"""The talking head as an MP4 (generators/render/encode.py writes it), optionally beside the body preview."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from generators.render.encode import write_video
from rigs.body.track import BodyTrack
from rigs.face.track import FaceTrack

__all__ = ["beside_body", "render_video", "write_video"]


def beside_body(frames: Iterable[np.ndarray], body: BodyTrack, size: int) -> Iterator[np.ndarray]:
    """Talking-head frames with the 3-D body preview (generators/render/preview.py) on their right."""
    from generators.render.preview import PreviewRenderer

    bodies = PreviewRenderer(size).body_frames(body)
    for frame in frames:
        view = next(bodies, None)
        if view is None:
            raise ValueError(f"the body track has fewer frames ({body.n_frames}) than the face track")
        if view.shape[0] != frame.shape[0]:
            import cv2

            view = cv2.resize(view, (frame.shape[0], frame.shape[0]), interpolation=cv2.INTER_AREA)
        yield np.concatenate([frame, view], axis=1)


def render_video(path: str | os.PathLike, renderer, track: FaceTrack, audio=None, body: BodyTrack | None = None,
                 progress: Callable[[int, int], None] | None = None, threads: int = 1) -> np.ndarray:
    """Render a face track with a TalkingHeadRenderer (on `threads` threads) into an MP4 (beside the body when
    given); returns the landmarks drawn, (T, 478, 2)."""
    if body is not None and (body.n_frames != track.n_frames or body.fps != track.fps):
        raise ValueError(f"face ({track.n_frames} frames at {track.fps:g} fps) and body ({body.n_frames} at "
                         f"{body.fps:g} fps) must share one frame clock")
    landmarks = np.empty((track.n_frames, 478, 2), np.float32)

    def faces() -> Iterator[np.ndarray]:
        for t, (frame, points) in enumerate(renderer.frames(track, threads)):
            landmarks[t] = points
            yield frame

    frames = faces() if body is None else beside_body(faces(), body, renderer.size)
    write_video(path, frames, track.fps, audio, None if progress is None else
                (lambda done: progress(done, track.n_frames)))
    return landmarks

"""MP4 writing: frames to H.264 with the speech muxed in (AAC), written atomically; optionally beside the body.

Uses the ffmpeg that imageio-ffmpeg bundles, as generators/render/preview.py does, so nothing outside the
virtual environment is needed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from generators.talking_head.portrait import PortraitError
from rigs.body.track import BodyTrack
from rigs.face.track import FaceTrack
from rigs.fileio import atomic_path

__all__ = ["beside_body", "render_video", "write_video"]


def _audio_file(audio, folder: str) -> str | None:
    """A path ffmpeg can read for the speech: a file path as given, or an Audio written as 16-bit wav."""
    if audio is None:
        return None
    if isinstance(audio, str | os.PathLike):
        if not Path(audio).is_file():
            raise PortraitError(f"speech file '{audio}' for the video does not exist; check the path")
        return str(audio)
    samples, rate = getattr(audio, "samples", None), getattr(audio, "sample_rate", None)
    if samples is None or rate is None:
        raise TypeError(f"audio must be a file path or an Audio (samples, sample_rate); got {type(audio).__name__}")
    import soundfile as sf

    path = os.path.join(folder, "speech.wav")
    sf.write(path, np.clip(np.asarray(samples, np.float32), -1.0, 1.0), int(rate), subtype="PCM_16")
    return path


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, audio=None,
                progress: Callable[[int], None] | None = None, threads: int | None = None) -> int:
    """Write RGB uint8 frames (H, W, 3) as an H.264 MP4 at fps, with the speech (a path or an Audio) when given.

    The video is as long as the frames (the audio is cut to it). Returns the number of frames written; the file
    appears only when complete.
    """
    import imageio_ffmpeg

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"video fps is {fps}; give a positive frame rate such as 30")
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write: the face track is empty")
    height, width = first.shape[:2]
    count = 0
    with tempfile.TemporaryDirectory() as folder, atomic_path(path) as tmp:
        params = ["-movflags", "+faststart"] + (["-threads", str(threads)] if threads else [])
        sound = _audio_file(audio, folder)
        if sound is not None:
            params = ["-shortest", *params]
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", quality=7, macro_block_size=2,
            ffmpeg_log_level="error", audio_path=sound, audio_codec="aac", output_params=params)
        writer.send(None)  # start ffmpeg
        try:
            for frame in _chain(first, frames):
                if frame.shape[:2] != (height, width):
                    raise ValueError(f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, the first {width}x{height}")
                writer.send(np.ascontiguousarray(frame, np.uint8))
                count += 1
                if progress:
                    progress(count)
        finally:
            writer.close()
    return count


def _chain(first, rest) -> Iterator:
    yield first
    yield from rest


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
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Render a face track with a TalkingHeadRenderer into an MP4 (beside the body when given); returns the
    landmarks drawn, (T, 478, 2)."""
    if body is not None and (body.n_frames != track.n_frames or body.fps != track.fps):
        raise ValueError(f"face ({track.n_frames} frames at {track.fps:g} fps) and body ({body.n_frames} at "
                         f"{body.fps:g} fps) must share one frame clock")
    landmarks = np.empty((track.n_frames, 478, 2), np.float32)

    def faces() -> Iterator[np.ndarray]:
        for t, (frame, points) in enumerate(renderer.frames(track)):
            landmarks[t] = points
            yield frame

    frames = faces() if body is None else beside_body(faces(), body, renderer.size)
    write_video(path, frames, track.fps, audio, None if progress is None else
                (lambda done: progress(done, track.n_frames)))
    return landmarks

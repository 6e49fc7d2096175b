"""MP4 writing: RGB frames to H.264 with the speech muxed in (AAC), written atomically.

Uses the ffmpeg that imageio-ffmpeg bundles, so nothing outside the virtual environment is needed. ffmpeg runs as
its own process: it encodes on the other core while the caller renders the next frames.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from rigs.errors import RigInputError
from rigs.fileio import atomic_path

__all__ = ["X264", "write_video"]

# x264's "veryfast" preset at crf 14, one thread per encoder (the pipeline renders beside it, and one thread wastes
# less CPU than x264's frame threads): on 300 frames of the talking head, 38.9 dB PSNR against the raw frames and
# 1.42 MB, where the former "medium" at crf 15 gave 39.6 dB and 1.40 MB for about twice the encoding CPU.
X264 = ["-preset", "veryfast", "-crf", "14", "-threads", "1"]


def _audio_file(audio, folder: str) -> str | None:
    """A path ffmpeg can read for the speech: a file path as given, or an Audio written as 16-bit wav."""
    if audio is None:
        return None
    if isinstance(audio, str | os.PathLike):
        if not Path(audio).is_file():
            raise RigInputError(f"speech file '{audio}' for the video does not exist; check the path")
        return str(audio)
    samples, rate = getattr(audio, "samples", None), getattr(audio, "sample_rate", None)
    if samples is None or rate is None:
        raise TypeError(f"audio must be a file path or an Audio (samples, sample_rate); got {type(audio).__name__}")
    import soundfile as sf

    path = os.path.join(folder, "speech.wav")
    sf.write(path, np.clip(np.asarray(samples, np.float32), -1.0, 1.0), int(rate), subtype="PCM_16")
    return path


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, audio=None,
                progress: Callable[[int], None] | None = None) -> int:
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
        params = [*X264, "-movflags", "+faststart"]
        sound = _audio_file(audio, folder)
        if sound is not None:
            params = ["-shortest", *params]
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", quality=None, macro_block_size=2,
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

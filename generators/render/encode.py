"""MP4 writing: RGB frames to H.264 with the speech muxed in (AAC), written atomically.

Uses the ffmpeg that imageio-ffmpeg bundles, so nothing outside the virtual environment is needed. ffmpeg runs as
its own process: it encodes on the other core while the caller renders the next frames. Frames go to it as the
YUV 4:2:0 planes H.264 stores (generators/render/yuv.py), converted on the caller's thread, which is cheaper than
ffmpeg's own conversion on its one encoder thread.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from generators.render.yuv import rgb_to_i420
from rigs.errors import RigInputError
from rigs.fileio import atomic_path

__all__ = ["X264", "write_video"]

# x264's "veryfast" preset at crf 14 with its quickest sub-pixel refinement (subme 1) and diamond motion search, one
# thread per encoder (the pipeline renders beside it, and one thread wastes less CPU than x264's frame threads). On
# 600 frames of the talking head (bench/encoder_settings.py): 39.0 dB PSNR against the raw frames, 2.9 MB, 3.3 ms of
# CPU a frame, where plain veryfast gave 39.1 dB and 2.6 MB for 4.2 ms (the 3-D preview: 42.5 dB either way, 8 %
# more bytes, 5.6 ms for 6.5 ms); "medium" at crf 15 costs 2.3x plain veryfast's CPU for 0.7 dB more.
X264 = ["-preset", "veryfast", "-crf", "14", "-x264-params", "subme=1:me=dia", "-threads", "1"]


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

    The video is as long as the frames (the audio is cut to it), its sides even (an odd side repeats its last row or
    column). Returns the number of frames written; the file appears only when complete.
    """
    import imageio_ffmpeg

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"video fps is {fps}; give a positive frame rate such as 30")
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write: the face track is empty")
    if first.ndim != 3 or first.shape[2] != 3:
        raise ValueError(f"frames must be RGB images (height, width, 3); the first is {first.shape}")
    height, width = first.shape[:2]
    count = 0
    with tempfile.TemporaryDirectory() as folder, atomic_path(path) as tmp:
        params = [*X264, "-movflags", "+faststart"]
        sound = _audio_file(audio, folder)
        if sound is not None:
            params = ["-shortest", *params]
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width + width % 2, height + height % 2), pix_fmt_in="yuv420p", fps=fps, codec="libx264",
            quality=None, macro_block_size=1, ffmpeg_log_level="quiet", audio_path=sound, audio_codec="aac",
            output_params=params)
        writer.send(None)  # start ffmpeg
        encoder = writer.gi_frame.f_locals.get("p")  # imageio-ffmpeg's ffmpeg process, to read its exit status
        try:
            for frame in _chain(first, frames):
                if frame.shape != first.shape:
                    raise ValueError(f"frame {count} is {frame.shape}, the first {first.shape}: every frame must be "
                                     "an RGB image of one size")
                try:
                    writer.send(rgb_to_i420(frame))
                except OSError:  # ffmpeg stopped reading: it failed (its status is reported below)
                    break
                count += 1
                if progress:
                    progress(count)
        finally:
            writer.close()
        # A failed encoder (a full disk, a write error) must not leave a truncated video under the final name.
        status = None if encoder is None else encoder.poll()
        if status or count < 1:
            raise _encoder_failure(path, status)
    return count


def _encoder_failure(path: str | os.PathLike, status: int | None) -> OSError:
    """The error for an encoder that failed: a full disk when the folder has no room left, else its status."""
    import errno
    import shutil

    if shutil.disk_usage(Path(path).parent).free < 1 << 20:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return OSError(errno.EIO, f"the video encoder (ffmpeg) failed with status {status}", str(path))


def _chain(first, rest) -> Iterator:
    yield first
    yield from rest

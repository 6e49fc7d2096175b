"""H.264 writing: the YUV 4:2:0 planes made on our side are what ffmpeg would make, and odd or wrong frames are
handled plainly."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from generators.render.encode import write_video
from generators.render.yuv import rgb_to_i420


def _ffmpeg_planes(frame: np.ndarray) -> np.ndarray:
    """ffmpeg's own conversion of an RGB frame to yuv420p."""
    height, width = frame.shape[:2]
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-s", f"{width}x{height}", "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         input=frame.tobytes(), capture_output=True, check=True)
    return np.frombuffer(run.stdout, np.uint8)


def _decoded(path, height: int, width: int) -> np.ndarray:
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    return np.frombuffer(run.stdout, np.uint8).reshape(-1, height, width, 3)


def _psnr(decoded: np.ndarray, frames: np.ndarray) -> float:
    return 10 * np.log10(255.0 ** 2 / np.mean((decoded.astype(float) - frames) ** 2))


def _picture(height: int, width: int) -> np.ndarray:
    """Smooth colour ramps with a sharp-edged disc: what a rendered frame holds."""
    y, x = np.mgrid[:height, :width] / max(height, width)
    frame = np.stack([200 * x + 30, 180 * y + 40, 120 * (1 - x * y) + 60], axis=-1)
    disc = (x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.05
    frame[disc] = (230, 60, 40)
    return np.clip(frame, 0, 255).astype(np.uint8)


def test_planes_are_what_ffmpeg_makes():
    frame = _picture(96, 128)
    ours, theirs = rgb_to_i420(frame).astype(int), _ffmpeg_planes(frame).astype(int)
    assert ours.shape == theirs.shape == (96 * 128 * 3 // 2,)
    luma = 96 * 128
    assert np.abs(ours[:luma] - theirs[:luma]).max() <= 1  # the same BT.601 studio-swing luma
    # Chroma: the 2x2 mean here, ffmpeg's own filter there; they differ a little only along sharp edges.
    assert np.abs(ours[luma:] - theirs[luma:]).mean() < 0.5


def test_a_video_decodes_to_its_frames(tmp_path):
    frames = [np.roll(_picture(64, 96), 2 * t, axis=1) for t in range(8)]
    assert write_video(tmp_path / "v.mp4", frames, 30.0) == 8
    decoded = _decoded(tmp_path / "v.mp4", 64, 96)
    assert len(decoded) == 8
    assert _psnr(decoded, np.stack(frames)) > 30  # what was drawn, up to 4:2:0 and H.264's loss


def test_odd_sides_repeat_their_last_row_and_column(tmp_path):
    frame = _picture(33, 47)
    assert rgb_to_i420(frame).size == 34 * 48 * 3 // 2
    write_video(tmp_path / "odd.mp4", [frame, frame], 30.0)
    write_video(tmp_path / "padded.mp4", [np.pad(frame, ((0, 1), (0, 1), (0, 0)), mode="edge")] * 2, 30.0)
    decoded = _decoded(tmp_path / "odd.mp4", 34, 48)
    np.testing.assert_array_equal(decoded, _decoded(tmp_path / "padded.mp4", 34, 48))
    assert _psnr(decoded[0, :33, :47], frame) > 25


def test_frames_that_are_not_rgb_images_are_refused(tmp_path):
    with pytest.raises(ValueError, match="RGB images"):
        write_video(tmp_path / "x.mp4", [np.zeros((32, 32, 4), np.uint8)], 30.0)
    with pytest.raises(ValueError, match="one size"):
        write_video(tmp_path / "y.mp4", [np.zeros((32, 32, 3), np.uint8), np.zeros((32, 30, 3), np.uint8)], 30.0)
    assert list(tmp_path.iterdir()) == []

"""The talking head as MP4: H.264 with the speech, atomic writes, the side-by-side with the body preview."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from avatar.frontend.audio import Audio
from generators.talking_head import Portrait, TalkingHeadRenderer, render_video, write_video
from rigs.errors import RigInputError
from rigs.face.track import FaceTrack
from tests.conftest import tone


@pytest.fixture(scope="module")
def renderer() -> TalkingHeadRenderer:
    return TalkingHeadRenderer(Portrait.load(None, size=256))


def _streams(path) -> str:
    import imageio_ffmpeg

    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True)
    return run.stderr


def _talking(n: int) -> FaceTrack:
    weights = np.zeros((n, 52), np.float32)
    weights[:, 17] = 0.3 * (1 + np.sin(np.arange(n) / 3.0))  # jawOpen, opening and closing
    return FaceTrack(weights, 30.0)


def test_writes_h264_with_the_speech(tmp_path, renderer):
    path = tmp_path / "talking_head.mp4"
    speech = Audio(tone(seconds=1.2), 16_000, "tone")
    landmarks = render_video(path, renderer, _talking(30), speech)
    assert landmarks.shape == (30, 478, 2)
    info = _streams(path)
    assert "Video: h264" in info and "256x256" in info and "Audio: aac" in info
    import imageio_ffmpeg

    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 30 and seconds == pytest.approx(1.0, abs=0.1)  # cut to the video, not the longer speech
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    first = np.frombuffer(next(reader), np.uint8).reshape(meta["size"][1], meta["size"][0], 3)
    expected = renderer.render(_talking(1)).frames[0]
    assert np.abs(first.astype(int) - expected).mean() < 6  # what was rendered, up to H.264's loss
    reader.close()


def test_a_failed_render_leaves_no_file(tmp_path):
    def broken():
        yield np.zeros((64, 64, 3), np.uint8)
        raise RuntimeError("renderer failed")

    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="renderer failed"):
        write_video(path, broken(), 30.0)
    assert list(tmp_path.iterdir()) == []


def test_side_by_side_with_the_body(tmp_path, renderer):
    from rigs.body.skeleton import load_beat_skeleton
    from rigs.body.track import BodyTrack

    path = tmp_path / "both.mp4"
    render_video(path, renderer, _talking(6), None, body=BodyTrack.rest(load_beat_skeleton(), 6, fps=30.0))
    info = _streams(path)
    assert "512x256" in info and "Audio" not in info
    with pytest.raises(ValueError, match="one frame clock"):
        render_video(tmp_path / "x.mp4", renderer, _talking(6), None,
                     body=BodyTrack.rest(load_beat_skeleton(), 5, fps=30.0))


def test_a_missing_speech_file_is_a_clear_error(tmp_path, renderer):
    with pytest.raises(RigInputError, match="does not exist"):
        write_video(tmp_path / "x.mp4", [np.zeros((64, 64, 3), np.uint8)], 30.0, tmp_path / "missing.wav")
    assert not (tmp_path / "x.mp4").exists()

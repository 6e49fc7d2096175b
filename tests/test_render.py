"""`avatar render`: speech in; face and body files, the preview video and the report out."""

from __future__ import annotations

import json

import imageio_ffmpeg
import numpy as np
import pytest
from typer.testing import CliRunner

from avatar.cli import app
from avatar.frontend.audio import save_wav
from generators.render.preview import PreviewRenderer
from rigs.formats.export import read_track
from tests.conftest import EXAMPLE_TEXT


@pytest.fixture(scope="module")
def example_wav(tmp_path_factory, spoken_example):
    path = tmp_path_factory.mktemp("speech") / "example.wav"
    save_wav(spoken_example, path)
    return path


def test_render_writes_the_documented_files(tmp_path, example_wav):
    result = CliRunner().invoke(app, ["render", str(example_wav), "--transcript", EXAMPLE_TEXT, "--emotion", "anger",
                                      "--intensity", "0.8", "--seed", "3", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"face.csv", "face.json", "face.glb", "body.bvh", "body.glb", "preview.mp4", "render.json"}
    report = json.loads((tmp_path / "render.json").read_text())
    assert report["emotion"] == {"label": "anger", "intensity": 0.8} and report["seed"] == 3
    assert set(report["files"]) == names and report["transcript_source"] == "given"
    face, body = read_track(tmp_path / "face.csv"), read_track(tmp_path / "body.bvh")
    assert face.n_frames == body.n_frames == report["frames"] and face.fps == body.fps == 30

    reader = imageio_ffmpeg.read_frames(str(tmp_path / "preview.mp4"))
    meta = next(reader)
    assert meta["size"] == (1024, 512) and meta["fps"] == 30 and meta["audio_codec"] == "aac"
    frames = [np.frombuffer(f, np.uint8) for f in reader]
    assert abs(len(frames) - report["frames"]) <= 1
    assert np.std(frames[len(frames) // 2].astype(float)) > 10  # something drawn, not a blank frame


def test_render_text_with_chosen_outputs_is_deterministic(tmp_path, spoken_example):
    runner = CliRunner()
    args = ["render", "--text", EXAMPLE_TEXT, "--emotion", "happiness", "--outputs", "face,body"]
    first = runner.invoke(app, [*args, "-o", str(tmp_path / "a")])
    second = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    names = {p.name for p in (tmp_path / "a").iterdir()}
    assert "preview.mp4" not in names and {"speech.wav", "face.glb", "body.glb", "render.json"} <= names
    for name in ("face.csv", "body.bvh"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--emotion", "joy"], "choose one of"),
    (["--intensity", "1.5"], "intensity"),
    (["--outputs", "face,video"], "unknown output"),
    (["--text", "hello there"], "not both"),
])
def test_render_bad_options_fail_before_any_work(tmp_path, example_wav, args, message):
    result = CliRunner().invoke(app, ["render", str(example_wav), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()


def test_preview_face_follows_the_track():
    renderer = PreviewRenderer(size=128)
    closed = renderer.face_frame(np.zeros(52, np.float32))
    weights = np.zeros(52, np.float32)
    weights[17] = 1.0  # jawOpen
    opened = renderer.face_frame(weights)
    assert closed.shape == (128, 128, 3)
    assert np.abs(opened.astype(int) - closed.astype(int)).sum(-1).astype(bool).mean() > 0.01

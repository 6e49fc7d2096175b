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
    assert names == {"face.csv", "face.json", "face.glb", "body.bvh", "body.glb", "preview.mp4", "render.json",
                     "report.json", "report.png"}  # report.*: the recognizer in the loop (on by default)
    report = json.loads((tmp_path / "render.json").read_text())
    assert report["verification"].startswith("emotion verified in")
    assert "emotion verified in" in result.output
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
    (["--outputs", "face,hologram"], "unknown output"),
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


def test_preview_frames_match_frame_by_frame_rendering():
    from rigs.body import BodyTrack, load_beat_skeleton
    from rigs.face.track import FaceTrack

    rng = np.random.default_rng(0)
    n = 70  # more than one chunk of frames deformed and skinned together
    face = FaceTrack(rng.uniform(0, 0.6, (n, 52)), 30, head=rng.uniform(-0.3, 0.3, (n, 3)))
    skeleton = load_beat_skeleton()
    rotations = rng.uniform(-0.3, 0.3, (n, skeleton.n_joints, 3))
    rotations[65] = rotations[3]  # the same pose in the first and the second chunk
    body = BodyTrack(skeleton, 30, rotations, np.tile(skeleton.offsets[0], (n, 1)))
    renderer = PreviewRenderer(size=96)
    frames = list(renderer.frames(face, body))
    assert len(frames) == n and frames[0].shape == (96, 192, 3)
    for t in (0, 63, 64, 69):
        alone = renderer.face_frame(face.weights[t], face.head[t])
        assert (frames[t][:, :96] != alone).any(-1).mean() < 1e-3  # batched deformation rounds a little differently
    assert np.array_equal(frames[65][:, 96:], frames[3][:, 96:])
    assert not np.array_equal(frames[64][:, 96:], frames[3][:, 96:])


def test_keyframes_and_a_style_reference_drive_the_animation(tmp_path, example_wav, spoken_example):
    from generators.procedural.facs import defining_shapes
    from rigs.face.arkit import INDEX

    reference = tmp_path / "reference.wav"
    from avatar.frontend.tts import Prosody, get_voice

    save_wav(get_voice().synthesize(EXAMPLE_TEXT, Prosody(rate=1.4, pitch_semitones=3), seed=1), reference)
    result = CliRunner().invoke(app, ["render", str(example_wav), "--transcript", EXAMPLE_TEXT, "--keyframes",
                                      "0 s neutral, 3 s anger 0.9", "--style-reference", str(reference),
                                      "--outputs", "face", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "render.json").read_text())
    assert [k["label"] for k in report["emotion"]["keyframes"]] == ["neutral", "anger"]
    assert report["style"]["source"] == "reference clip" and report["style"]["vector"]["f0_level"] > -1
    face = read_track(tmp_path / "out" / "face.csv")
    anger = face.weights[:, [INDEX[n] for n in defining_shapes("anger")]].mean(1)
    assert anger[: int(2.5 * 30)].mean() < 0.1 < 0.3 < anger[int(3.5 * 30):].mean()


def test_text_speech_takes_on_the_emotion(tmp_path):
    durations = {}
    for emotion in ("neutral", "sadness"):
        out = tmp_path / emotion
        result = CliRunner().invoke(app, ["render", "--text", EXAMPLE_TEXT, "--emotion", emotion, "--outputs", "face",
                                          "-o", str(out)])
        assert result.exit_code == 0, result.output
        report = json.loads((out / "render.json").read_text())
        durations[emotion] = report["duration_s"]
    assert report["inputs"]["voice_prosody"]["rate"] < 1 and report["inputs"]["voice_prosody"]["volume"] < 1
    assert durations["sadness"] > 1.1 * durations["neutral"]  # sad speech is slower


def test_bad_keyframes_fail_before_any_work(tmp_path, example_wav):
    result = CliRunner().invoke(app, ["render", str(example_wav), "--keyframes", "0 s neutral, 2 s rage",
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "choose one of" in result.output
    assert not (tmp_path / "out").exists()

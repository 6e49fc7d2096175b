"""AvatarPipeline: the README's example runs as written; the call's options and its errors."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from avatar.errors import InputError
from avatar.pipeline import AvatarPipeline
from tests.conftest import EXAMPLE_TEXT

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def pipe() -> AvatarPipeline:
    return AvatarPipeline.from_pretrained()


def readme_example() -> str:
    """The Python block of the README's AvatarPipeline section."""
    section = README.read_text(encoding="utf-8").split("## In Python: `AvatarPipeline`", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_example(), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "emotion verified in" in printed
    written = {p.name for p in (tmp_path / "out" / "example").iterdir()}
    assert {"face.csv", "face.json", "face.glb", "body.bvh", "body.glb", "speech.wav", "render.json",
            "report.json", "report.png"} <= written
    summary = json.loads((tmp_path / "out" / "example" / "render.json").read_text())
    assert summary["emotion"] == {"label": "happiness", "intensity": 0.8} and summary["seed"] == 1


def test_vad_and_keyframes_set_the_curve(pipe):
    text = "We will see what the morning brings."
    excited = pipe(text=text, vad=(0.8, 0.7, 0.3), verify=False)
    assert excited.summary["emotion"] == {"vad": [0.8, 0.7, 0.3]}
    np.testing.assert_allclose(excited.emotion.vad[0], (0.8, 0.7, 0.3), atol=1e-6)
    keyed = pipe(text=text, emotion_keyframes="0 s neutral, 1 s anger 0.9", verify=False)
    anger = keyed.emotion.weight("anger")
    assert anger[0] < 0.05 and anger[-1] == pytest.approx(0.9, abs=0.01)


def test_no_verify_has_no_report_and_save_picks_formats(pipe, tmp_path):
    result = pipe(text="One more time.", emotion="sadness", verify=False, outputs="face,body")
    assert result.report is None and result.summary["verification"] == "off"
    summary = result.save(tmp_path, formats="face")
    assert sorted(summary["files"]) == sorted(["speech.wav", "face.csv", "face.json", "face.glb", "render.json"])
    with pytest.raises(InputError, match="not rendered"):
        result.save(tmp_path / "v", formats="video")


def test_the_video_comes_at_the_size_asked(pipe, tmp_path):
    import imageio.v3 as iio

    result = pipe(text="Hello there.", outputs="video", verify=False, size=256)
    assert next(result.video_frames()).shape == (256, 256, 3)
    summary = result.save(tmp_path)
    assert summary["inputs"]["video_size"] == 256
    assert iio.imread(tmp_path / "video.mp4", index=0).shape == (256, 256, 3)
    default = pipe(text="Hello there.", outputs="video", verify=False)  # the same portrait, its own size
    assert next(default.video_frames()).shape == (512, 512, 3) and default.summary["inputs"]["video_size"] == 512


@pytest.mark.parametrize("kwargs, message", [
    ({}, "not both and not neither"),
    ({"text": "hi", "audio": "x.wav"}, "not both"),
    ({"text": "hi", "emotion": "joy"}, "choose one of"),
    ({"text": "hi", "outputs": "face,hologram"}, "unknown output"),
    ({"text": "hi", "max_attempts": 0}, "max_attempts"),
    ({"text": "hi", "transcript": "hi"}, "transcript is for audio"),
    ({"audio": "/nowhere/speech.wav"}, "does not exist"),
])
def test_bad_calls_say_what_to_fix(pipe, kwargs, message):
    with pytest.raises(InputError, match=message):
        pipe(**kwargs)


def test_unknown_generator_and_checkpoint_path(tmp_path):
    with pytest.raises(InputError, match="unknown generator"):
        AvatarPipeline("neural")
    with pytest.raises(InputError, match="no learned motion checkpoint"):
        AvatarPipeline.from_pretrained(tmp_path)


def test_the_learned_generator_makes_motion_on_its_clock_and_the_tracks_come_at_the_fps_asked(pipe, spoken_example):
    # The checkpoint learned 30-fps motion: at 25 fps the speech is read at 30, the motion made at 30, and the tracks
    # resampled, so blinks and gestures keep their real durations instead of running 20 % slow.
    at_25 = AvatarPipeline(fps=25.0)
    result = at_25(spoken_example, transcript=EXAMPLE_TEXT, verify=False)
    assert result.face.fps == result.body.fps == 25.0 and result.summary["fps"] == 25.0
    assert result.face.n_frames == pytest.approx(spoken_example.duration * 25, abs=1)
    assert result.speech.fps == 30.0  # the generator's clock
    same = pipe(spoken_example, transcript=EXAMPLE_TEXT, verify=False)  # the same motion, made at 30 fps
    np.testing.assert_allclose(result.face.weights, same.face.resampled(25.0).weights, atol=1e-5)
    with pytest.raises(ValueError, match="makes motion at 30 fps"):
        pipe.animator.generator.animate(replace(result.speech.content(), fps=25.0), result.emotion, 0)

"""The shipped learned motion checkpoint: it loads, animates any speech on its clock, and `render` can use it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from avatar.cli import app
from avatar.emotion import constant_emotion
from avatar.evaluation.face import bilabial_closure
from generators.learned.animate import DEFAULT_CHECKPOINT, LearnedAnimator, MissingCheckpointError
from rigs.paths import shared_data
from tests.conftest import EXAMPLE_TEXT


@pytest.fixture(scope="module")
def learned():
    return LearnedAnimator.from_pretrained(DEFAULT_CHECKPOINT, steps=10)


@pytest.fixture(scope="module")
def content():
    from avatar.frontend.speech import speak

    return speak(EXAMPLE_TEXT).content()


def test_the_checkpoint_is_small_safetensors_with_a_model_card():
    # A training run's resume state (checkpoints/ inside the folder) is not shipped.
    files = [p for p in DEFAULT_CHECKPOINT.rglob("*") if p.is_file() and p.relative_to(DEFAULT_CHECKPOINT).parts[0]
             != "checkpoints"]
    assert sum(p.stat().st_size for p in files) < 30 * 2**20
    assert {p.suffix for p in files} <= {".json", ".safetensors", ".md", ".csv"}
    card = (DEFAULT_CHECKPOINT / "README.md").read_text()
    assert "avatar train motion" in card and "CC BY-NC 4.0" in card


def test_animates_speech_on_its_clock_deterministically(learned, content):
    emotion = constant_emotion("happiness", 0.8, content.n_frames)
    face, body = learned.animate(content, emotion, seed=1)
    again, _ = learned.animate(content, emotion, seed=1)
    other, _ = learned.animate(content, emotion, seed=2)
    assert face.n_frames == body.n_frames == content.n_frames and face.fps == body.fps == content.fps
    assert np.array_equal(face.weights, again.weights) and not np.array_equal(face.weights, other.weights)
    assert np.isfinite(body.rotations).all() and 0 <= face.weights.min() and face.weights.max() <= 1
    # The face alone (what the recognizer in the loop re-generates) is the same face, made without the body.
    alone, no_body = learned.animate(content, emotion, seed=1, with_body=False)
    assert no_body is None and np.array_equal(alone.weights, face.weights) and np.array_equal(alone.head, face.head)


def test_the_jaw_speaks_and_the_lips_close(learned, content):
    face, _ = learned.animate(content, constant_emotion("neutral", 0.8, content.n_frames), seed=0)
    closure, _ = bilabial_closure(face, content.phones)
    assert closure >= CLOSURE_FLOOR
    speaking = np.zeros(content.n_frames, bool)
    for start, end, label in content.phones:
        if label.strip():
            speaking[int(start * content.fps): int(end * content.fps)] = True
    jaw = face["jawOpen"]
    assert jaw[speaking].mean() > 2 * max(jaw[~speaking].mean(), 0.01)


CAPTURE = shared_data("beat", "bvh", "2_scott_0_1_1.bvh")


@pytest.mark.skipif(not CAPTURE.is_file(), reason="needs the real BEAT capture in ../shared/data/beat")
def test_the_body_moves_and_does_not_tremble_on_a_real_clip(learned):
    from avatar.evaluation.beat import beat_content
    from avatar.evaluation.kinematics import Motion, audio_onsets, kinematics, load_capture, motion_from_track
    from avatar.frontend.audio import load_audio

    seconds = 20
    content = beat_content(CAPTURE.stem)
    words = [w for w in content.words if w.end <= seconds]
    onsets = audio_onsets(load_audio(CAPTURE.parents[1] / "wav" / f"{CAPTURE.stem}.wav").samples)
    onsets = onsets[onsets < seconds]
    capture = load_capture(CAPTURE)
    real = kinematics(Motion(capture.positions[: int(seconds * capture.fps)], capture.fps), words, onsets)
    neutral = constant_emotion("neutral", 0.8, content.n_frames)
    _, body = learned.animate(content, neutral, seed=0, frames=(0, int(seconds * content.fps)))
    generated = kinematics(motion_from_track(body), words, onsets)
    # Guards of what the shipped checkpoint holds on this clip (capture: arm speed 50.8 cm/s, share of arm-speed
    # power above 3 Hz 0.045; learned: 31.6 and 0.033). Issue 21's share target, within 30 % of the capture's, is met
    # since the denoiser was fine-tuned with the whitened body loss (before: 37.7 and 0.066; the speed it lost was
    # partly tremor, partly a smaller gesture band); before the body decoder stopped reading the speech, 0.21.
    assert generated.arm_high_frequency_share < 1.3 * real.arm_high_frequency_share
    assert generated.speed["arms"].mean > 0.6 * real.speed["arms"].mean


def test_render_with_the_learned_generator(tmp_path):
    result = CliRunner().invoke(app, ["render", "--text", "Hello there, nice to meet you.", "--generator", "learned",
                                      "--emotion", "anger", "--outputs", "face,body", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "render.json").read_text())["generator"] == "learned"


def test_a_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(MissingCheckpointError, match="avatar train motion"):
        LearnedAnimator.from_pretrained(tmp_path)


CLOSURE_FLOOR = 0.9  # the absolute floor; the content features say when the lips meet

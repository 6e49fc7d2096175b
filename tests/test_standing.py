"""Weight shifts over planted feet (generators/procedural/standing.py), on both generators' bodies."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.emotion import constant_emotion
from generators.procedural.body import animate_body
from generators.procedural.standing import ROLL_DEG, SHIFT_CM, shift_weight
from rigs.body import BodyTrack
from tests.test_procedural_body import synthetic_content

FEET = ("RightFoot", "LeftFoot", "RightToeBase", "LeftToeBase", "RightToeBaseEnd", "LeftToeBaseEnd")

# 40 s of speech in phrases of 2.5 s with 0.5-s pauses between them.
WORDS = [(start + k * 0.5, start + k * 0.5 + 0.4, "word") for start in np.arange(0.0, 39.0, 3.0) for k in range(5)]


@pytest.fixture(scope="module")
def content():
    return synthetic_content(WORDS, 40.0)


def stand(content, label: str = "neutral", seed: int = 0, body: BodyTrack | None = None) -> tuple[BodyTrack, ...]:
    emotion = constant_emotion(label, 0.8, content.n_frames)
    body = animate_body(content, emotion, seed=seed) if body is None else body
    return body, shift_weight(body, content, emotion, seed)


def hips_sideways(body: BodyTrack, stood: BodyTrack) -> np.ndarray:
    return stood.root_positions[:, 0] - body.root_positions[:, 0]


def test_feet_stay_planted_while_the_hips_shift_over_them(content):
    body, stood = stand(content)
    skeleton = body.skeleton
    feet = [skeleton.index(name) for name in FEET]
    assert np.abs(stood.positions()[:, feet] - body.positions()[:, feet]).max() < 1e-3  # cm: no sliding, no sinking
    moved = {skeleton.index(name) for name in ("Hips", "Spine")} | {
        skeleton.index(f"{side}{part}") for side in ("Right", "Left") for part in ("UpLeg", "Leg", "Foot")}
    kept = [j for j in range(skeleton.n_joints) if j not in moved]
    assert np.array_equal(stood.rotations[:, kept], body.rotations[:, kept])  # the arms' angles bit for bit
    sideways = hips_sideways(body, stood)
    assert 0.5 * SHIFT_CM < np.abs(sideways).max() < 1.5 * SHIFT_CM
    assert sideways.min() < -0.4 * SHIFT_CM and sideways.max() > 0.4 * SHIFT_CM  # over each foot in turn
    # Shifts, not a constant drift: the hips settle between them.
    speed = np.abs(np.diff(sideways)) * body.fps
    moving = speed > 0.5
    starts = np.flatnonzero(moving[1:] & ~moving[:-1])
    assert 2 <= len(starts) <= 8  # one every 8-20 s over 40 s (sway alone stays below 0.5 cm/s)
    assert moving.mean() < 0.5


def test_the_unloaded_hip_drops_and_its_knee_relaxes_while_the_chest_keeps_its_pose(content):
    body, stood = stand(content)
    skeleton = body.skeleton
    before = skeleton.forward_kinematics(body.rotations, body.root_positions)
    after = skeleton.forward_kinematics(stood.rotations, stood.root_positions)
    chest = skeleton.index("Spine3")
    assert np.abs(after.rotations[:, chest] - before.rotations[:, chest]).max() < 1e-5
    sideways = hips_sideways(body, stood)
    over_right = sideways < -0.8 * SHIFT_CM  # the hips over the right foot (the character's right is -x)
    assert over_right.any()
    hip_height = after.positions[:, [skeleton.index("RightUpLeg"), skeleton.index("LeftUpLeg")], 1]
    drop = hip_height[over_right, 1] - hip_height[over_right, 0]
    assert np.all(drop < 0) and drop.min() > -2 * 16.5 * np.sin(np.radians(ROLL_DEG))

    def knee_flexion(side: str) -> np.ndarray:
        thigh, shin = (skeleton.index(f"{side}{part}") for part in ("UpLeg", "Leg"))
        relative = np.einsum("tji,tjk->tik", after.rotations[:, thigh], after.rotations[:, shin])
        return np.degrees(np.arccos(np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2, -1, 1)))

    assert knee_flexion("Left")[over_right].mean() > 5.0 > knee_flexion("Right")[over_right].mean()
    # The relaxed knee bends forward over its toes (+z, turned out 6 degrees), not sideways.
    hip, knee, ankle = (after.positions[over_right, skeleton.index(f"Left{part}")] for part in ("UpLeg", "Leg", "Foot"))
    line = (ankle - hip) / np.linalg.norm(ankle - hip, axis=1, keepdims=True)
    bend = (knee - hip) - np.sum((knee - hip) * line, axis=1, keepdims=True) * line
    assert bend[:, 2].min() > 2.0 and np.all(np.abs(bend[:, 0]) < 0.3 * bend[:, 2])


def test_emotion_scales_the_shifts_and_a_seed_repeats_them(content):
    calm = [np.ptp(hips_sideways(*stand(content, "sadness", seed))) for seed in range(3)]
    aroused = [np.ptp(hips_sideways(*stand(content, "fear", seed))) for seed in range(3)]
    assert np.mean(aroused) > np.mean(calm)
    body, first = stand(content, seed=4)
    _, again = stand(content, seed=4, body=body)
    _, other = stand(content, seed=5, body=body)
    assert np.array_equal(first.rotations, again.rotations)
    assert not np.allclose(first.root_positions, other.root_positions)


def test_a_lone_frame_and_silence_stand_too():
    for seconds in (1 / 30, 0.5):
        silent = synthetic_content([], seconds)
        body, stood = stand(silent)
        assert stood.n_frames == body.n_frames and np.isfinite(stood.rotations).all()


def test_clock_mismatch_is_refused(content):
    body = animate_body(content, constant_emotion("neutral", 0.8, content.n_frames))
    with pytest.raises(ValueError, match="one frame clock"):
        shift_weight(body, content, constant_emotion("neutral", 0.8, content.n_frames - 1))

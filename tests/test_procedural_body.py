"""The procedural body animator: determinism, anatomy, torso clearance, emotion, gesture timing, rest, words."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from avatar.emotion import constant_emotion
from avatar.evaluation.kinematics import (
    audio_onsets,
    beat_align_times,
    mean_wrist_speed,
    motion_beats,
    upper_body_positions,
)
from generators.conditioning import EMOTIONS, Content, Segment
from generators.procedural.arm_ik import closest_on_polyline
from generators.procedural.body import TORSO_JOINTS, animate_body
from rigs.body import BodyTrack, load_beat_skeleton
from tests.conftest import EXAMPLE_TEXT

SPINE_AND_HEAD = ("Spine", "Spine1", "Spine2", "Spine3", "Neck", "Neck1", "Head")


def synthetic_content(words: list[tuple[float, float, str]], duration: float, fps: float = 30.0) -> Content:
    """Content with the given words spoken (one vowel each, loud and voiced, an onset at each start), else silence."""
    n = int(round(duration * fps))
    t = np.arange(n) / fps
    rms = np.full(n, 1e-4)
    f0 = np.zeros(n)
    onset = np.full(n, 0.2)
    phones = []
    for start, end, _ in words:
        inside = (t >= start) & (t < end)
        rms[inside] = 0.1
        f0[inside] = 140.0
        onset[int(round(start * fps))] = 6.0
        phones += [Segment(start, start + 0.05, "T"), Segment(start + 0.05, end, "AH")]
    return Content(fps, tuple(phones), tuple(Segment(*w) for w in words), rms, f0, (f0 > 0).astype(float), onset)


def animate(content: Content, label: str = "neutral", seed: int = 0) -> BodyTrack:
    return animate_body(content, constant_emotion(label, 0.8, content.n_frames), seed=seed)


@pytest.fixture(scope="module")
def example_content(spoken_example) -> Content:
    from avatar.frontend.speech import analyze_speech

    return analyze_speech(spoken_example, EXAMPLE_TEXT).content()


@pytest.fixture(scope="module")
def example_tracks(example_content) -> dict[str, BodyTrack]:
    return {label: animate(example_content, label) for label in EMOTIONS}


def test_track_shape_fps_and_planted_feet(example_content):
    track = animate(example_content)
    skeleton = load_beat_skeleton()
    assert track.skeleton == skeleton
    assert track.fps == example_content.fps
    assert track.rotations.shape == (example_content.n_frames, skeleton.n_joints, 3)
    other = synthetic_content([(0.5, 0.9, "hello"), (1.0, 1.6, "world")], 3.0, fps=24.0)
    assert animate(other).rotations.shape == (72, skeleton.n_joints, 3) and animate(other).fps == 24.0
    # Root fixed and legs held: the feet never slide.
    positions = track.positions()
    feet = [skeleton.index(name) for name in ("RightFoot", "LeftFoot", "RightToeBaseEnd", "LeftToeBaseEnd")]
    assert np.ptp(track.root_positions, axis=0).max() == 0.0
    assert np.ptp(positions[:, feet], axis=0).max() < 1e-4


def test_deterministic_for_a_seed_and_varied_across_seeds(example_content):
    first, again = animate(example_content, seed=0), animate(example_content, seed=0)
    other = animate(example_content, seed=1)
    assert np.array_equal(first.rotations, again.rotations)
    wrists = [first.skeleton.index("RightHand"), first.skeleton.index("LeftHand")]
    difference = np.linalg.norm(first.positions()[:, wrists] - other.positions()[:, wrists], axis=-1)
    assert difference.max() > 10.0  # cm: another seed gestures differently, not just jitters


def test_anatomy_rigid_bones_and_joint_ranges(example_tracks):
    skeleton = load_beat_skeleton()
    index = skeleton.index
    for label, track in example_tracks.items():
        fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
        positions, rotations = fk.positions, fk.rotations
        bones = np.linalg.norm(positions[:, 1:] - positions[:, skeleton.parents[1:]], axis=-1)
        np.testing.assert_allclose(bones, np.broadcast_to(skeleton.bone_lengths()[1:], bones.shape), atol=1e-3)
        for side in ("Right", "Left"):
            arm, fore, hand = index(f"{side}Arm"), index(f"{side}ForeArm"), index(f"{side}Hand")
            upper_dir = positions[:, fore] - positions[:, arm]
            fore_dir = positions[:, hand] - positions[:, fore]
            cos = np.sum(upper_dir * fore_dir, 1) / np.linalg.norm(upper_dir, axis=1) / np.linalg.norm(fore_dir, axis=1)
            flexion = np.degrees(np.arccos(np.clip(cos, -1, 1)))
            assert flexion.max() <= 146.0, (label, side)
            # The elbow is a hinge plus forearm twist: local = R_y(flexion) R_x(twist), so element [1, 0] is 0.
            local = np.swapaxes(rotations[:, arm], 1, 2) @ rotations[:, fore]
            assert np.abs(local[:, 1, 0]).max() < 1e-4, (label, side)
            twist = np.degrees(np.arctan2(local[:, 2, 1], local[:, 1, 1]))
            assert twist.min() >= -86.0 and twist.max() <= 91.0, (label, side)
            # Upper arm: at most ~110 degrees up from hanging, and not swung far behind the back.
            direction = upper_dir / np.linalg.norm(upper_dir, axis=1, keepdims=True)
            assert np.degrees(np.arccos(-direction[:, 1])).max() < 110.0, (label, side)
            assert direction[:, 2].min() > -0.75, (label, side)
            wrist = np.degrees(track.rotations[:, hand])
            assert np.abs(wrist).max() < 71.0, (label, side)
            fingers = [
                j for j, name in enumerate(skeleton.names) if name.startswith(f"{side}Hand") and name[-1] in "123"
            ]
            curl = np.degrees(track.rotations[:, fingers, 2]) * (1 if side == "Right" else -1)
            assert curl.min() > -15.0 and curl.max() < 100.0, (label, side)
        spine = np.degrees(track.rotations[:, [index(name) for name in SPINE_AND_HEAD]])
        assert np.abs(spine).max() < 30.0, label


@pytest.mark.parametrize("seed", [0, 1])
def test_hands_and_elbows_stay_outside_the_torso(example_content, seed):
    skeleton = load_beat_skeleton()
    for label in EMOTIONS:
        positions = animate(example_content, label, seed).positions()
        spine = positions[:, [skeleton.index(name) for name in TORSO_JOINTS]]
        # A capsule of 12 cm around the spine line Hips..Neck: the torso's half-depth in front of the spine joints.
        for name in ("Hand", "HandMiddle1", "ForeArm"):
            for side in ("Right", "Left"):
                point = positions[:, skeleton.index(side + name)]
                distance = np.linalg.norm(point - closest_on_polyline(point, spine), axis=1)
                assert distance.min() >= 12.0, (label, seed, side + name, distance.min())


def test_emotion_orders_wrist_speed(example_tracks):
    speed = {label: mean_wrist_speed(track) for label, track in example_tracks.items()}
    assert min(speed[label] for label in ("anger", "happiness", "surprise", "fear")) > speed["neutral"], speed
    assert speed["neutral"] > speed["sadness"], speed


def test_emotion_shapes_posture(example_tracks):
    skeleton = load_beat_skeleton()
    mean = {label: track.positions().mean(0) for label, track in example_tracks.items()}
    head, shoulder = skeleton.index("HeadEnd"), skeleton.index("RightArm")
    wrists = [skeleton.index("RightHand"), skeleton.index("LeftHand")]
    assert mean["sadness"][head, 1] < mean["neutral"][head, 1] - 3.0  # slumped, head down
    assert mean["sadness"][head, 2] > mean["neutral"][head, 2] + 3.0  # the head hangs forward
    assert mean["fear"][shoulder, 1] > mean["neutral"][shoulder, 1] + 1.5  # shoulders raised
    assert mean["anger"][wrists, 1].mean() > mean["sadness"][wrists, 1].mean() + 8.0  # hands high vs low
    spread = {label: np.abs(m[wrists, 0]).mean() for label, m in mean.items()}
    assert spread["anger"] > spread["fear"] + 4.0  # wide vs closed


def test_rest_and_breathing_in_silence():
    track = animate(synthetic_content([], 12.0))
    skeleton = track.skeleton
    positions = track.positions()
    wrists = [skeleton.index("RightHand"), skeleton.index("LeftHand")]
    chest = skeleton.index("Spine3")
    # Arms down: the wrists hang well below the chest, at the sides.
    assert (positions[:, wrists, 1] < positions[:, [chest], 1] - 35.0).all()
    assert (np.abs(positions[:, wrists, 0]) > 15.0).all()
    # Low but non-zero motion: breathing and sway, no gestures.
    speed = mean_wrist_speed(track)
    assert 0.05 < speed < 3.0, speed
    breath = np.degrees(track.rotations[:, skeleton.index("Spine3"), 0])
    assert np.ptp(breath) > 0.3


def test_word_triggered_gestures():
    words = [(1.0, 1.3, "I"), (3.0, 3.3, "you"), (5.0, 5.4, "never"), (7.0, 7.4, "huge"), (9.0, 9.3, "tiny")]
    track = animate(synthetic_content(words, 10.5))
    skeleton = track.skeleton
    fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
    positions = fk.positions
    chest = positions[:, skeleton.index("Spine3")]
    wrists = positions[:, [skeleton.index("RightHand"), skeleton.index("LeftHand")]]

    def frame(time: float) -> int:
        return int(round(time * track.fps))

    at_chest = np.linalg.norm(wrists[frame(1.2)] - chest[frame(1.2)], axis=-1).min()
    assert at_chest < 25.0  # self-reference: a hand on the chest
    reach = (wrists[frame(3.2), :, 2] - chest[frame(3.2), 2]).max()
    assert reach > 35.0  # "you": a hand reaching out to the listener
    head = fk.rotations[frame(4.9) : frame(5.9), skeleton.index("Head")]
    yaw = np.degrees(np.arctan2(head[:, 0, 2], head[:, 2, 2]))
    turns = np.sum(np.diff(np.sign(np.diff(yaw))) != 0)
    assert np.ptp(yaw) > 8.0 and turns >= 3  # negation: a head shake
    apart = lambda t: np.linalg.norm(wrists[frame(t), 0] - wrists[frame(t), 1])  # noqa: E731
    assert apart(7.3) > 60.0 and apart(9.2) < 30.0  # size words: hands wide apart, then close together


def test_rejects_mismatched_emotion_and_unknown_style(example_content):
    with pytest.raises(ValueError, match="frames"):
        animate_body(example_content, constant_emotion("neutral", 0.5, example_content.n_frames + 3))
    with pytest.raises(ValueError, match="style"):
        animate_body(example_content, constant_emotion("neutral", 0.5, example_content.n_frames), style={"tempo": 2})


def test_beat_align_at_least_the_real_capture(beat_dir):
    from avatar.frontend.audio import load_audio
    from avatar.frontend.features import extract_features
    from avatar.frontend.speech import SpeechContent
    from avatar.frontend.textgrid import load_alignment_textgrid
    from rigs.formats.bvh import BvhHeaderWarning, read_bvh

    take = "2_scott_0_1_1"
    audio = load_audio(beat_dir / "wav" / f"{take}.wav")
    alignment = load_alignment_textgrid(beat_dir / "textgrid" / f"{take}.TextGrid")
    features = extract_features(audio, 30.0)
    content = SpeechContent(audio, alignment, features).content()
    onsets = audio_onsets(audio.samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)
        capture = read_bvh(beat_dir / "bvh" / f"{take}.bvh")
    # Both at 15 fps on upper-body joints; the capture's first row (before its lower body was zeroed) is dropped.
    real = upper_body_positions(capture, 15.0)[1:]
    real_beats = motion_beats(real, 15.0) + 1 / 15.0
    real_ba = beat_align_times(onsets, real_beats)
    real_rate = len(real_beats) / (len(real) / 15.0)
    generated = upper_body_positions(animate(content), 15.0)
    beats = motion_beats(generated, 15.0)
    rate = len(beats) / (len(generated) / 15.0)
    assert beat_align_times(onsets, beats) >= real_ba, (beat_align_times(onsets, beats), real_ba)
    assert 0.5 * real_rate <= rate <= 1.5 * real_rate, (rate, real_rate)


def test_keys_stop_where_the_hand_turns_back_and_carry_speed_where_it_goes_on():
    from generators.procedural.trajectory import Keys

    times = np.arange(0.0, 2.0, 1 / 120)
    keys = {carry: Keys(1, carry=carry) for carry in (0.0, 0.5)}
    for k in keys.values():
        for t, value in ((0.0, 0.0), (0.5, 10.0), (1.0, 20.0), (1.5, 5.0)):  # on through 0.5 s, back at 1.0 s
            k.add(t, [value])
    stopping, carrying = (np.gradient(keys[c].sample(times)[:, 0], times) for c in (0.0, 0.5))
    at = lambda t: int(round(t * 120))  # noqa: E731
    assert abs(stopping[at(0.5)]) < 0.5 and carrying[at(0.5)] > 5.0  # cm/s: 0.5 x the 20 cm/s the path keeps
    assert abs(carrying[at(1.0)]) < 0.5  # the turn is still a stop: a motion beat
    path = keys[0.5].sample(np.array([0.0, 0.5, 1.0, 1.5]))[:, 0]
    np.testing.assert_allclose(path, [0.0, 10.0, 20.0, 5.0], atol=1e-9)  # it passes through every key
    assert keys[0.5].sample(times)[:, 0].max() <= 20.0 + 1e-9  # and never overshoots a turn


def test_targets_crossing_the_spine_or_passing_the_shoulder_move_smoothly():
    from generators.procedural.arm_ik import folded_reach, keep_outside, two_bone_ik

    # A point sliding sideways straight through the spine line: pushed out in front, with no jump.
    n = 200
    points = np.stack([np.linspace(-10, 10, n), np.full(n, 40.0), np.zeros(n)], axis=1)  # through the line
    spine = np.tile([[[0.0, 0.0, 0.0], [0.0, 60.0, 0.0]]], (n, 1, 1))
    front = np.tile([0.0, 0.0, 1.0], (n, 1))
    pushed = keep_outside(points, spine, 15.0, front)
    assert np.linalg.norm(np.diff(pushed, axis=0), axis=1).max() < 1.0  # cm per 0.1 cm step of the input
    assert pushed[:, 2].min() > 5.0  # in front of the body, where it crosses the line too
    assert np.hypot(pushed[:, 0], pushed[:, 2]).min() >= 15.0  # and outside the capsule
    # A wrist target sweeping down past the shoulder, close to it, with the elbow hint pointing down: the elbow
    # turns to the fallback side smoothly instead of flipping round the arm.
    upper, fore = 30.6, 25.5
    shoulder = np.zeros((n, 3))
    angle = np.linspace(-0.6, 0.6, n)
    radius = folded_reach(upper, fore) + 3.0
    target = np.stack([np.full(n, 0.5), -radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    hint = np.tile([0.0, -1.0, 0.0], (n, 1))
    elbow, _, _ = two_bone_ik(shoulder, target, upper, fore, hint, fallback=np.tile([1.0, 0.0, 0.0], (n, 1)))
    assert np.linalg.norm(np.diff(elbow, axis=0), axis=1).max() < 1.5  # cm per 0.12-cm step of the wrist (6 without)

"""The BEAT skeleton, forward kinematics and BodyTrack conversions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rigs.body import BodyTrack, Skeleton, load_beat_skeleton
from rigs.errors import RigInputError
from rigs.formats.bvh import BvhHeaderWarning, read_bvh, read_bvh_skeleton
from rigs.rotations import euler_to_matrix

ROT = ("Xrotation", "Yrotation", "Zrotation")
RNG = np.random.default_rng(3)


def chain(order: str = "ZXY") -> Skeleton:
    """root -> a -> b along +X, 1 unit each, with an end site; root can translate."""
    rot = tuple(f"{axis}rotation" for axis in order)
    return Skeleton(
        names=("root", "a", "b"),
        parents=[-1, 0, 1],
        offsets=[[0, 0, 0], [1, 0, 0], [1, 0, 0]],
        channels=(("Xposition", "Yposition", "Zposition", *rot), rot, rot),
        end_sites={2: [0.5, 0, 0]},
    )


@pytest.fixture(scope="module")
def beat_take(beat_dir) -> BodyTrack:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)
        return read_bvh(beat_dir / "bvh" / "2_scott_0_1_1.bvh")


def test_shipped_beat_skeleton_describes_75_joints():
    skeleton = load_beat_skeleton()
    assert skeleton.n_joints == 75 and skeleton.names[0] == "Hips" and skeleton.units == "cm"
    assert skeleton.parents[0] == -1 and (skeleton.parents[1:] < np.arange(1, 75)).all()
    assert skeleton.channels[0] == ("Xposition", "Yposition", "Zposition", *ROT)
    assert all(channels == ROT for channels in skeleton.channels[1:])
    assert skeleton.n_channels == 228 and skeleton.position_joints == (0,)
    assert set(skeleton.rotation_orders) == {"XYZ"}
    assert [skeleton.names[j] for j in skeleton.end_sites][:2] == ["HeadEnd", "RightHandMiddle4"]
    assert len(skeleton.end_sites) == 13


def test_shipped_skeleton_matches_the_real_bvh(beat_dir):
    assert load_beat_skeleton() == read_bvh_skeleton(beat_dir / "bvh" / "2_scott_0_1_1.bvh")


def test_index_children_and_a_clear_error_for_unknown_joints():
    skeleton = load_beat_skeleton()
    spine3 = skeleton.index("Spine3")
    assert [skeleton.names[c] for c in skeleton.children("Spine3")] == ["Neck", "RightShoulder", "LeftShoulder"]
    assert skeleton.children(spine3) == skeleton.children("Spine3")
    with pytest.raises(RigInputError, match="LeftHandIndex1"):
        skeleton.index("LeftHandIndx1")
    with pytest.raises(RigInputError, match="no joint named"):
        skeleton.index("Tail")


def test_rest_pose_is_an_upright_t_pose_facing_z():
    skeleton = load_beat_skeleton()
    rest = skeleton.rest_positions()
    at = {name: rest[skeleton.index(name)] for name in skeleton.names}
    assert at["Head"][1] > at["Spine3"][1] > at["Hips"][1] > at["LeftLeg"][1] > at["LeftFoot"][1]
    assert at["LeftHand"][0] > 60 and at["RightHand"][0] < -60  # arms out along X, left on +X
    assert abs(at["LeftHand"][1] - at["LeftArm"][1]) < 1 and abs(at["RightHand"][1] - at["RightArm"][1]) < 1
    assert at["LeftToeBase"][2] > at["LeftFoot"][2] + 5  # toes point forward (+Z)
    assert 150 < at["HeadEnd"][1] - at["LeftToeBaseEnd"][1] < 200  # a person's height in cm


def test_forward_kinematics_of_a_known_chain():
    skeleton = chain("ZXY")
    rotations = np.zeros((2, 3, 3))
    rotations[1, 0, 0] = np.pi / 2  # root turns 90 deg about Z: the +X chain points along +Y
    rotations[1, 1, 0] = -np.pi / 2  # a turns back: b is offset along +X again from a
    fk = skeleton.forward_kinematics(rotations, np.array([[0, 0, 0], [10, 0, 0]]))
    assert np.allclose(fk.positions[0], [[0, 0, 0], [1, 0, 0], [2, 0, 0]])
    assert np.allclose(fk.positions[1], [[10, 0, 0], [10, 1, 0], [11, 1, 0]], atol=1e-6)
    assert np.allclose(fk.rotations[1, 2], np.eye(3), atol=1e-6)


def test_forward_kinematics_composes_local_rotations_and_keeps_bone_lengths():
    skeleton = load_beat_skeleton()
    rotations = RNG.uniform(-np.pi, np.pi, (4, skeleton.n_joints, 3))
    fk = skeleton.forward_kinematics(rotations, RNG.normal(size=(4, 3)))
    local = euler_to_matrix(rotations, "XYZ")
    j = skeleton.index("LeftHand")
    parent = skeleton.parents[j]
    assert np.allclose(fk.rotations[:, j], fk.rotations[:, parent] @ local[:, j], atol=1e-5)
    lengths = np.linalg.norm(fk.positions[:, 1:] - fk.positions[:, skeleton.parents[1:]], axis=-1)
    assert np.allclose(lengths, skeleton.bone_lengths()[1:], atol=1e-4)


def test_forward_kinematics_of_the_real_take_is_a_plausible_person(beat_take):
    skeleton, positions = beat_take.skeleton, beat_take.positions()
    height = {name: positions[:, skeleton.index(name), 1] for name in ("Hips", "Head", "HeadEnd", "LeftFoot")}
    assert (height["Head"] > height["Hips"] + 50).all()
    for hand in ("LeftHand", "RightHand"):
        y = positions[:, skeleton.index(hand), 1]
        # Over the whole take the hands stay between mid-thigh and just above the head.
        assert (y > height["Hips"] - 30).all() and (y < height["HeadEnd"] + 10).all()
    lengths = np.linalg.norm(positions[:, 1:] - positions[:, skeleton.parents[1:]], axis=-1)
    assert np.abs(lengths - skeleton.bone_lengths()[1:]).max() < 1e-3


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"names": ("a", "a", "b")}, "repeat"),
        ({"parents": [-1, 2, 0]}, "parent"),
        ({"channels": (("Xrotation",), ("Wrotation",), ())}, "Wrotation"),
        ({"offsets": [[0, 0, 0], [np.nan, 0, 0], [1, 0, 0]]}, "NaN"),
    ],
)
def test_bad_skeletons_are_rejected(kwargs, problem):
    fields = {
        "names": ("root", "a", "b"),
        "parents": [-1, 0, 1],
        "offsets": np.eye(3),
        "channels": (ROT, ROT, ROT),
        "end_sites": {},
    }
    with pytest.raises(RigInputError, match=problem):
        Skeleton(**{**fields, **kwargs})


def test_skeleton_json_round_trip(tmp_path):
    skeleton = chain()
    skeleton.save_json(tmp_path / "chain.json", source="test")
    assert Skeleton.load_json(tmp_path / "chain.json") == skeleton
    assert Skeleton.from_dict(load_beat_skeleton().to_dict()) == load_beat_skeleton()
    with pytest.raises(RigInputError, match="does not exist"):
        Skeleton.load_json(tmp_path / "missing.json")


def test_skeleton_arrays_are_read_only():
    with pytest.raises(ValueError):
        load_beat_skeleton().offsets[0, 0] = 1.0


def test_body_track_validates_its_input():
    skeleton = chain()
    good = np.zeros((5, 3, 3))
    with pytest.raises(RigInputError, match=r"expected \(T, 3, 3\)"):
        BodyTrack(skeleton, 30, np.zeros((5, 4, 3)), np.zeros((5, 3)))
    with pytest.raises(RigInputError, match=r"expected \(5, 3\)"):
        BodyTrack(skeleton, 30, good, np.zeros((4, 3)))
    with pytest.raises(RigInputError, match="NaN"):
        BodyTrack(skeleton, 30, np.where(np.arange(3) == 1, np.inf, good), np.zeros((5, 3)))
    with pytest.raises(RigInputError, match="fps"):
        BodyTrack(skeleton, 0, good, np.zeros((5, 3)))
    with pytest.raises(RigInputError, match="no frames"):
        BodyTrack(skeleton, 30, np.zeros((0, 3, 3)), np.zeros((0, 3)))
    track = BodyTrack(skeleton, 30, good, np.zeros((5, 3)))
    assert track.rotations.dtype == np.float32 and track.n_frames == 5 and track.duration == pytest.approx(5 / 30)


def test_rest_track():
    track = BodyTrack.rest(load_beat_skeleton(), 4, fps=15)
    assert track.rotations.shape == (4, 75, 3) and not track.rotations.any()
    assert np.allclose(track.positions()[2], load_beat_skeleton().rest_positions())


def random_track(order: str = "ZXY", n: int = 60, fps: float = 30.0) -> BodyTrack:
    """Smooth motion of the chain; joint a's middle angle swings through +-90 deg (off the principal branch)."""
    rng = np.random.default_rng(11)
    t = np.arange(n)[:, None, None] / fps
    rotations = 1.2 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6, (1, 3, 3))) + rng.normal(0, 0.3, (1, 3, 3))
    rotations[:, 1, 1] = 1.9 * np.sin(2 * np.pi * 0.5 * t[:, 0, 0])
    return BodyTrack(chain(order), fps, rotations, np.cumsum(rng.normal(size=(n, 3)), axis=0))


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX"])
def test_quaternion_and_6d_round_trips_keep_rotations_and_euler_values(order):
    track = random_track(order)
    start = track.rotations[0]
    for rebuilt in (
        BodyTrack.from_quaternions(track.skeleton, track.quaternions(), track.root_positions, track.fps, start),
        BodyTrack.from_rot6d(track.skeleton, track.rot6d(), track.root_positions, track.fps, start),
    ):
        assert np.abs(rebuilt.matrices() - track.matrices()).max() < 1e-5
        assert np.abs(rebuilt.positions() - track.positions()).max() < 1e-4
        # Given the first frame's angles, smooth motion comes back as the same Euler values, off-branch included.
        assert np.abs(rebuilt.rotations - track.rotations).max() < 1e-4


def test_from_quaternions_stays_continuous_beyond_a_turn():
    skeleton = chain("XYZ")
    n = 200
    rotations = np.zeros((n, 3, 3))
    rotations[:, 1, 2] = np.linspace(0, 4 * np.pi, n)  # two full turns about Z
    track = BodyTrack(skeleton, 30, rotations, np.zeros((n, 3)))
    rebuilt = BodyTrack.from_quaternions(skeleton, track.quaternions(), track.root_positions, 30, start=rotations[0])
    assert np.abs(np.diff(rebuilt.rotations, axis=0)).max() < 0.1
    assert np.abs(rebuilt.rotations - track.rotations).max() < 1e-4


def test_resampling_keeps_duration_and_matches_coinciding_frames():
    track = random_track(n=61, fps=30)
    same = track.resampled(30)
    assert np.abs(same.matrices() - track.matrices()).max() < 1e-5
    half = track.resampled(15)
    assert half.fps == 15 and half.duration == pytest.approx(track.duration, abs=1 / 15)
    assert np.abs(half.matrices() - track.matrices()[::2][: half.n_frames]).max() < 1e-5
    double = track.resampled(60)
    assert np.abs(double.matrices()[::2][: track.n_frames] - track.matrices()).max() < 1e-5
    mid = double.root_positions[1]
    assert np.allclose(mid, (track.root_positions[0] + track.root_positions[1]) / 2, atol=1e-5)


def test_resampling_the_real_take_keeps_rotations(beat_take):
    again = beat_take.resampled(beat_take.fps)
    assert again.n_frames == beat_take.n_frames
    assert np.abs(again.positions() - beat_take.positions()).max() < 1e-2  # cm
    faster = beat_take.resampled(30)
    assert faster.n_frames == 2 * beat_take.n_frames
    assert np.abs(faster.positions()[::2] - beat_take.positions()).max() < 1e-2

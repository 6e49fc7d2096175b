"""BVH reading and writing: the real BEAT take, an independent reader (bvhio), odd files and bad input."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import soundfile

from rigs.body import BodyTrack, Skeleton, load_beat_skeleton
from rigs.errors import RigInputError
from rigs.formats.bvh import BvhHeaderWarning, bvh_text, read_bvh, write_bvh
from rigs.rotations import euler_to_matrix, euler_to_quat

BEAT_ROWS = 957
BEAT_HEADER_LINES = 431  # HIERARCHY .. Frame Time

# Root in ZXY with positions last, a joint in YXZ, a joint with constant position channels, an End Site, tokens split
# over lines and tabs, CRLF line ends, and no newline at the end of the file.
ODD_BVH = (
    "HIERARCHY\r\nROOT   root\r\n{\r\n\tOFFSET 0 0 0\r\n\tCHANNELS 6 Zrotation Xrotation Yrotation "
    "Xposition Yposition Zposition\r\n"
    "\tJOINT a\r\n\t{\r\n\t\tOFFSET\r\n 0 10\t0\r\n\t\tCHANNELS 3 Yrotation Xrotation Zrotation\r\n"
    "\t\tJOINT b\r\n\t\t{\r\n\t\t\tOFFSET 0 0 0\r\n\t\t\tCHANNELS 6 Xposition Yposition Zposition "
    "Xrotation Yrotation Zrotation\r\n\t\t\tEnd Site\r\n\t\t\t{\r\n\t\t\t\tOFFSET 0 5 0\r\n\t\t\t}\r\n\t\t}\r\n"
    "\t}\r\n}\r\nMOTION\r\nFrames: 2\r\nFrame Time: 0.033333\r\n"
    "90 0 0 1 2 3   0 0 0   5 0 0 0 0 0\r\n"
    "0 90 0 1 2 3   90 0 0   5 0 0 0 0 0"
)


def beat_bvh(beat_dir):
    return beat_dir / "bvh" / "2_scott_0_1_1.bvh"


@pytest.fixture(scope="module")
def beat_take(beat_dir) -> BodyTrack:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)
        return read_bvh(beat_bvh(beat_dir))


@pytest.fixture(scope="module")
def beat_written(beat_take, tmp_path_factory):
    path = tmp_path_factory.mktemp("bvh") / "beat.bvh"
    write_bvh(beat_take, path)
    return path


def test_beat_header_is_distrusted_with_a_warning_and_15_fps(beat_dir):
    with pytest.warns(BvhHeaderWarning, match=r"7669.*957 rows.*every 8th frame.*15 fps") as record:
        track = read_bvh(beat_bvh(beat_dir))
    assert len(record) == 1
    assert track.n_frames == BEAT_ROWS and track.fps == 15.0 and track.duration == pytest.approx(63.8)
    audio_seconds = soundfile.info(str(beat_dir / "wav" / "2_scott_0_1_1.wav")).duration
    assert abs(track.duration - audio_seconds) < 0.5


def test_fps_and_duration_arguments_override_the_header(beat_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit rate needs no warning
        assert read_bvh(beat_bvh(beat_dir), fps=20).fps == 20
        assert read_bvh(beat_bvh(beat_dir), duration=64.1).fps == pytest.approx(BEAT_ROWS / 64.1)


def test_beat_values_are_the_file_values(beat_dir, beat_take):
    raw = np.loadtxt(beat_bvh(beat_dir), skiprows=BEAT_HEADER_LINES)
    assert raw.shape == (BEAT_ROWS, 228)
    assert np.abs(beat_take.root_positions - raw[:, :3]).max() < 1e-6
    degrees = np.degrees(beat_take.rotations.astype(np.float64)).reshape(BEAT_ROWS, -1)
    # Unwrapping may only add whole turns; this take has no jump over 180 deg, so the values are kept.
    assert np.abs(degrees - raw[:, 3:]).max() < 1e-4
    assert np.abs(degrees).max() > 700  # the forearm angles beyond +-360 deg are kept as written


def test_beat_round_trip_within_a_thousandth_of_a_degree(beat_take, beat_written):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our header agrees with our rows
        again = read_bvh(beat_written)
    assert again.skeleton == beat_take.skeleton and again.fps == beat_take.fps
    assert np.degrees(np.abs(again.rotations.astype(np.float64) - beat_take.rotations)).max() < 1e-3
    assert np.abs(again.root_positions - beat_take.root_positions).max() < 1e-5
    text = beat_written.read_text()
    assert text.endswith("\n") and "Frames: 957\n" in text and "Frame Time: 0.06666666666666667\n" in text
    assert len(text.split("MOTION\n")[1].splitlines()) == 2 + BEAT_ROWS


def test_written_beat_parses_with_bvhio(beat_take, beat_written):
    bvhio = pytest.importorskip("bvhio")
    container = bvhio.readAsBvh(str(beat_written))
    joints = [joint for joint, _, _ in container.Root.layout()]
    skeleton = beat_take.skeleton
    assert [joint.Name for joint in joints] == list(skeleton.names)
    assert container.FrameCount == beat_take.n_frames and container.FrameTime == pytest.approx(1 / 15, abs=1e-6)
    assert np.allclose([list(joint.Offset) for joint in joints], skeleton.offsets, atol=1e-5)
    assert [tuple(joint.Channels) for joint in joints] == list(skeleton.channels)
    ours = euler_to_quat(beat_take.rotations, "XYZ")  # (T, J, 4) w, x, y, z
    theirs = np.array([[[k.Rotation.w, k.Rotation.x, k.Rotation.y, k.Rotation.z] for k in j.Keyframes] for j in joints])
    assert np.abs(np.abs(np.sum(ours * theirs.transpose(1, 0, 2), axis=-1)) - 1).max() < 1e-5
    root = np.array([list(k.Position) for k in joints[0].Keyframes])
    assert np.abs(root - beat_take.root_positions).max() < 1e-5


def test_bvhio_forward_kinematics_agrees_with_ours(beat_take, tmp_path):
    bvhio = pytest.importorskip("bvhio")
    frames = [0, 100, 500, 938]  # 938 holds the largest forearm angle
    short = BodyTrack(beat_take.skeleton, 15, beat_take.rotations[frames], beat_take.root_positions[frames])
    write_bvh(short, tmp_path / "short.bvh")
    root = bvhio.readAsHierarchy(str(tmp_path / "short.bvh"))
    ours = short.positions()
    for i in range(len(frames)):
        root.loadPose(i)
        theirs = np.array([list(joint.PositionWorld) for joint, _, _ in root.layout()])
        assert np.abs(theirs - ours[i]).max() < 1e-3  # cm


def test_write_is_atomic_and_honours_the_umask(tmp_path):
    path = tmp_path / "out.bvh"
    path.write_text("old")
    old_umask = os.umask(0o027)
    try:
        write_bvh(BodyTrack.rest(load_beat_skeleton(), 3, fps=15), path)
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bvh"]  # no temporary left behind
    assert read_bvh(path).n_frames == 3


def test_odd_but_valid_file(tmp_path):
    path = tmp_path / "odd.bvh"
    path.write_bytes(ODD_BVH.encode())
    track = read_bvh(path)
    skeleton = track.skeleton
    assert skeleton.names == ("root", "a", "b") and skeleton.rotation_orders == ("ZXY", "YXZ", "XYZ")
    assert skeleton.position_joints == (0, 2) and np.allclose(skeleton.offsets[2], [5, 0, 0])  # channels replace OFFSET
    assert np.allclose(skeleton.end_sites[2], [0, 5, 0]) and track.fps == 30.0
    assert np.allclose(track.root_positions, [[1, 2, 3], [1, 2, 3]])
    # Frame 0: root turns 90 deg about Z, so a (10 up) lands at -X and b (5 along +X in a's frame) at +Y of a.
    assert np.allclose(track.positions()[0], [[1, 2, 3], [-9, 2, 3], [-9, 7, 3]], atol=1e-4)
    assert np.allclose(np.degrees(track.rotations[1, 1]), [90, 0, 0])  # a's first channel is Yrotation
    again_path = tmp_path / "again.bvh"
    write_bvh(track, again_path)
    again = read_bvh(again_path)
    assert again.skeleton == skeleton
    assert np.abs(again.rotations - track.rotations).max() < 1e-6
    assert "CHANNELS 6 Zrotation Xrotation Yrotation Xposition Yposition Zposition" in again_path.read_text()


def test_non_root_translation_is_rejected(tmp_path):
    moving = ODD_BVH.replace("90 0 0   5 0 0", "90 0 0   6 0 0")
    (tmp_path / "moving.bvh").write_text(moving)
    with pytest.raises(RigInputError, match=r"joint 'b' translates.*root only"):
        read_bvh(tmp_path / "moving.bvh")


def test_euler_jumps_are_unwrapped(tmp_path):
    skeleton = Skeleton(("root",), [-1], [[0, 0, 0]], (("Zrotation", "Xrotation", "Yrotation"),), {0: [0, 1, 0]})
    degrees = np.array([[170.0, 0, 0], [-175.0, 0, 0], [-160.0, 10, 0]])  # 170 -> 185 -> 200 written wrapped
    track = BodyTrack(skeleton, 30, np.radians(degrees)[:, None], np.zeros((3, 3)))
    write_bvh(track, tmp_path / "wrap.bvh")
    read = read_bvh(tmp_path / "wrap.bvh")
    assert np.allclose(np.degrees(read.rotations[:, 0, 0]), [170, 185, 200], atol=1e-4)
    assert np.allclose(euler_to_matrix(read.rotations, "ZXY"), euler_to_matrix(track.rotations, "ZXY"), atol=1e-6)
    assert np.allclose(np.degrees(read_bvh(tmp_path / "wrap.bvh", unwrap=False).rotations[:, 0, 0]), degrees[:, 0])


def test_header_count_mismatch_rules(tmp_path):
    skeleton = read_bvh_text(tmp_path, ODD_BVH).skeleton
    text = bvh_text(BodyTrack.rest(skeleton, 100, fps=30))
    # A few rows more or fewer than the header says: the header's rate still holds.
    with pytest.warns(BvhHeaderWarning, match="holds 100 rows"):
        assert read_bvh_text(tmp_path, text.replace("Frames: 100", "Frames: 101")).fps == 30.0
    # No whole decimation step fits: the rows span the header's duration (250 frames at 1/30 s).
    with pytest.warns(BvhHeaderWarning, match="spanning the header's 8.33 s"):
        assert read_bvh_text(tmp_path, text.replace("Frames: 100", "Frames: 250")).fps == pytest.approx(12.0, rel=1e-4)


def test_frame_rate_survives_writing(tmp_path):
    track = read_bvh_text(tmp_path, ODD_BVH)
    for fps in (15.0, 24.0, 29.97, 30000 / 1001, 14.975):
        track.fps = fps
        write_bvh(track, tmp_path / "rate.bvh")
        assert read_bvh(tmp_path / "rate.bvh").fps == pytest.approx(fps, rel=1e-12)


def read_bvh_text(tmp_path, text: str, **kwargs) -> BodyTrack:
    path = tmp_path / "input.bvh"
    path.write_text(text)
    return read_bvh(path, **kwargs)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ODD_BVH[: ODD_BVH.index("JOINT b")], r"ends where"),  # truncated inside the hierarchy
        (ODD_BVH[: ODD_BVH.index("MOTION")], r"no MOTION section"),
        (ODD_BVH[: ODD_BVH.index("Frame Time")], r"ends before its 'Frame Time'"),
        (ODD_BVH[: ODD_BVH.rindex("0 0 0 0 0")], r"line 26: 10 values.*15 channels"),  # last row cut short
        (ODD_BVH.replace("0 90 0 1 2 3", "0 90 0 1 2"), r"line 26: 14 values"),
        (ODD_BVH.replace("0 90 0 1 2 3", "0 nan 0 1 2 3"), r"line 26: NaN or infinite"),
        (ODD_BVH.replace("0 90 0 1 2 3", "0 ninety 0 1 2 3"), r"line 26: 'ninety' is not a number"),
        (ODD_BVH.replace("Frame Time: 0.033333", "Frame Time: 0"), r"pass fps= or duration="),
        (ODD_BVH.replace("Yrotation Xrotation Zrotation", "Yrotation Xrotation Wrotation"), r"line 10.*Wrotation"),
        (ODD_BVH.replace("JOINT b", "JOINT a"), r"'a' appears twice"),
        (ODD_BVH.replace("OFFSET 0 5 0", "OFFSET 0 five 0"), r"line 17: expected a number"),
        ("", r"ends where 'HIERARCHY' was expected"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, text, problem):
    with pytest.raises(RigInputError, match=problem):
        read_bvh_text(tmp_path, text)


def test_missing_file_and_unknown_joint(tmp_path):
    with pytest.raises(RigInputError, match="does not exist"):
        read_bvh(tmp_path / "nope.bvh")
    track = read_bvh_text(tmp_path, ODD_BVH)
    with pytest.raises(RigInputError, match="did you mean root"):
        track.skeleton.index("rot")


def test_text_matches_what_write_produces(tmp_path):
    track = read_bvh_text(tmp_path, ODD_BVH)
    write_bvh(track, tmp_path / "out.bvh")
    assert (tmp_path / "out.bvh").read_text() == bvh_text(track)
    assert "-0.000000" not in bvh_text(track)


@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 50.0, 60.0, 30000 / 1001])
def test_frame_time_gives_blender_the_exact_rate(tmp_path, fps):
    """Blender's BVH importer sets the scene to 1 / Frame Time: six decimals made 30 fps into 30.0003."""
    write_bvh(BodyTrack.rest(load_beat_skeleton(), 3, fps), tmp_path / "take.bvh")
    text = (tmp_path / "take.bvh").read_text()
    rate = 1.0 / float(text.split("Frame Time:")[1].split()[0])
    # Blender: fps = round(rate), fps_base = fps / rate; the scene shows fps / fps_base to two decimals.
    assert abs(rate - fps) < 1e-9
    assert read_bvh(tmp_path / "take.bvh").fps == pytest.approx(fps, abs=1e-9)

"""ARKit-52 metadata, FaceTrack, and the face formats: Live Link Face CSV and ARKit JSON (BEAT, Audio2Face)."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from rigs.errors import RigInputError
from rigs.face import arkit
from rigs.face.track import FaceTrack
from rigs.formats.arkit_json import read_arkit_json, write_arkit_json
from rigs.formats.livelink import HEADER, livelink_angles, read_livelink_csv, timecode, write_livelink_csv


def random_track(n: int = 95, fps: float = 30.0, seed: int = 0) -> FaceTrack:
    rng = np.random.default_rng(seed)
    return FaceTrack(rng.random((n, 52)), fps, rng.normal(0, 0.2, (n, 3)), rng.normal(0, 0.2, (n, 4)))


def test_arkit_names_order_and_metadata():
    names = arkit.BLENDSHAPES
    assert len(names) == 52 == len(set(names))
    assert names[:2] == ("eyeBlinkLeft", "eyeLookDownLeft") and names[17] == "jawOpen" and names[-1] == "tongueOut"
    assert set(arkit.REGION.values()) == set(arkit.REGIONS)
    assert len(arkit.MIRROR_PAIRS) == 20  # including jawLeft/jawRight and mouthLeft/mouthRight
    assert sum(arkit.MIRROR[n] == n for n in names) == 12  # the centre shapes
    for left, right in arkit.MIRROR_PAIRS:
        assert left.endswith("Left") and arkit.MIRROR[right] == left
        assert arkit.REGION[left] == arkit.REGION[right] and arkit.ACTION_UNITS[left] == arkit.ACTION_UNITS[right]
    assert all(arkit.MIRROR[arkit.MIRROR[n]] == n for n in names)
    assert arkit.ACTION_UNITS["mouthSmileLeft"] == (12,) and arkit.ACTION_UNITS["browInnerUp"] == (1,)
    assert set(arkit.shapes_with_action_unit(4)) == {"browDownLeft", "browDownRight"}
    assert arkit.canonical_name("JawOpen") == arkit.canonical_name("jawopen") == "jawOpen"
    with pytest.raises(KeyError, match="jawOpen"):
        arkit.canonical_name("mouthSmile")


def test_head_rotation_signs_follow_the_documented_axes():
    forward = np.array([0.0, 0.0, 1.0])
    assert (arkit.head_rotation(0.3, 0, 0) @ forward)[0] > 0  # yaw: toward the character's left (+X)
    assert (arkit.head_rotation(0, 0.3, 0) @ forward)[1] < 0  # pitch: looks down
    assert (arkit.head_rotation(0, 0, 0.3) @ [1.0, 0, 0])[1] > 0  # roll: left side up
    angles = np.random.default_rng(1).uniform(-1.2, 1.2, (50, 3))
    np.testing.assert_allclose(arkit.head_angles(arkit.head_rotation(*angles.T)), angles, atol=1e-9)


def test_face_track_validates_and_mirrors():
    with pytest.raises(RigInputError, match=r"\(T, 52\)"):
        FaceTrack(np.zeros((10, 51)), 30)
    with pytest.raises(RigInputError, match="NaN"):
        FaceTrack(np.full((3, 52), np.nan), 30)
    with pytest.raises(RigInputError, match="clip"):
        FaceTrack(np.full((3, 52), 1.5), 30)
    with pytest.raises(RigInputError, match="fps"):
        FaceTrack(np.zeros((3, 52)), 0)
    track = FaceTrack.from_channels({"mouthSmileLeft": 0.8, "headYaw": 0.2, "leftEyeYaw": 0.1}, 4)
    mirrored = track.mirrored()
    assert mirrored["mouthSmileRight"][0] == pytest.approx(0.8) and mirrored["mouthSmileLeft"][0] == 0
    assert mirrored["headYaw"][0] == pytest.approx(-0.2) and mirrored["rightEyeYaw"][0] == pytest.approx(-0.1)
    assert track.resampled(60).n_frames == 8


def test_livelink_csv_header_is_exact(tmp_path):
    write_livelink_csv(random_track(40), tmp_path / "take.csv")
    lines = (tmp_path / "take.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft"]
    assert header[16:21] == ["JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose"]
    assert header[23:27] == ["MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight"]
    assert header[-9:] == ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                           "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    assert len(header) == 63 == len(HEADER)
    first = lines[1].split(",")
    assert first[0] == "00:00:00:00.000" and first[1] == "61" and len(first) == 63


def test_livelink_values_are_fixed_decimals(tmp_path):
    """The app writes ten fixed decimals; scientific notation (7.2e-06) breaks Maya and MotionBuilder scripts."""
    track = random_track(30)
    track.weights[:, :5] = np.float32(7.2e-6)
    track.head[:, 0] = -1e-9
    write_livelink_csv(track, tmp_path / "take.csv")
    for line in (tmp_path / "take.csv").read_text().splitlines()[1:]:
        for cell in line.split(",")[2:]:
            assert re.fullmatch(r"-?\d\.\d{10}", cell), cell
    assert "0.0000072000," in (tmp_path / "take.csv").read_text()


def test_timecode_is_the_apps_60_frame_base():
    assert timecode(0.0) == "00:00:00:00.000"
    assert timecode(1 / 25) == "00:00:00:02.400"
    assert timecode(59.5 / 60) == "00:00:00:59.500"
    assert timecode(13 * 3600 + 13 * 60 + 4 + 31.652 / 60) == "13:13:04:31.652"  # as in an app take
    assert timecode(3600 + 1 + 1 / 60) == "01:00:01:01.000"


def unreal_import_times(text: str) -> np.ndarray:
    """Row times as Unreal's LiveLinkFaceImporter computes them (a port of its rules, written for this test).

    Lines split on ",", empty cells dropped; the timecode "hh:mm:ss:frame.zzz" splits on ":" into exactly four
    parts, the last read as fractional frames; the take is 60 fps when any frame number exceeds 30, else 30; a row
    sits at hh*3600 + mm*60 + ss + frames / that rate.
    """
    rows = [[cell for cell in line.split(",") if cell] for line in text.splitlines()]
    header, body = rows[0], rows[1:]
    assert header[0] == "Timecode" and header[1] == "BlendShapeCount" and len(header) >= 3
    assert all(len(row) == len(header) for row in body)
    parsed = []
    for row in body:
        parts = row[0].split(":")
        assert len(parts) == 4
        parsed.append((int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2]), float(parts[3])))
    rate = 60 if any(frames > 30.0 for _, frames in parsed) else 30
    return np.array([seconds + frames / rate for seconds, frames in parsed])


@pytest.mark.parametrize(("fps", "frames"), [(24.0, 150), (25.0, 150), (30.0, 150), (50.0, 150), (60.0, 150),
                                             (25.0, 8), (30.0, 2), (24.0, 1)])
def test_unreal_importer_reads_every_rate_on_time(tmp_path, fps, frames):
    """Our frame numbers at the track's own rate made a 25 fps track play 25 frames in 0.83 s, then pause."""
    track = random_track(frames, fps)
    write_livelink_csv(track, tmp_path / "take.csv")
    times = unreal_import_times((tmp_path / "take.csv").read_text())
    np.testing.assert_allclose(times - times[0], np.arange(frames) / fps, atol=2e-5)


def test_a_time_of_day_start_is_kept(tmp_path):
    track = random_track(90, 30.0)
    start = 14 * 3600 + 3 * 60 + 52 + 28.207 / 60
    write_livelink_csv(track, tmp_path / "take.csv", start=start)
    lines = (tmp_path / "take.csv").read_text().splitlines()
    assert lines[1].startswith("14:03:52:28.207,61,") and lines[2].startswith("14:03:52:30.207,")
    times = unreal_import_times((tmp_path / "take.csv").read_text())
    np.testing.assert_allclose(times, start + np.arange(90) / 30, atol=2e-5)
    assert read_livelink_csv(tmp_path / "take.csv").fps == 30.0


@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 60.0, 30000 / 1001])
def test_livelink_csv_round_trip(tmp_path, fps):
    track = random_track(150, fps)
    write_livelink_csv(track, tmp_path / "take.csv")
    back = read_livelink_csv(tmp_path / "take.csv")
    assert back.fps == pytest.approx(fps, rel=1e-9) and back.n_frames == track.n_frames
    for name in ("weights", "head", "gaze"):
        np.testing.assert_allclose(getattr(back, name), getattr(track, name), atol=1e-5)


def gazing_track(n: int = 120) -> FaceTrack:
    """Eyes sweeping left-right and up-down with their eyeLook shapes set as the procedural face sets them."""
    from generators.procedural.life import eye_look

    t = np.linspace(0, 4 * np.pi, n)
    gaze = np.stack([0.4 * np.sin(t), 0.2 * np.cos(0.7 * t), 0.4 * np.sin(t) + 0.05, 0.2 * np.cos(0.7 * t)], 1)
    track = FaceTrack.from_channels(eye_look(gaze), n)
    return FaceTrack(track.weights, 30.0, np.zeros((n, 3)), gaze)


def test_eye_angles_have_the_apps_signs(tmp_path):
    """In the app's takes LeftEyeYaw falls as EyeLookOutLeft - EyeLookInLeft rises (correlation -1); pitch rises
    with EyeLookDown. Ours rose with it (+1), for both eyes."""
    write_livelink_csv(gazing_track(), tmp_path / "take.csv")
    with open(tmp_path / "take.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def column(name: str) -> np.ndarray:
        return np.array([float(row[name]) for row in rows])

    for side in ("Left", "Right"):
        out_minus_in = column(f"EyeLookOut{side}") - column(f"EyeLookIn{side}")
        # Left eye looking out turns toward the character's left, the right eye's toward its right.
        expected = -1.0 if side == "Left" else 1.0
        assert np.corrcoef(column(f"{side}EyeYaw"), out_minus_in)[0, 1] == pytest.approx(expected, abs=0.02)
        down_minus_up = column(f"EyeLookDown{side}") - column(f"EyeLookUp{side}")
        assert np.corrcoef(column(f"{side}EyePitch"), down_minus_up)[0, 1] == pytest.approx(1.0, abs=0.02)
        assert np.abs(column(f"{side}EyeRoll")).max() > 1e-3  # not always zero


# (yaw, pitch, roll) of both eyes in rows of a Live Link Face app take (alexdjulin/LiveLinkFace-CSV-Retarget-For-
# Motionbuilder, anim/alex_rom_3.csv, rows at 13:13:04:31 and 13:13:53:41): the app's eye roll follows its yaw and
# pitch as the YXZ roll of R_x(pitch) @ R_y(yaw).
APP_EYES = ((-0.0312639736, 0.1712819338, -0.0054070088), (0.0335430540, 0.1712722927, 0.0058006854),
            (-0.0063496027, 0.2795534730, -0.0018227722), (0.0569751598, 0.2795902193, 0.0163478758))


def helmholtz_roll(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    from rigs.rotations import axis_matrix

    return arkit.head_angles(axis_matrix("X", pitch) @ axis_matrix("Y", yaw))[..., 2]


def test_eye_roll_follows_yaw_and_pitch_as_in_the_app():
    yaw, pitch, roll = np.array(APP_EYES).T
    np.testing.assert_allclose(helmholtz_roll(yaw, pitch), roll, rtol=1e-5)  # the relation holds in the app's data
    angles = livelink_angles(gazing_track()).astype(np.float64)
    for eye in (angles[:, 3:6], angles[:, 6:9]):
        np.testing.assert_allclose(eye[:, 2], helmholtz_roll(eye[:, 0], eye[:, 1]), atol=1e-6)


def test_head_angles_are_the_apps_mirror_of_ours():
    """Yaw toward the character's right and roll toward its left shoulder are positive in the app; pitch down."""
    track = FaceTrack.from_channels({"headYaw": 0.3, "headPitch": 0.2, "headRoll": 0.1}, 2)
    np.testing.assert_allclose(livelink_angles(track)[0, :3], [-0.3, 0.2, -0.1], atol=1e-7)


def test_livelink_csv_reads_app_style_takes(tmp_path):
    """Wall-clock timecodes with sub-frames, and a take without head/eye columns."""
    names = [n for n in HEADER[2:54]]
    rows = [",".join(["Timecode", "BlendShapeCount", *names])]
    for i in range(90):
        seconds, ff = divmod(i + 28, 60)
        rows.append(",".join([f"14:03:{52 + seconds:02d}:{ff:02d}.207", "52", *(["0.25"] * 52)]))
    (tmp_path / "app.csv").write_text("\n".join(rows))
    track = read_livelink_csv(tmp_path / "app.csv")
    assert track.fps == 60 and track.n_frames == 90
    assert np.all(track.weights == 0.25) and np.all(track.head == 0)


def test_livelink_csv_bad_input(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(RigInputError, match="Timecode"):
        read_livelink_csv(tmp_path / "empty.csv")
    write_livelink_csv(random_track(40), tmp_path / "take.csv")
    text = (tmp_path / "take.csv").read_text().replace("EyeBlinkLeft,", "", 1)
    (tmp_path / "missing.csv").write_text(text)
    with pytest.raises(RigInputError):
        read_livelink_csv(tmp_path / "missing.csv")
    write_livelink_csv(random_track(1), tmp_path / "one.csv")
    with pytest.raises(RigInputError, match="fps="):
        read_livelink_csv(tmp_path / "one.csv")
    assert read_livelink_csv(tmp_path / "one.csv", fps=30).n_frames == 1
    with pytest.raises(RigInputError, match="within a day"):
        write_livelink_csv(random_track(3), tmp_path / "late.csv", start=90000)


@pytest.mark.parametrize("layout", ["beat", "audio2face"])
def test_arkit_json_round_trip(tmp_path, layout):
    track = random_track(70, 60.0)
    write_arkit_json(track, tmp_path / "face.json", layout)
    document = json.loads((tmp_path / "face.json").read_text())
    back = read_arkit_json(tmp_path / "face.json")
    assert back.fps == 60.0 and back.n_frames == 70
    np.testing.assert_allclose(back.weights, track.weights, atol=1e-6)
    if layout == "beat":
        assert document["names"] == list(arkit.BLENDSHAPES) and set(document["frames"][0]) >= {"time", "weights"}
        np.testing.assert_allclose(back.head, track.head, atol=1e-6)
        np.testing.assert_allclose(back.gaze, track.gaze, atol=1e-6)
    else:
        assert document["numPoses"] == 52 and document["numFrames"] == 70 and document["exportFps"] == 60.0
        assert document["facsNames"] == list(arkit.BLENDSHAPES) and len(document["weightMat"]) == 70


def test_arkit_json_reads_beat_files_in_their_own_order(tmp_path):
    """BEAT's face files list 51 or 52 names in their own order, at 60 fps, with frame times."""
    names = sorted(arkit.BLENDSHAPES)[:-1]  # alphabetical, tongueOut missing
    frames = [{"time": i / 60, "weights": [names.index("jawOpen") / 100 if n == "jawOpen" else 0.0 for n in names],
               "rotation": []} for i in range(12)]
    (tmp_path / "take.json").write_text(json.dumps({"names": names, "frames": frames}))
    track = read_arkit_json(tmp_path / "take.json")
    assert track.fps == 60 and track.n_frames == 12
    assert track["jawOpen"][0] == pytest.approx(names.index("jawOpen") / 100) and track["tongueOut"].max() == 0


def test_arkit_json_bad_input(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(RigInputError, match="layout"):
        read_arkit_json(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(RigInputError, match="cannot read"):
        read_arkit_json(tmp_path / "broken.json")
    (tmp_path / "ragged.json").write_text(json.dumps({"weightMat": [[0.0] * 52, [0.0] * 3]}))
    with pytest.raises(RigInputError, match="shape|numbers"):
        read_arkit_json(tmp_path / "ragged.json")
    with pytest.raises(RigInputError, match="layout"):
        write_arkit_json(random_track(3), tmp_path / "x.json", layout="maya")  # type: ignore[arg-type]
    assert not (tmp_path / "x.json").exists()


def beat_style_duration(path) -> float:
    """How long a BEAT-style loader takes a face file to be: it steps through `frames` at BEAT's 60 fps."""
    return len(json.loads(path.read_text())["frames"]) / 60.0


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_beat_layout_is_60_fps(tmp_path, fps):
    """BEAT-style readers took our 30 fps face.json for 60 fps: a 6.3 s track loaded as 3.2 s."""
    track = random_track(int(6.3 * fps), fps)
    write_arkit_json(track, tmp_path / "face.json", "beat")
    assert beat_style_duration(tmp_path / "face.json") == pytest.approx(track.duration, abs=1 / 60)
    document = json.loads((tmp_path / "face.json").read_text())
    assert document["fps"] == 60 and document["frames"][1]["time"] == pytest.approx(1 / 60, abs=1e-6)
    back = read_arkit_json(tmp_path / "face.json")
    assert back.fps == 60 and back.resampled(fps).n_frames == track.n_frames
    if fps == 30.0:  # every second frame of the file is a frame of the track, exactly
        np.testing.assert_allclose(back.weights[::2], track.weights, atol=1e-6)
        np.testing.assert_allclose(back.gaze[::2], track.gaze, atol=1e-6)


def test_audio2face_layout_has_the_joint_keys_of_recent_exports(tmp_path):
    """Recent Audio2Face exports add joints, rotations and translations; ours lacked them."""
    track = random_track(20, 30.0)
    write_arkit_json(track, tmp_path / "face_a2f.json", "audio2face")
    document = json.loads((tmp_path / "face_a2f.json").read_text())
    assert document["joints"] == ["eye_L", "eye_R"]
    rotations, translations = np.array(document["rotations"]), np.array(document["translations"])
    assert rotations.shape == (20, 2, 4) and translations.shape == (20, 2, 3)
    np.testing.assert_allclose(np.linalg.norm(rotations, axis=-1), 1.0, atol=1e-5)  # unit x, y, z, w quaternions
    assert translations[0, 0, 0] > 0 > translations[0, 1, 0]  # the left eye at +X (the character's left)
    back = read_arkit_json(tmp_path / "face_a2f.json")
    np.testing.assert_allclose(back.gaze, track.gaze, atol=1e-5)
    assert np.all(back.head == 0)  # the layout has no head rotation

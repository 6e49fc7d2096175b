"""ARKit-52 metadata, FaceTrack, and the face formats: Live Link Face CSV and ARKit JSON (BEAT, Audio2Face)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rigs.errors import RigInputError
from rigs.face import arkit
from rigs.face.track import FaceTrack
from rigs.formats.arkit_json import read_arkit_json, write_arkit_json
from rigs.formats.livelink import HEADER, read_livelink_csv, timecode, write_livelink_csv


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
    write_livelink_csv(random_track(5), tmp_path / "take.csv")
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


def test_timecode_counts_frames_at_the_track_rate():
    assert timecode(0, 30) == "00:00:00:00.000"
    assert timecode(29, 30) == "00:00:00:29.000"
    assert timecode(30, 30) == "00:00:01:00.000"
    assert timecode(60 * 60 * 60 + 61, 60) == "01:00:01:01.000"


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_livelink_csv_round_trip(tmp_path, fps):
    track = random_track(150, fps)
    write_livelink_csv(track, tmp_path / "take.csv")
    back = read_livelink_csv(tmp_path / "take.csv")
    assert back.fps == fps and back.n_frames == track.n_frames
    for name in ("weights", "head", "gaze"):
        np.testing.assert_allclose(getattr(back, name), getattr(track, name), atol=1e-5)


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
    with pytest.raises(RigInputError, match="fps="):
        write_livelink_csv(random_track(5), tmp_path / "short.csv")
        read_livelink_csv(tmp_path / "short.csv")


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

"""One call writes every format; `avatar export` converts between them."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from avatar.cli import app
from rigs.body.floor import lowest_points, placed
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError
from rigs.face.track import FaceTrack
from rigs.formats.export import export, read_track
from rigs.formats.sample import arm_wave, shape_tour


def test_export_writes_every_format_that_fits(tmp_path):
    face, body = shape_tour(0.1), arm_wave(1.0)
    paths = export([face, body], ["csv", "json", "a2f", "glb", "bvh", "smplx"], tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["face.csv", "face.json", "face_a2f.json", "face.glb", "body.glb", "body.bvh", "body.npz"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temporary files left
    for path in paths:
        if path.suffix == ".npz":
            continue  # written for research tools, not read back
        back = read_track(path)
        expected = face if isinstance(back, FaceTrack) else body
        if path.name == "face.json":  # the BEAT layout is 60 fps
            assert back.fps == 60 and back.resampled(expected.fps).n_frames == expected.n_frames
        else:
            assert back.n_frames == expected.n_frames and back.fps == expected.fps


def test_export_refuses_a_format_the_tracks_cannot_fill(tmp_path):
    with pytest.raises(RigInputError, match="bvh.*BodyTrack"):
        export(shape_tour(0.1), "bvh", tmp_path)
    with pytest.raises(RigInputError, match="unknown format"):
        export(shape_tour(0.1), "fbx", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_converts_between_formats(tmp_path):
    runner = CliRunner()
    export(arm_wave(1.0), ["bvh"], tmp_path / "in")
    result = runner.invoke(app, ["export", str(tmp_path / "in" / "body.bvh"), "-o", str(tmp_path / "out"),
                                 "--formats", "glb", "--fps", "15"])
    assert result.exit_code == 0, result.output
    back = read_track(tmp_path / "out" / "body.glb")
    assert isinstance(back, BodyTrack) and back.fps == 15 and back.n_frames == 15

    export(shape_tour(0.1), ["json"], tmp_path / "in")
    result = runner.invoke(app, ["export", str(tmp_path / "in" / "face.json"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert {"face.csv", "face.json", "face_a2f.json", "face.glb"} <= {p.name for p in (tmp_path / "out").iterdir()}
    converted = read_track(tmp_path / "out" / "face.csv")  # from the 60 fps BEAT layout; every second frame is ours
    np.testing.assert_allclose(converted.weights[::2], shape_tour(0.1).weights, atol=1e-5)


def test_cli_reports_bad_input_in_one_line(tmp_path):
    runner = CliRunner()
    (tmp_path / "take.txt").write_text("hello")
    result = runner.invoke(app, ["export", str(tmp_path / "take.txt"), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "error:" in result.output and ".bvh" in result.output
    export(shape_tour(0.1), ["csv"], tmp_path)
    result = runner.invoke(app, ["export", str(tmp_path / "face.csv"), "-o", str(tmp_path), "--formats", "bvh"])
    assert result.exit_code == 2 and "BodyTrack" in result.output


def test_bodies_stand_on_the_floor_by_default(tmp_path):
    """The hips were at the origin and the feet 0.86-0.92 m below it in body.bvh and body.glb."""
    body = arm_wave(1.0)
    assert np.median(lowest_points(body)) < -80  # BEAT's convention, as generated: centimetres below the hips
    export(body, ["bvh", "glb"], tmp_path / "feet")
    for name in ("body.bvh", "body.glb"):
        back = read_track(tmp_path / "feet" / name)
        np.testing.assert_allclose(lowest_points(back), 0.0, atol=0.05)  # centimetres: the soles on y = 0
        relative, expected = back.positions(), body.positions()
        np.testing.assert_allclose(relative - relative[:, :1], expected - expected[:, :1], atol=1e-3)  # same pose
    export(body, ["bvh"], tmp_path / "hips", floor="hips")
    np.testing.assert_allclose(read_track(tmp_path / "hips" / "body.bvh").root_positions, body.root_positions,
                               atol=1e-5)


def test_floor_conventions_are_idempotent(tmp_path):
    body = arm_wave(1.0)
    export(body, ["bvh"], tmp_path / "a")
    on_floor = read_track(tmp_path / "a" / "body.bvh")
    np.testing.assert_allclose(placed(on_floor, "feet").root_positions, on_floor.root_positions, atol=1e-4)
    np.testing.assert_allclose(placed(on_floor, "hips").root_positions, body.root_positions, atol=1e-4)
    with pytest.raises(RigInputError, match="floor 'ground'"):
        export(body, ["bvh"], tmp_path / "b", floor="ground")
    assert not (tmp_path / "b").exists()


def test_cli_floor_option(tmp_path):
    export(arm_wave(1.0), ["bvh"], tmp_path / "in")
    result = CliRunner().invoke(app, ["export", str(tmp_path / "in" / "body.bvh"), "-o", str(tmp_path / "out"),
                                      "--floor", "hips"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["body.bvh", "body.glb"]  # smplx only on request
    np.testing.assert_allclose(read_track(tmp_path / "out" / "body.bvh").root_positions, arm_wave(1.0).root_positions,
                               atol=1e-4)

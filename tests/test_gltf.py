"""GLB export: the face mesh with 52 morph targets and the skinned BEAT body, their animations, validity, read-back."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest
import trimesh

from rigs.body.skeleton import load_beat_skeleton
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError
from rigs.face.arkit import BLENDSHAPES
from rigs.face.track import FaceTrack
from rigs.formats.gltf import read_body_glb, read_glb, write_body_glb, write_face_glb
from rigs.formats.sample import arm_wave, shape_tour
from rigs.formats.validate import validate, validator_available


@pytest.fixture(scope="module")
def glbs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("glb")
    rng = np.random.default_rng(0)
    face = FaceTrack(rng.random((45, 52)), 30, rng.normal(0, 0.2, (45, 3)), rng.normal(0, 0.2, (45, 4)))
    skeleton = load_beat_skeleton()
    body = BodyTrack(skeleton, 15, rng.normal(0, 0.4, (20, skeleton.n_joints, 3)),
                     rng.normal(0, 3, (20, 3)) + [0, 95, 0])
    write_face_glb(face, folder / "face.glb")
    write_body_glb(body, folder / "body.glb")
    return folder, face, body


def test_face_glb_has_52_named_morph_targets(glbs):
    folder, face, _ = glbs
    gltf = pygltflib.GLTF2().load(str(folder / "face.glb"))
    mesh = gltf.meshes[0]
    assert mesh.extras["targetNames"] == list(BLENDSHAPES)
    assert len(mesh.primitives[0].targets) == 52 and len(mesh.weights) == 52
    channels = {(c.target.path, gltf.nodes[c.target.node].name) for c in gltf.animations[0].channels}
    assert channels == {("weights", "face"), ("rotation", "head"), ("rotation", "leftEye"), ("rotation", "rightEye")}
    scene = trimesh.load(folder / "face.glb")
    assert len(scene.geometry) == 1 and next(iter(scene.geometry.values())).faces.shape[0] > 800


def test_face_glb_round_trip(glbs):
    folder, face, _ = glbs
    back = read_glb(folder / "face.glb")
    assert isinstance(back, FaceTrack) and back.fps == face.fps and back.n_frames == face.n_frames
    np.testing.assert_allclose(back.weights, face.weights, atol=1e-6)
    np.testing.assert_allclose(back.head, face.head, atol=1e-5)
    np.testing.assert_allclose(back.gaze, face.gaze, atol=1e-5)


def test_body_glb_is_a_skinned_skeleton(glbs):
    folder, _, body = glbs
    gltf = pygltflib.GLTF2().load(str(folder / "body.glb"))
    skin = gltf.skins[0]
    assert [gltf.nodes[j].name for j in skin.joints] == list(body.skeleton.names)
    assert len(gltf.animations[0].channels) == body.skeleton.n_joints + 1  # every rotation + the root translation
    scene = trimesh.load(folder / "body.glb")
    low, high = scene.bounds
    assert 1.4 < high[1] - low[1] < 2.2  # a person-sized figure in metres, T-pose included


def test_body_glb_round_trip(glbs):
    folder, _, body = glbs
    back = read_body_glb(folder / "body.glb")
    assert isinstance(back, BodyTrack) and back.fps == body.fps and back.skeleton == body.skeleton
    np.testing.assert_allclose(back.root_positions, body.root_positions, atol=1e-4)
    np.testing.assert_allclose(back.positions(), body.positions(), atol=1e-3)  # centimetres


def test_reading_a_non_glb_fails_clearly(tmp_path):
    (tmp_path / "x.glb").write_bytes(b"not a glb at all")
    with pytest.raises(RigInputError, match="x.glb"):
        read_glb(tmp_path / "x.glb")


def test_glbs_pass_the_khronos_validator(tmp_path):
    reason = validator_available()
    if reason:
        pytest.skip(reason)
    write_face_glb(shape_tour(0.2), tmp_path / "face.glb")
    write_body_glb(arm_wave(1.0), tmp_path / "body.glb")
    for report in validate([tmp_path / "face.glb", tmp_path / "body.glb"]):
        assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
        assert report["issues"]["numWarnings"] == 0, report["issues"]["messages"]


def test_eye_nodes_sit_on_the_eyes_they_name(glbs):
    """leftEye sat on the character's right eye (x = -0.032) while eyeBlinkLeft moves vertices at x = +0.033."""
    folder, _, _ = glbs
    gltf = pygltflib.GLTF2().load(str(folder / "face.glb"))
    nodes = {node.name: node for node in gltf.nodes}
    pivot = np.array(nodes["head"].translation)
    mesh = gltf.meshes[0]
    blob = gltf.binary_blob()

    def accessor(index: int) -> np.ndarray:
        view = gltf.bufferViews[gltf.accessors[index].bufferView]
        return np.frombuffer(blob, np.float32, gltf.accessors[index].count * 3, view.byteOffset or 0).reshape(-1, 3)

    base = accessor(mesh.primitives[0].attributes.POSITION)
    for side in ("Left", "Right"):
        delta = accessor(mesh.primitives[0].targets[BLENDSHAPES.index(f"eyeBlink{side}")]["POSITION"])
        lid = base[np.linalg.norm(delta, axis=1) > 1e-4].mean(0) + nodes["face"].translation + pivot
        eye = np.array(nodes[f"{side.lower()}Eye"].translation) + pivot
        assert np.sign(eye[0]) == np.sign(lid[0]) == (1 if side == "Left" else -1)
        assert np.linalg.norm((eye - lid)[:2]) < 0.02  # the eyelid closes over this eye


def test_key_times_land_on_frames(glbs):
    """Blender converts key times to frames at the scene's rate: times k / fps, as exact as float32 allows."""
    folder, face, body = glbs
    for name, track in (("face.glb", face), ("body.glb", body)):
        gltf = pygltflib.GLTF2().load(str(folder / name))
        sampler = gltf.animations[0].samplers[0]
        accessor = gltf.accessors[sampler.input]
        view = gltf.bufferViews[accessor.bufferView]
        times = np.frombuffer(gltf.binary_blob(), np.float32, accessor.count, view.byteOffset or 0)
        frames = times.astype(np.float64) * track.fps
        np.testing.assert_allclose(frames, np.arange(track.n_frames), atol=1e-4)

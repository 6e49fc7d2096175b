"""Our exports loaded by the tools' own code: three.js's GLTFLoader and AnimationMixer (node), and Blender's BVH and
glTF importers (when `blender` is installed). Each test skips cleanly without its tool."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from rigs.body.floor import placed
from rigs.face.arkit import BLENDSHAPES, head_rotation
from rigs.face.track import FaceTrack
from rigs.formats.export import export
from rigs.formats.sample import arm_wave
from rigs.formats.validate import threejs_available, threejs_load
from rigs.rotations import quat_to_matrix


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tools")
    rng = np.random.default_rng(4)
    face = FaceTrack(rng.random((40, 52)), 25.0, rng.normal(0, 0.2, (40, 3)), rng.normal(0, 0.2, (40, 4)))
    body = arm_wave(2.0)
    export([face, body], ["glb", "bvh", "csv"], folder)
    return folder, face, body


@pytest.fixture(scope="module")
def three():
    reason = threejs_available()
    if reason:
        pytest.skip(reason)


def _matrix(xyzw) -> np.ndarray:
    x, y, z, w = xyzw
    return quat_to_matrix(np.array([w, x, y, z]))


def test_threejs_plays_the_face(files, three):
    folder, face, _ = files
    frames = [0, 7, 38]  # (at the clip's very end a looping action wraps to its start)
    seen = threejs_load(folder / "face.glb", [k / face.fps for k in frames])
    (mesh,) = seen["meshes"]
    assert mesh["morphNames"] == list(BLENDSHAPES) and not mesh["skinned"]
    (clip,) = seen["clips"]
    assert {track["name"] for track in clip["tracks"]} == {
        f"{mesh['name']}.morphTargetInfluences", "head.quaternion", "leftEye.quaternion", "rightEye.quaternion"}
    assert clip["duration"] == pytest.approx((face.n_frames - 1) / face.fps, abs=1e-5)
    for k, sample in zip(frames, seen["samples"], strict=True):
        np.testing.assert_allclose(sample["morph"][mesh["name"]], face.weights[k], atol=1e-5)
        np.testing.assert_allclose(_matrix(sample["nodes"]["head"]["quaternion"]), head_rotation(*face.head[k]),
                                   atol=1e-5)
        eye = head_rotation(face.gaze[k, 0], face.gaze[k, 1], 0.0)
        np.testing.assert_allclose(_matrix(sample["nodes"]["leftEye"]["quaternion"]), eye, atol=1e-5)
        nodes = sample["nodes"]
        head = np.array(nodes["head"]["world"])
        left, right = (_matrix(nodes["head"]["quaternion"]).T @ (np.array(nodes[eye]["world"]) - head)
                       for eye in ("leftEye", "rightEye"))
        assert left[0] > 0.02 > -0.02 > right[0]  # in the head's frame the left eye is at +X, the character's left


def test_threejs_skins_the_body_standing_on_the_floor(files, three):
    folder, _, body = files
    frames = [0, 20, 59]
    seen = threejs_load(folder / "body.glb", [k / body.fps for k in frames], vertices=True)
    (mesh,) = seen["meshes"]
    assert mesh["skinned"] and mesh["bones"] == list(body.skeleton.names)
    (clip,) = seen["clips"]
    assert len(clip["tracks"]) == body.skeleton.n_joints + 1  # every joint's rotation, and the root's position
    expected = placed(body, "feet").positions() * 0.01  # what export wrote: feet on the floor, metres
    for k, sample in zip(frames, seen["samples"], strict=True):
        joints = np.array([sample["nodes"][name]["world"] for name in body.skeleton.names])
        np.testing.assert_allclose(joints, expected[k], atol=1e-4)
        assert joints[:, 1].min() == pytest.approx(0.0, abs=0.005)  # the soles on y = 0
        vertices = np.array(sample["vertices"][mesh["name"]]).reshape(-1, 3)
        assert -0.005 < vertices[:, 1].min() and 1.6 < vertices[:, 1].max() < 2.2  # standing, not waist-deep


BLENDER_CHECK = r"""
import json, sys, bpy
folder = sys.argv[sys.argv.index("--") + 1]
out = {}
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=folder + "/body.bvh", global_scale=0.01, update_scene_fps=True,
                        update_scene_duration=True)
scene = bpy.context.scene
out["bvh_fps"] = [scene.render.fps, scene.render.fps_base]
armature = bpy.context.object
scene.frame_set(1)
out["bvh_lowest"] = min((armature.matrix_world @ bone.head).z for bone in armature.pose.bones)
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = 25
bpy.ops.import_scene.gltf(filepath=folder + "/face.glb")
keys = [mesh.shape_keys.key_blocks.keys() for mesh in bpy.data.meshes if mesh.shape_keys]
out["shape_keys"] = keys[0] if keys else []
frames = [point.co[0] for action in bpy.data.actions for curve in action.fcurves for point in curve.keyframe_points]
out["key_frames_off"] = max(abs(f - round(f)) for f in frames)
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = 30
bpy.ops.import_scene.gltf(filepath=folder + "/body.glb")
bpy.context.scene.frame_set(1)
armature = next(o for o in bpy.data.objects if o.type == "ARMATURE")
out["glb_lowest"] = min((armature.matrix_world @ bone.head).z for bone in armature.pose.bones)
print("RESULT" + json.dumps(out))
"""


def test_blender_imports_bvh_and_glb(files, tmp_path):
    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("blender is not installed")
    folder, _, _ = files
    script = tmp_path / "check.py"
    script.write_text(BLENDER_CHECK)
    result = subprocess.run([blender, "-b", "--factory-startup", "--python", str(script), "--", str(folder)],
                            capture_output=True, text=True, timeout=300, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("RESULT")), None)
    assert line, result.stdout[-2000:] + result.stderr[-2000:]
    out = json.loads(line[len("RESULT"):])
    assert out["bvh_fps"][0] == 30 and out["bvh_fps"][1] == pytest.approx(1.0, abs=1e-9)  # not 30.0003 fps
    assert abs(out["bvh_lowest"]) < 0.01 and abs(out["glb_lowest"]) < 0.01  # feet on the floor (Blender: Z up)
    assert out["shape_keys"][1:] == list(BLENDSHAPES)  # after Blender's "Basis"
    assert out["key_frames_off"] < 1e-3  # keys on whole frames when the scene runs at the track's rate

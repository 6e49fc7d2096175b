"""Joint-name maps from BEAT to Mixamo, Unity Humanoid and SMPL-X."""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

from rigs.body import BodyTrack, load_beat_skeleton
from rigs.body.retarget import (
    BEAT_JOINTS,
    BEAT_TO_MIXAMO,
    BEAT_TO_SMPLX,
    BEAT_TO_UNITY,
    MIXAMO_BONES,
    SMPLX_JOINTS,
    TARGETS,
    UNITY_HUMAN_BONES,
    joint_map,
    retarget_names,
    target_indices,
    vocabulary,
)
from rigs.errors import RigInputError


def test_beat_joint_list_is_the_shipped_skeleton():
    assert BEAT_JOINTS == load_beat_skeleton().names and len(BEAT_JOINTS) == 75


def test_vocabularies_have_their_published_sizes_and_anchors():
    assert len(MIXAMO_BONES) == 65 and len(set(MIXAMO_BONES)) == 65
    assert len(UNITY_HUMAN_BONES) == 55 and len(set(UNITY_HUMAN_BONES)) == 55
    # HumanBodyBones enum values
    unity = {name: i for i, name in enumerate(UNITY_HUMAN_BONES)}
    assert (unity["Hips"], unity["Spine"], unity["Jaw"], unity["LeftThumbProximal"]) == (0, 7, 23, 24)
    assert (unity["RightLittleDistal"], unity["UpperChest"]) == (53, 54)
    assert len(SMPLX_JOINTS) == 55 and SMPLX_JOINTS[:3] == ("pelvis", "left_hip", "right_hip")
    assert SMPLX_JOINTS.index("left_wrist") == 20 and SMPLX_JOINTS.index("right_thumb3") == 54


def test_smplx_order_matches_the_smplx_package():
    spec = importlib.util.find_spec("smplx")
    if spec is None or spec.origin is None:
        pytest.skip("smplx is not installed")
    # Run only its joint-name module: importing the package would load torch.
    names = runpy.run_path(str(Path(spec.origin).parent / "joint_names.py"))["JOINT_NAMES"]
    assert tuple(names[:55]) == SMPLX_JOINTS


@pytest.mark.parametrize("target", TARGETS)
def test_every_beat_joint_is_mapped_to_a_valid_name_or_none(target):
    mapping = joint_map(target)
    assert tuple(mapping) == BEAT_JOINTS
    targets = [name for name in mapping.values() if name is not None]
    assert set(targets) <= set(vocabulary(target))
    assert len(targets) == len(set(targets))  # injective: no two BEAT joints drive one target joint


def test_coverage_and_documented_gaps():
    # Mixamo: every bone gets a BEAT joint. Unity and SMPL-X: all but the jaw and eyes.
    assert set(BEAT_TO_MIXAMO.values()) - {None} == set(vocabulary("mixamo"))
    assert set(UNITY_HUMAN_BONES) - set(BEAT_TO_UNITY.values()) == {"Jaw", "LeftEye", "RightEye"}
    assert set(SMPLX_JOINTS) - set(BEAT_TO_SMPLX.values()) == {"jaw", "left_eye_smplhf", "right_eye_smplhf"}
    for mapping in (BEAT_TO_MIXAMO, BEAT_TO_UNITY, BEAT_TO_SMPLX):
        assert mapping["Spine2"] is None and mapping["Neck1"] is None and mapping["LeftHandIndex"] is None
        assert mapping["RightForeFoot"] is None


def test_key_correspondences():
    assert BEAT_TO_MIXAMO["Spine3"] == "mixamorig:Spine2" and BEAT_TO_MIXAMO["LeftArm"] == "mixamorig:LeftArm"
    assert BEAT_TO_MIXAMO["RightToeBaseEnd"] == "mixamorig:RightToe_End"
    assert BEAT_TO_UNITY["LeftArm"] == "LeftUpperArm" and BEAT_TO_UNITY["LeftForeArm"] == "LeftLowerArm"
    assert BEAT_TO_UNITY["RightHandPinky2"] == "RightLittleIntermediate" and BEAT_TO_UNITY["Spine3"] == "UpperChest"
    assert BEAT_TO_SMPLX["LeftShoulder"] == "left_collar" and BEAT_TO_SMPLX["LeftArm"] == "left_shoulder"
    assert BEAT_TO_SMPLX["RightForeArm"] == "right_elbow" and BEAT_TO_SMPLX["LeftToeBase"] == "left_foot"


def test_maps_keep_the_hierarchy():
    """A mapped joint's nearest mapped BEAT ancestor maps to its target parent's chain (checked for Mixamo)."""
    skeleton = load_beat_skeleton()
    mixamo_parent = {"mixamorig:LeftShoulder": "mixamorig:Spine2", "mixamorig:Neck": "mixamorig:Spine2",
                     "mixamorig:LeftHandThumb1": "mixamorig:LeftHand", "mixamorig:LeftToeBase": "mixamorig:LeftFoot",
                     "mixamorig:LeftHandIndex1": "mixamorig:LeftHand"}  # fmt: skip
    for child, parent in mixamo_parent.items():
        j = skeleton.names.index(next(b for b, m in BEAT_TO_MIXAMO.items() if m == child))
        ancestor = skeleton.parents[j]
        while BEAT_TO_MIXAMO[skeleton.names[ancestor]] is None:
            ancestor = skeleton.parents[ancestor]
        assert BEAT_TO_MIXAMO[skeleton.names[ancestor]] == parent


def test_target_indices():
    skeleton = load_beat_skeleton()
    unity = target_indices(skeleton, "unity")
    assert unity[skeleton.index("Hips")] == 0 and unity[skeleton.index("Spine3")] == 54
    assert unity[skeleton.index("Spine2")] == -1
    smplx = target_indices(skeleton, "SMPL-X")
    assert smplx[skeleton.index("RightHand")] == 21 and (smplx >= 0).sum() == 52


def test_retarget_names_of_a_track_keeps_its_motion():
    track = BodyTrack.rest(load_beat_skeleton(), 3, fps=15)
    track.rotations[:, 10] = 0.3
    renamed = retarget_names(track, "unity")
    assert renamed.skeleton.names[0] == "Hips" and "LeftUpperArm" in renamed.skeleton.names
    assert "Spine2" in renamed.skeleton.names  # no counterpart: keeps its BEAT name
    assert np.array_equal(renamed.rotations, track.rotations) and renamed.fps == 15
    assert np.array_equal(renamed.skeleton.offsets, track.skeleton.offsets)
    unprefixed = retarget_names(track.skeleton, "mixamo", mixamo_prefix="")
    assert unprefixed.names[3:5] == ("BEAT_Spine2", "Spine2")  # BEAT Spine2 has no counterpart; Spine3 is Spine2


def test_retarget_rejects_other_skeletons_and_targets():
    skeleton = load_beat_skeleton()
    with pytest.raises(RigInputError, match="unknown; use one of mixamo, unity, smplx"):
        joint_map("vrm")
    with pytest.raises(RigInputError, match="not BEAT joints"):
        retarget_names(retarget_names(skeleton, "smplx"), "unity")

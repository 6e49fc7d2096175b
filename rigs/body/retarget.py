"""Joint-name maps from the 75-joint BEAT skeleton to Mixamo, Unity Humanoid and SMPL-X, and renaming with them.

These are name correspondences only: the rigs' rest poses and bone axes differ, which a Humanoid importer (Unity's
Avatar, Blender's retargeters) or a rest-pose alignment resolves. Where BEAT has more joints in a chain than the
target, the ends of the chain are kept, so each target parent keeps the same children:

- Spine: BEAT has Spine, Spine1, Spine2, Spine3; the targets have three, so BEAT ``Spine2`` has no counterpart and
  ``Spine3`` (the parent of the neck and the collars) takes the target's top spine bone.
- Neck: BEAT ``Neck1`` (second neck joint) has no counterpart.
- Fingers: BEAT's index, ring and pinky metacarpals (``*HandIndex``, ``*HandRing``, ``*HandPinky``) have none; the
  fingertip joints (``*4``) map only to Mixamo's end bones.
- Feet: BEAT ``*ForeFoot`` (a short helper below the ankle) has none; ``*ToeBase`` is the ball of the foot (Mixamo
  ToeBase, Unity Toes, SMPL-X ``*_foot``); ``*ToeBaseEnd`` maps only to Mixamo's ``*Toe_End``.
- ``HeadEnd`` maps only to Mixamo's ``HeadTop_End``.
Joints without a counterpart map to None.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from rigs.body.skeleton import Skeleton
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError

SIDES = ("Left", "Right")
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")

BEAT_JOINTS: tuple[str, ...] = (
    "Hips", "Spine", "Spine1", "Spine2", "Spine3", "Neck", "Neck1", "Head", "HeadEnd",
    *(
        name
        for side in ("Right", "Left")
        for name in (
            f"{side}Shoulder", f"{side}Arm", f"{side}ForeArm", f"{side}Hand",
            *(f"{side}HandMiddle{k}" for k in range(1, 5)),
            *(f"{side}HandRing{k}" for k in ("", 1, 2, 3, 4)),
            *(f"{side}HandPinky{k}" for k in ("", 1, 2, 3, 4)),
            *(f"{side}HandIndex{k}" for k in ("", 1, 2, 3, 4)),
            *(f"{side}HandThumb{k}" for k in range(1, 5)),
        )
    ),
    *(
        f"{side}{part}"
        for side in ("Right", "Left")
        for part in ("UpLeg", "Leg", "Foot", "ForeFoot", "ToeBase", "ToeBaseEnd")
    ),
)  # fmt: skip

MIXAMO_PREFIX = "mixamorig:"
# The standard Mixamo skeleton (65 bones, eyes and jaw excluded), without the prefix.
MIXAMO_BONES: tuple[str, ...] = (
    "Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End",
    *(
        name
        for side in SIDES
        for name in (
            f"{side}Shoulder", f"{side}Arm", f"{side}ForeArm", f"{side}Hand",
            *(f"{side}Hand{finger}{k}" for finger in FINGERS for k in range(1, 5)),
        )
    ),
    *(f"{side}{part}" for side in SIDES for part in ("UpLeg", "Leg", "Foot", "ToeBase", "Toe_End")),
)  # fmt: skip

# UnityEngine.HumanBodyBones in enum order: the position is the enum value (LastBone = 55 is not a bone).
UNITY_HUMAN_BONES: tuple[str, ...] = (
    "Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot", "RightFoot",
    "Spine", "Chest", "Neck", "Head", "LeftShoulder", "RightShoulder", "LeftUpperArm", "RightUpperArm",
    "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand", "LeftToes", "RightToes", "LeftEye", "RightEye", "Jaw",
    *(
        f"{side}{finger}{phalanx}"
        for side in SIDES
        for finger in ("Thumb", "Index", "Middle", "Ring", "Little")
        for phalanx in ("Proximal", "Intermediate", "Distal")
    ),
    "UpperChest",
)  # fmt: skip

# The 55 SMPL-X skeleton joints in model order (the index is the joint's row in the model's joint regressor output).
SMPLX_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "jaw", "left_eye_smplhf",
    "right_eye_smplhf",
    *(
        f"{side}_{finger}{k}"
        for side in ("left", "right")
        for finger in ("index", "middle", "pinky", "ring", "thumb")
        for k in (1, 2, 3)
    ),
)  # fmt: skip


def _beat_to_mixamo() -> dict[str, str | None]:
    out: dict[str, str | None] = {name: None for name in BEAT_JOINTS}
    out.update(Hips="Hips", Spine="Spine", Spine1="Spine1", Spine3="Spine2", Neck="Neck", Head="Head")
    out["HeadEnd"] = "HeadTop_End"
    for side in SIDES:
        for part in ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot", "ToeBase"):
            out[side + part] = side + part
        out[f"{side}ToeBaseEnd"] = f"{side}Toe_End"
        for finger in FINGERS:
            for k in range(1, 5):
                out[f"{side}Hand{finger}{k}"] = f"{side}Hand{finger}{k}"
    return {beat: None if bone is None else MIXAMO_PREFIX + bone for beat, bone in out.items()}


def _beat_to_unity() -> dict[str, str | None]:
    out: dict[str, str | None] = {name: None for name in BEAT_JOINTS}
    out.update(Hips="Hips", Spine="Spine", Spine1="Chest", Spine3="UpperChest", Neck="Neck", Head="Head")
    parts = {
        "Shoulder": "Shoulder", "Arm": "UpperArm", "ForeArm": "LowerArm", "Hand": "Hand",
        "UpLeg": "UpperLeg", "Leg": "LowerLeg", "Foot": "Foot", "ToeBase": "Toes",
    }  # fmt: skip
    phalanges = {1: "Proximal", 2: "Intermediate", 3: "Distal"}
    for side in SIDES:
        for beat, unity in parts.items():
            out[side + beat] = side + unity
        for finger in FINGERS:
            for k, phalanx in phalanges.items():
                out[f"{side}Hand{finger}{k}"] = f"{side}{'Little' if finger == 'Pinky' else finger}{phalanx}"
    return out


def _beat_to_smplx() -> dict[str, str | None]:
    out: dict[str, str | None] = {name: None for name in BEAT_JOINTS}
    out.update(Hips="pelvis", Spine="spine1", Spine1="spine2", Spine3="spine3", Neck="neck", Head="head")
    parts = {
        "Shoulder": "collar", "Arm": "shoulder", "ForeArm": "elbow", "Hand": "wrist",
        "UpLeg": "hip", "Leg": "knee", "Foot": "ankle", "ToeBase": "foot",
    }  # fmt: skip
    for side in SIDES:
        for beat, smplx in parts.items():
            out[side + beat] = f"{side.lower()}_{smplx}"
        for finger in FINGERS:
            for k in (1, 2, 3):
                out[f"{side}Hand{finger}{k}"] = f"{side.lower()}_{finger.lower()}{k}"
    return out


BEAT_TO_MIXAMO = _beat_to_mixamo()
BEAT_TO_UNITY = _beat_to_unity()
BEAT_TO_SMPLX = _beat_to_smplx()
TARGETS = ("mixamo", "unity", "smplx")
_MAPS = {"mixamo": BEAT_TO_MIXAMO, "unity": BEAT_TO_UNITY, "smplx": BEAT_TO_SMPLX}
_VOCABULARIES = {
    "mixamo": tuple(MIXAMO_PREFIX + bone for bone in MIXAMO_BONES),
    "unity": UNITY_HUMAN_BONES,
    "smplx": SMPLX_JOINTS,
}


def _target(target: str) -> str:
    key = str(target).lower().replace("-", "").replace("_", "")
    if key not in _MAPS:
        raise RigInputError(f"retarget target {target!r} is unknown; use one of {', '.join(TARGETS)}")
    return key


def vocabulary(target: str) -> tuple[str, ...]:
    """All joint names of a target rig, in its canonical order (Mixamo with the "mixamorig:" prefix)."""
    return _VOCABULARIES[_target(target)]


def joint_map(target: str) -> dict[str, str | None]:
    """BEAT joint name -> target joint name (None where the target has no counterpart)."""
    return dict(_MAPS[_target(target)])


def _check_beat(skeleton: Skeleton) -> None:
    unknown = [name for name in skeleton.names if name not in BEAT_TO_MIXAMO]
    if unknown:
        raise RigInputError(
            f"skeleton joints {', '.join(unknown[:5])} are not BEAT joints; these maps are for the BEAT skeleton "
            "(rigs.body.load_beat_skeleton)"
        )


def target_indices(skeleton: Skeleton, target: str) -> np.ndarray:
    """For each joint of a BEAT skeleton, its index in the target's vocabulary (-1 if none).

    For Unity this is the HumanBodyBones enum value; for SMPL-X the joint index.
    """
    _check_beat(skeleton)
    names, mapping = vocabulary(target), _MAPS[_target(target)]
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup.get(mapping[name], -1) for name in skeleton.names], dtype=np.int64)


Rigged = TypeVar("Rigged", Skeleton, BodyTrack)


def retarget_names(obj: Rigged, target: str, *, mixamo_prefix: str = MIXAMO_PREFIX) -> Rigged:
    """A copy of a BEAT skeleton or track with joints renamed to the target's names.

    Joints without a counterpart keep their BEAT name ("BEAT_" prefixed if a target joint has it).
    `mixamo_prefix` replaces "mixamorig:" (e.g. "" or "mixamorig1:") for Mixamo targets.
    """
    skeleton = obj.skeleton if isinstance(obj, BodyTrack) else obj
    if not isinstance(skeleton, Skeleton):
        raise RigInputError(f"cannot retarget a {type(obj).__name__}; give a Skeleton or a BodyTrack")
    _check_beat(skeleton)
    key = _target(target)
    mapped = {}
    for name in skeleton.names:
        new = _MAPS[key][name]
        if new is not None and key == "mixamo":
            new = mixamo_prefix + new.removeprefix(MIXAMO_PREFIX)
        mapped[name] = new
    taken = {new for new in mapped.values() if new is not None}
    # An unmapped BEAT name can equal a target name (BEAT "Spine2" vs unprefixed Mixamo "Spine2"): mark it.
    names = [new if new is not None else f"BEAT_{name}" if name in taken else name for name, new in mapped.items()]
    renamed = skeleton.with_names(names)
    if isinstance(obj, BodyTrack):
        return BodyTrack(renamed, obj.fps, obj.rotations.copy(), obj.root_positions.copy())
    return renamed

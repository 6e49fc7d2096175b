"""SMPL-X pose files (``body.npz``) for the research ecosystem (EMAGE, TalkSHOW, BEAT2), retargeted from the BEAT
skeleton.

The file holds what BEAT2's SMPL-X files hold:

- ``poses`` (T, 165) float32: axis-angle (radians) of the 55 SMPL-X joints in model order (``SMPLX_JOINTS``):
  global orient (0:3), body (3:66), jaw (66:69), left eye (69:72), right eye (72:75), left hand (75:120), right
  hand (120:165);
- ``trans`` (T, 3) float32: the pelvis translation in metres, the BEAT root's motion from its rest offset;
- ``betas`` (300,) float32: zeros, the mean shape (BEAT2 uses 300; take the first ``num_betas`` of your model);
- ``expressions`` (T, 100) float32: zeros (the face is in ``face.json``/``face.csv``, not in SMPL-X's expression
  space);
- ``mocap_frame_rate`` () float32: the track's fps; ``gender`` "neutral", ``model`` "smplx".

Load with ``smplx.create(path, model_type="smplx", use_pca=False, flat_hand_mean=True, num_betas=...)``: the hand
poses are absolute (relative to the flat hand), so ``flat_hand_mean=True``. The SMPL-X body model files are licensed
by their authors (smpl-x.is.tue.mpg.de) and are not shipped; only these pose arrays are written.

Retargeting. BVH rest poses and SMPL-X's zero pose both have every joint frame aligned with the world (a T-pose, Y
up, facing +Z, +X the character's left), so a joint's world rotation carries over: each SMPL-X joint takes the world
rotation of its BEAT counterpart (``rigs.body.retarget.BEAT_TO_SMPLX``: Hips -> pelvis, Spine -> spine1, Spine1 ->
spine2, Spine3 -> spine3, Neck -> neck, Head -> head, *Shoulder -> collar, *Arm -> shoulder, *ForeArm -> elbow, *Hand
-> wrist, *UpLeg -> hip, *Leg -> knee, *Foot -> ankle, *ToeBase -> foot, fingers 1-3 -> 1-3), and its local rotation
is its parent's world rotation inverted times its own. BEAT joints without a counterpart (Spine2, Neck1, the
metacarpals, ForeFoot, the end joints) pass their rotation on to the next mapped joint; jaw and eyes stay at zero.
World rotations match exactly; joint positions follow SMPL-X's own bone lengths, and differences between BEAT's rest
directions and SMPL-X's (e.g. its slightly spread legs and curved fingers at rest) remain as constant offsets.
"""

from __future__ import annotations

import os

import numpy as np

from rigs.body.retarget import BEAT_TO_SMPLX, SMPLX_JOINTS
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError
from rigs.fileio import atomic_path
from rigs.rotations import matrix_to_axis_angle

# SMPL-X's kinematic tree (the model's kintree_table[0]) for the body, jaw and eyes; each finger is then a chain of
# three joints from its wrist (20 left, 21 right), fingers in SMPLX_JOINTS order.
_BODY_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15)
PARENTS = np.array(_BODY_PARENTS + tuple(
    parent for wrist in (20, 21) for finger in range(5)
    for parent in (wrist, 25 + 15 * (wrist - 20) + 3 * finger, 26 + 15 * (wrist - 20) + 3 * finger)))
N_BETAS, N_EXPRESSIONS = 300, 100
_METRES_PER_UNIT = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}


def smplx_poses(track: BodyTrack) -> tuple[np.ndarray, np.ndarray]:
    """Axis-angle poses (T, 165) and pelvis translation (T, 3, metres) of a BEAT-skeleton track."""
    skeleton = track.skeleton
    mapped = {smplx: beat for beat, smplx in BEAT_TO_SMPLX.items() if smplx is not None}
    missing = [beat for beat in mapped.values() if beat not in skeleton.names]
    if missing:
        raise RigInputError(f"the SMPL-X export needs the BEAT skeleton; this one lacks {', '.join(missing[:5])}")
    if skeleton.units not in _METRES_PER_UNIT:
        raise RigInputError(f"skeleton units {skeleton.units!r} unknown; use one of {', '.join(_METRES_PER_UNIT)}")
    world = skeleton.forward_kinematics(track.rotations).rotations.astype(np.float64)  # (T, J, 3, 3)
    n = track.n_frames
    smplx_world = np.empty((n, len(SMPLX_JOINTS), 3, 3))
    local = np.empty_like(smplx_world)
    for s, name in enumerate(SMPLX_JOINTS):
        parent = PARENTS[s]
        if name in mapped:
            smplx_world[:, s] = world[:, skeleton.index(mapped[name])]
        else:
            smplx_world[:, s] = smplx_world[:, parent]  # jaw and eyes: no rotation of their own
        local[:, s] = smplx_world[:, s] if parent < 0 else smplx_world[:, parent].swapaxes(-1, -2) @ smplx_world[:, s]
    poses = matrix_to_axis_angle(local).reshape(n, -1)
    scale = _METRES_PER_UNIT[skeleton.units]
    trans = (track.root_positions.astype(np.float64) - skeleton.offsets[0]) * scale
    return poses.astype(np.float32), trans.astype(np.float32)


def write_smplx_npz(track: BodyTrack, path: str | os.PathLike) -> None:
    """Write a BEAT-skeleton track as an SMPL-X pose file (BEAT2's keys; see the module docstring)."""
    poses, trans = smplx_poses(track)
    arrays = {
        "poses": poses, "trans": trans, "betas": np.zeros(N_BETAS, np.float32),
        "expressions": np.zeros((track.n_frames, N_EXPRESSIONS), np.float32),
        "mocap_frame_rate": np.float32(track.fps), "gender": np.array("neutral"), "model": np.array("smplx"),
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)

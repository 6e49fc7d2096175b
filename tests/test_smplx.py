"""SMPL-X pose export (body.npz): the arrays' layout, and forward kinematics with our own skeleton of SMPL-X's
topology, both by our code and by the `smplx` package's own layer on a synthetic model (the real model files are
licensed by their authors and not available here)."""

from __future__ import annotations

import numpy as np
import pytest

from rigs.body.retarget import BEAT_TO_SMPLX, SMPLX_JOINTS
from rigs.body.skeleton import load_beat_skeleton
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError
from rigs.formats.export import export
from rigs.formats.sample import arm_wave
from rigs.formats.smplx import PARENTS, smplx_poses
from rigs.rotations import axis_angle_to_matrix

SMPLX_TO_BEAT = {smplx: beat for beat, smplx in BEAT_TO_SMPLX.items() if smplx is not None}
# BEAT joints that SMPL-X skips: their rotations pass on to the next mapped joint.
SKIPPED = [name for name, target in BEAT_TO_SMPLX.items() if target is None]


def random_track(still_skipped: bool, n: int = 12, seed: int = 0) -> BodyTrack:
    skeleton = load_beat_skeleton()
    rng = np.random.default_rng(seed)
    rotations = rng.normal(0, 0.5, (n, skeleton.n_joints, 3))
    if still_skipped:
        rotations[:, [skeleton.index(name) for name in SKIPPED]] = 0.0
    root = rng.normal(0, 5, (n, 3))
    return BodyTrack(skeleton, 30.0, rotations, root)


def smplx_rest_joints() -> np.ndarray:
    """Our SMPL-X-topology skeleton at rest: each joint where its BEAT counterpart is (jaw and eyes near the head)."""
    skeleton = load_beat_skeleton()
    rest = skeleton.rest_positions().astype(np.float64) * 0.01
    head = rest[skeleton.index("Head")]
    extra = {"jaw": head + [0, -0.05, 0.08], "left_eye_smplhf": head + [0.03, 0.05, 0.09],
             "right_eye_smplhf": head + [-0.03, 0.05, 0.09]}
    return np.array([extra[name] if name in extra else rest[skeleton.index(SMPLX_TO_BEAT[name])]
                     for name in SMPLX_JOINTS])


def smplx_fk(poses: np.ndarray, trans: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (T, 55, 3, 3) and positions (T, 55, 3) of SMPL-X's kinematic tree, our own implementation."""
    local = axis_angle_to_matrix(poses.reshape(len(poses), 55, 3).astype(np.float64))
    world = np.empty_like(local)
    positions = np.empty((len(poses), 55, 3))
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            world[:, j] = local[:, j]
            positions[:, j] = joints[j] + trans
        else:
            world[:, j] = world[:, parent] @ local[:, j]
            positions[:, j] = positions[:, parent] + world[:, parent] @ (joints[j] - joints[parent])
    return world, positions


def test_body_npz_layout(tmp_path):
    track = arm_wave(1.0)
    (path,) = export(track, ["smplx"], tmp_path)
    assert path.name == "body.npz"
    with np.load(path) as data:
        assert set(data.files) == {"poses", "trans", "betas", "expressions", "mocap_frame_rate", "gender", "model"}
        assert data["poses"].shape == (30, 165) and data["poses"].dtype == np.float32
        assert data["trans"].shape == (30, 3) and data["betas"].shape == (300,) and not data["betas"].any()
        assert data["expressions"].shape == (30, 100) and float(data["mocap_frame_rate"]) == 30.0
        assert str(data["gender"]) == "neutral" and str(data["model"]) == "smplx"
        poses = data["poses"].reshape(30, 55, 3)
    # The waving arms move the shoulders and elbows; legs, jaw and eyes stay still.
    moving = np.abs(poses).max(axis=(0, 2)) > 1e-4
    assert {SMPLX_JOINTS[j] for j in np.flatnonzero(moving)} == {"left_shoulder", "right_shoulder", "left_elbow",
                                                                 "right_elbow"}


def test_world_rotations_carry_over_exactly():
    track = random_track(still_skipped=False)
    poses, trans = smplx_poses(track)
    world, _ = smplx_fk(poses, trans, smplx_rest_joints())
    beat_world = track.skeleton.forward_kinematics(track.rotations).rotations
    for j, name in enumerate(SMPLX_JOINTS):
        if name in SMPLX_TO_BEAT:
            np.testing.assert_allclose(world[:, j], beat_world[:, track.skeleton.index(SMPLX_TO_BEAT[name])],
                                       atol=2e-5, err_msg=name)


def test_joint_positions_match_when_the_skipped_joints_are_still():
    """With Spine2, Neck1, the metacarpals and ForeFoot at rest, SMPL-X's chain reproduces BEAT's joints."""
    track = random_track(still_skipped=True)
    poses, trans = smplx_poses(track)
    _, positions = smplx_fk(poses, trans, smplx_rest_joints())
    beat = track.positions() * 0.01
    for j, name in enumerate(SMPLX_JOINTS):
        if name in SMPLX_TO_BEAT:
            np.testing.assert_allclose(positions[:, j], beat[:, track.skeleton.index(SMPLX_TO_BEAT[name])],
                                       atol=1e-5, err_msg=name)


def test_a_raised_left_arm_is_a_left_shoulder_rotation():
    skeleton = load_beat_skeleton()
    track = BodyTrack.rest(skeleton, 1)
    arm = skeleton.index("LeftArm")
    track.rotations[0, arm, skeleton.rotation_orders[arm].index("Z")] = np.pi / 2  # arm from +X up to +Y
    poses, _ = smplx_poses(track)
    np.testing.assert_allclose(poses[0].reshape(55, 3)[SMPLX_JOINTS.index("left_shoulder")], [0, 0, np.pi / 2],
                               atol=1e-6)
    assert np.abs(np.delete(poses[0].reshape(55, 3), SMPLX_JOINTS.index("left_shoulder"), 0)).max() < 1e-6


def test_other_skeletons_are_refused():
    skeleton = load_beat_skeleton().with_names([f"j{k}" for k in range(75)])
    with pytest.raises(RigInputError, match="BEAT skeleton"):
        smplx_poses(BodyTrack.rest(skeleton, 2))


def synthetic_smplx_model(path, joints: np.ndarray) -> None:
    """A stand-in SMPLX_NEUTRAL.npz: one vertex on each joint (J_regressor picks it), rigidly skinned, no shape or
    pose correctives; the rest of the vertex array only fills the indices smplx's landmark tables refer to."""
    n_vertices = 10475
    vertices = np.zeros((n_vertices, 3))
    vertices[:55] = joints
    weights = np.zeros((n_vertices, 55))
    weights[np.arange(55), np.arange(55)] = 1.0
    weights[55:, 0] = 1.0
    regressor = np.zeros((55, n_vertices))
    regressor[np.arange(55), np.arange(55)] = 1.0
    faces = np.arange(3 * 100).reshape(100, 3) % n_vertices
    np.savez(path, v_template=vertices, f=faces, J_regressor=regressor, weights=weights,
             kintree_table=np.stack([np.where(PARENTS < 0, 4294967295, PARENTS), np.arange(55)]),
             shapedirs=np.zeros((n_vertices, 3, 20)), posedirs=np.zeros((n_vertices, 3, 486)),
             hands_componentsl=np.eye(45), hands_componentsr=np.eye(45), hands_meanl=np.full(45, 0.3),
             hands_meanr=np.full(45, 0.3), lmk_faces_idx=np.zeros(51, np.int64),
             lmk_bary_coords=np.full((51, 3), 1 / 3),
             dynamic_lmk_faces_idx=np.zeros((79, 17), np.int64), dynamic_lmk_bary_coords=np.full((79, 17, 3), 1 / 3))


def test_the_smplx_layer_poses_our_skeleton(tmp_path):
    smplx = pytest.importorskip("smplx")
    torch = pytest.importorskip("torch")
    joints = smplx_rest_joints()
    synthetic_smplx_model(tmp_path / "SMPLX_NEUTRAL.npz", joints)
    track = random_track(still_skipped=True, n=4)
    export(track, ["smplx"], tmp_path)
    with np.load(tmp_path / "body.npz") as data:
        poses, trans, betas = data["poses"], data["trans"], data["betas"]
    n = len(poses)
    model = smplx.create(str(tmp_path / "SMPLX_NEUTRAL.npz"), model_type="smplx", gender="neutral", use_pca=False,
                         flat_hand_mean=True, num_betas=10, batch_size=n)

    def part(start: int, stop: int):
        return torch.from_numpy(poses[:, start:stop])

    with torch.no_grad():
        output = model(betas=torch.from_numpy(np.tile(betas[:10], (n, 1))), global_orient=part(0, 3),
                       body_pose=part(3, 66), jaw_pose=part(66, 69), leye_pose=part(69, 72), reye_pose=part(72, 75),
                       left_hand_pose=part(75, 120), right_hand_pose=part(120, 165), transl=torch.from_numpy(trans))
    _, ours = smplx_fk(poses, trans, joints)
    np.testing.assert_allclose(output.joints[:, :55].numpy(), ours, atol=1e-5)
    beat = track.positions() * 0.01
    wrist = track.skeleton.index("LeftHand")
    np.testing.assert_allclose(output.joints[:, SMPLX_JOINTS.index("left_wrist")].numpy(), beat[:, wrist], atol=1e-5)

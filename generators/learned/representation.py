"""How tracks and conditions become the learned generators' arrays, and back. Every array is float32 at 30 fps.

- content (T, 114): the front end's frame features, so audio-only input works (its phones come from the front
  end's alignment, which recognizes a transcript when none is given):
  - acoustic (84): log-mel (80, ln power, shifted and scaled by fixed constants), loudness in dB (scaled), log-F0
    in semitones re 150 Hz /12 (0 when unvoiced), voicing probability, onset strength (scaled);
  - articulation (30): the 15-viseme track (generators.visemes) at the frame and VISEME_LEAD frames ahead. The
    spectrum alone hardly tells a /p/ closure from a /t/ one (both are silence), and the decoders are causal, so
    they are told what the mouth does now and what it is about to do (the teacher's lips anticipate by ~60 ms).
- emotion (T, 11): the display vector (8 = categories x intensity, EMOTIONS order) and valence/arousal/dominance.
- style (6,): avatar.frontend.style.Style.vector() (STYLE_DIMS), zeros when unknown.
- face (T, 59): the 52 ARKit weights, head yaw/pitch/roll and per-eye gaze yaw/pitch (radians).
- body (T, 51 x 6): the 6D rotations (first two matrix columns) of BODY_JOINTS, the joints the gestures move:
  spine to head, shoulders, arms, hands and fingers, without end joints. The root stays at its rest offset and
  the legs hold the procedural animator's stance, as the generators' data never moves them.
"""

from __future__ import annotations

import numpy as np

from generators.conditioning import EMOTIONS, Content, EmotionFrames
from generators.visemes import VISEMES, viseme_track
from rigs.body.skeleton import Skeleton, load_beat_skeleton
from rigs.body.track import BodyTrack
from rigs.face.arkit import BLENDSHAPES, INDEX
from rigs.face.track import FaceTrack
from rigs.rotations import matrix_to_rot6d, rot6d_sequence_to_matrix

FPS = 30.0
ACOUSTIC_DIM = 84
VISEME_LEAD = 3  # frames (100 ms)
CONTENT_DIM = ACOUSTIC_DIM + 2 * len(VISEMES)
EMOTION_DIM = len(EMOTIONS) + 3
STYLE_DIM = 6
FACE_DIM = 52 + 3 + 4
# Face channels of short events that the speech does not time: blinks, eye movements and the gaze angles.
FACE_EVENTS = (*(INDEX[n] for n in BLENDSHAPES if n.startswith(("eyeBlink", "eyeLook"))), 55, 56, 57, 58)
_MEL_SHIFT, _MEL_SCALE = 6.0, 4.0
_DB_SHIFT, _DB_SCALE = 40.0, 20.0
_ONSET_SCALE = 5.0


def body_joints(skeleton: Skeleton) -> tuple[str, ...]:
    """The joints the learned body moves: Spine..fingers, without Hips, legs and end joints."""
    legs = ("UpLeg", "Leg", "Foot", "ForeFoot", "ToeBase")
    return tuple(n for n in skeleton.names[1:] if not n.endswith(("End", "4")) and not any(
        n.endswith(side + leg) or n == side + leg for leg in legs for side in ("Right", "Left")))


BODY_JOINTS = body_joints(load_beat_skeleton())
BODY_DIM = 6 * len(BODY_JOINTS)


def content_features(content: Content) -> np.ndarray:
    """(T, 114) content features of a Content (it must carry log_mel)."""
    return np.concatenate([acoustic_features(content),
                           articulation_features(content.phones, content.n_frames, content.fps)], axis=1)


def articulation_features(phones, n_frames: int, fps: float = FPS) -> np.ndarray:
    """(T, 30) viseme shares of each frame and of the frame VISEME_LEAD ahead, from (start, end, label) phones."""
    now = viseme_track(phones, fps, n_frames)
    ahead = now[np.minimum(np.arange(n_frames) + VISEME_LEAD, max(n_frames - 1, 0))]
    return np.concatenate([now, ahead], axis=1).astype(np.float32)


def acoustic_features(content: Content) -> np.ndarray:
    """(T, 84) acoustic content features of a Content (it must carry log_mel); what a corpus stores."""
    if content.log_mel is None:
        raise ValueError("the learned generators need log-mel features: build Content with log_mel")
    db = 20 * np.log10(content.rms.astype(np.float64) + 1e-5)
    f0 = np.where(content.f0_hz > 0, 12 * np.log2(np.maximum(content.f0_hz, 1.0) / 150.0) / 12, 0.0)
    columns = [(content.log_mel + _MEL_SHIFT) / _MEL_SCALE, ((db + _DB_SHIFT) / _DB_SCALE)[:, None], f0[:, None],
               content.voiced[:, None], (content.onset / _ONSET_SCALE)[:, None]]
    return np.concatenate(columns, axis=1).astype(np.float32)


def emotion_features(emotion: EmotionFrames) -> np.ndarray:
    """(T, 11) display vector and VAD of an emotion curve."""
    display = emotion.categories * emotion.intensity[:, None]
    return np.concatenate([display, emotion.vad], axis=1).astype(np.float32)


def face_features(track: FaceTrack) -> np.ndarray:
    """(T, 59) weights, head and gaze of a face track."""
    n = track.n_frames
    head = track.head if track.head is not None else np.zeros((n, 3), np.float32)
    gaze = track.gaze if track.gaze is not None else np.zeros((n, 4), np.float32)
    return np.concatenate([track.weights, head, gaze], axis=1).astype(np.float32)


def face_track(features: np.ndarray, fps: float = FPS) -> FaceTrack:
    """A face track from (T, 59) features (weights clipped to [0, 1])."""
    features = np.asarray(features, np.float32)
    return FaceTrack(np.clip(features[:, :52], 0, 1), fps, features[:, 52:55].copy(), features[:, 55:59].copy())


def body_features(track: BodyTrack) -> np.ndarray:
    """(T, 306) 6D rotations of BODY_JOINTS of a body track on the BEAT skeleton (or one with its names)."""
    matrices = track.matrices()
    index = [track.skeleton.index(name) for name in BODY_JOINTS]
    return matrix_to_rot6d(matrices[:, index]).reshape(track.n_frames, -1).astype(np.float32)


def body_track(features: np.ndarray, fps: float = FPS, skeleton: Skeleton | None = None,
               stance: BodyTrack | None = None) -> BodyTrack:
    """A body track from (T, 306) features; the other joints come from `stance` (frame 0) or the rest pose."""
    skeleton = load_beat_skeleton() if skeleton is None else skeleton
    features = np.asarray(features, np.float64)
    n = len(features)
    base = stance if stance is not None else BodyTrack.rest(skeleton, 1, fps)
    matrices = np.repeat(base.matrices()[:1], n, axis=0)
    index = [skeleton.index(name) for name in BODY_JOINTS]
    matrices[:, index] = rot6d_sequence_to_matrix(features.reshape(n, len(BODY_JOINTS), 6))
    root = np.repeat(base.root_positions[:1], n, axis=0)
    return BodyTrack.from_matrices(skeleton, matrices, root, fps, start=base.rotations[0])


def stance_track(skeleton: Skeleton | None = None) -> BodyTrack:
    """One frame of the procedural animator's standing stance (legs and root), for body_track()."""
    from generators.procedural.posture import _UPLEG_REST

    skeleton = load_beat_skeleton() if skeleton is None else skeleton
    euler = np.zeros((1, skeleton.n_joints, 3))
    euler[0, skeleton.index("RightUpLeg")] = np.radians(_UPLEG_REST)
    euler[0, skeleton.index("LeftUpLeg")] = np.radians(_UPLEG_REST * np.array([1.0, -1.0, -1.0]))
    return BodyTrack(skeleton, FPS, euler.astype(np.float32), skeleton.offsets[:1].astype(np.float32))

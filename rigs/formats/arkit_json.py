"""ARKit blendshape JSON in the two layouts users meet: BEAT's facial52 and NVIDIA Audio2Face's export.

BEAT (``layout="beat"``): ``{"names": [52 names], "fps": 60, "frames": [{"time": s, "weights": [52]}, …]}``, as in
BEAT's per-take face files. The BEAT layout means 60 fps: BEAT's takes are captured at 60 fps and its loaders step
through ``frames`` assuming that rate (ignoring ``time``), so a track at any other rate is resampled to 60 fps when
written (linear interpolation; a 30 fps track's frames are every second frame of the file, exactly). We add ``"fps"``
and, per frame, ``"head"`` (yaw, pitch, roll) and ``"gaze"`` (left yaw, left pitch, right yaw, right pitch) in
radians (``rigs.face.arkit``'s convention); BEAT's loaders read only ``weights`` and ignore them.

Audio2Face (``layout="audio2face"``): ``{"exportFps", "trackPath", "numPoses", "numFrames", "facsNames",
"weightMat": [[52] per frame], "joints", "rotations", "translations"}`` at the track's own rate, the keys of a
blendshape export from recent Audio2Face releases (2023.x) as public readers consume them: ``joints`` names the
animated joints (``eye_L``, ``eye_R``), ``rotations[frame][joint]`` is a quaternion (x, y, z, w) and
``translations[frame][joint]`` a position (x, y, z, centimetres, relative to the head's pivot: the eyes do not move).
Axes as Audio2Face's stage: Y up, the face looks along +Z, +X is the character's left. Head rotation has no place in
this layout and reads back as zero; older exports (no ``joints``) read too, with zero gaze. Not checked against an
Audio2Face installation: no Audio2Face was available here.
"""

from __future__ import annotations

import json
import os
from typing import Literal

import numpy as np

from rigs.errors import RigInputError
from rigs.face.arkit import BLENDSHAPES, head_angles, head_rotation
from rigs.face.track import FaceTrack, weights_by_name
from rigs.fileio import write_text_atomic
from rigs.rotations import quat_from_matrix, quat_to_matrix

Layout = Literal["beat", "audio2face"]
LAYOUTS: tuple[str, ...] = ("beat", "audio2face")
BEAT_FPS = 60.0  # the rate BEAT's face files are captured at, and that its loaders assume
A2F_EYE_JOINTS = ("eye_L", "eye_R")


def _eye_quaternions(track: FaceTrack) -> np.ndarray:
    """(T, 2, 4) x, y, z, w quaternions of the left and right eye's gaze rotation."""
    gaze = track.gaze.astype(np.float64)
    eyes = [head_rotation(gaze[:, 2 * k], gaze[:, 2 * k + 1], 0.0 * gaze[:, 0]) for k in (0, 1)]
    return quat_from_matrix(np.stack(eyes, 1))[..., [1, 2, 3, 0]]


def _eye_translations(n_frames: int) -> np.ndarray:
    """(T, 2, 3) eye centres in centimetres relative to the head's pivot, left eye first."""
    from rigs.face.mesh import load_face_mesh
    from rigs.face.mesh_parts import LEFT, RIGHT

    mesh = load_face_mesh()
    centres = (np.asarray(mesh.eye_centers)[[LEFT, RIGHT]] - np.asarray(mesh.head_pivot)) * 100.0
    return np.broadcast_to(centres, (n_frames, 2, 3))


def write_arkit_json(track: FaceTrack, path: str | os.PathLike, layout: Layout = "beat", source: str = "") -> None:
    """Write a face track as ARKit blendshape JSON in BEAT's or Audio2Face's layout."""
    def rounded(values: np.ndarray) -> list:
        return (np.round(np.asarray(values, np.float64), 6) + 0.0).tolist()

    if layout == "beat":
        track = track if track.fps == BEAT_FPS else track.resampled(BEAT_FPS)
        frames = [{"time": round(i / BEAT_FPS, 6), "weights": w, "head": h, "gaze": g}
                  for i, (w, h, g) in enumerate(zip(*map(rounded, (track.weights, track.head, track.gaze)),
                                                    strict=True))]
        document = {"names": list(BLENDSHAPES), "fps": BEAT_FPS, "frames": frames}
    elif layout == "audio2face":
        document = {"exportFps": track.fps, "trackPath": source, "numPoses": len(BLENDSHAPES),
                    "numFrames": track.n_frames, "facsNames": list(BLENDSHAPES), "weightMat": rounded(track.weights),
                    "joints": list(A2F_EYE_JOINTS), "rotations": rounded(_eye_quaternions(track)),
                    "translations": rounded(_eye_translations(track.n_frames))}
    else:
        raise RigInputError(f"unknown ARKit JSON layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    write_text_atomic(path, json.dumps(document, separators=(",", ":")))


def _matrix(rows, width: int, where: str) -> np.ndarray:
    try:
        array = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise RigInputError(f"{where}: frames are not lists of numbers ({error})") from error
    if array.ndim != 2 or array.shape[1] != width:
        raise RigInputError(f"{where}: frames have shape {array.shape}; expected (frames, {width})")
    return array


def _a2f_gaze(document: dict, n_frames: int, where: str) -> np.ndarray | None:
    """Gaze (T, 4) from an Audio2Face export's eye joints, or None when it has none."""
    joints = document.get("joints") or []
    if not all(name in joints for name in A2F_EYE_JOINTS) or "rotations" not in document:
        return None
    try:
        rotations = np.asarray(document["rotations"], np.float64)
    except (TypeError, ValueError) as error:
        raise RigInputError(f"{where}: 'rotations' are not lists of numbers ({error})") from error
    if rotations.shape != (n_frames, len(joints), 4):
        raise RigInputError(f"{where}: 'rotations' have shape {rotations.shape}; expected ({n_frames}, "
                            f"{len(joints)}, 4) (frames, joints, x y z w)")
    eyes = rotations[:, [joints.index(name) for name in A2F_EYE_JOINTS]][..., [3, 0, 1, 2]]
    return head_angles(quat_to_matrix(eyes))[..., :2].reshape(n_frames, 4)


def read_arkit_json(path: str | os.PathLike, fps: float | None = None) -> FaceTrack:
    """Read ARKit blendshape JSON in BEAT's or Audio2Face's layout (told apart by their keys)."""
    try:
        document = json.loads(open(path, encoding="utf-8").read())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RigInputError(f"cannot read ARKit JSON {path}: {error}") from error
    if not isinstance(document, dict):
        raise RigInputError(f"{path} is not a JSON object; expected BEAT's or Audio2Face's blendshape layout")

    if "weightMat" in document:
        names = document.get("facsNames", list(BLENDSHAPES))
        rows = _matrix(document["weightMat"], len(names), str(path))
        weights = weights_by_name(rows, names, str(path))
        return FaceTrack(np.clip(weights, 0, 1), fps or float(document.get("exportFps", 30.0)), None,
                         _a2f_gaze(document, len(rows), str(path)))

    if "frames" in document:
        frames = document["frames"]
        if not frames:
            raise RigInputError(f"{path} holds no frames")
        names = document.get("names", list(BLENDSHAPES))
        rows = _matrix([frame.get("weights") for frame in frames], len(names), str(path))
        weights = weights_by_name(rows, names, str(path))
        if fps is None:
            fps = document.get("fps")
        if fps is None:
            times = np.array([frame.get("time", np.nan) for frame in frames], dtype=np.float64)
            steps = np.diff(times)
            if len(steps) == 0 or not np.all(np.isfinite(steps)) or np.median(steps) <= 0:
                raise RigInputError(f"{path} has no usable frame times; pass fps= (BEAT face files are 60 fps)")
            fps = float(np.round(1.0 / np.median(steps), 3))
        head = gaze = None
        if all("head" in frame for frame in frames):
            head = _matrix([frame["head"] for frame in frames], 3, str(path))
        if all("gaze" in frame for frame in frames):
            gaze = _matrix([frame["gaze"] for frame in frames], 4, str(path))
        return FaceTrack(np.clip(weights, 0, 1), fps, head, gaze)

    raise RigInputError(f"{path} has neither 'frames' (BEAT layout) nor 'weightMat' (Audio2Face layout)")


"""ARKit blendshape JSON in the two layouts users meet: BEAT's facial52 and NVIDIA Audio2Face's export.

BEAT (``layout="beat"``): ``{"names": [52 names], "frames": [{"time": s, "weights": [52]}, …]}``, as in BEAT's
per-take face files (60 fps there). We add ``"head"`` (yaw, pitch, roll) and ``"gaze"`` (left yaw, left pitch, right
yaw, right pitch) per frame, in radians; BEAT's loaders read only ``weights`` and ignore them.

Audio2Face (``layout="audio2face"``): ``{"exportFps", "trackPath", "numPoses", "numFrames", "facsNames",
"weightMat": [[52] per frame]}``, the layout of Audio2Face's blendshape export. It has no head or gaze: those are
lost when writing it and read back as zero.
"""

from __future__ import annotations

import json
import os
from typing import Literal

import numpy as np

from rigs.errors import RigInputError
from rigs.face.arkit import BLENDSHAPES
from rigs.face.track import FaceTrack, weights_by_name
from rigs.fileio import write_text_atomic

Layout = Literal["beat", "audio2face"]
LAYOUTS: tuple[str, ...] = ("beat", "audio2face")


def write_arkit_json(track: FaceTrack, path: str | os.PathLike, layout: Layout = "beat", source: str = "") -> None:
    """Write a face track as ARKit blendshape JSON in BEAT's or Audio2Face's layout."""
    weights = np.round(track.weights.astype(np.float64), 6).tolist()
    if layout == "beat":
        head = np.round(track.head.astype(np.float64), 6).tolist()
        gaze = np.round(track.gaze.astype(np.float64), 6).tolist()
        frames = [{"time": round(i / track.fps, 6), "weights": w, "head": h, "gaze": g}
                  for i, (w, h, g) in enumerate(zip(weights, head, gaze, strict=True))]
        document = {"names": list(BLENDSHAPES), "fps": track.fps, "frames": frames}
    elif layout == "audio2face":
        document = {"exportFps": track.fps, "trackPath": source, "numPoses": len(BLENDSHAPES),
                    "numFrames": track.n_frames, "facsNames": list(BLENDSHAPES), "weightMat": weights}
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
        return FaceTrack(np.clip(weights, 0, 1), fps or float(document.get("exportFps", 30.0)))

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


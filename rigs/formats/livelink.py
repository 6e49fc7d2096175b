"""Live Link Face CSV: the take format of Epic's Live Link Face app, which Unreal imports onto MetaHumans.

Columns: ``Timecode, BlendShapeCount``, the 52 blendshapes in Live Link order and PascalCase, then head yaw/pitch/roll
and per-eye yaw/pitch/roll. The timecode is ``HH:MM:SS:FF.mmm``: FF counts frames at the take's fps and ``.mmm`` is
the sub-frame fraction. Angles are written in radians, our internal unit; eye roll is always 0.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings

import numpy as np

from rigs.errors import RigInputError
from rigs.face.arkit import INDEX, LIVE_LINK_ANGLES, LIVE_LINK_BLENDSHAPES, canonical_name
from rigs.face.track import FaceTrack
from rigs.fileio import write_text_atomic

HEADER = ("Timecode", "BlendShapeCount", *LIVE_LINK_BLENDSHAPES, *LIVE_LINK_ANGLES)
_TIMECODE = re.compile(r"^(\d+):(\d{2}):(\d{2})[:;](\d+)(?:\.(\d+))?$")
# LIVE_LINK_ANGLES index -> (FaceTrack array, column); eye roll has no channel.
_ANGLE_SLOTS = {
    0: ("head", 0), 1: ("head", 1), 2: ("head", 2), 3: ("gaze", 0), 4: ("gaze", 1), 6: ("gaze", 2), 7: ("gaze", 3),
}


def timecode(frame: int, fps: float) -> str:
    """The Live Link timecode of a frame index at fps."""
    whole_fps = max(1, round(fps))
    seconds, ff = divmod(frame, whole_fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.000"


def livelink_angles(track: FaceTrack) -> np.ndarray:
    """The nine Live Link angle columns (T, 9) of a track, in ``LIVE_LINK_ANGLES`` order, radians; eye roll is 0."""
    angles = np.zeros((track.n_frames, len(LIVE_LINK_ANGLES)), np.float32)
    for slot, (array, column) in _ANGLE_SLOTS.items():
        angles[:, slot] = getattr(track, array)[:, column]
    return angles


def write_livelink_csv(track: FaceTrack, path: str | os.PathLike) -> None:
    """Write a face track as a Live Link Face CSV take."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    order = [INDEX[canonical_name(name)] for name in LIVE_LINK_BLENDSHAPES]
    angles = livelink_angles(track).tolist()
    for i in range(track.n_frames):
        values = [*track.weights[i, order].tolist(), *angles[i]]
        writer.writerow([timecode(i, track.fps), len(LIVE_LINK_BLENDSHAPES) + len(LIVE_LINK_ANGLES)]
                        + [f"{v:.6g}" for v in values])
    write_text_atomic(path, out.getvalue())


def _parse_timecode(text: str, fps: float, where: str) -> float:
    match = _TIMECODE.match(text.strip())
    if not match:
        raise RigInputError(f"{where}: timecode {text!r} is not HH:MM:SS:FF[.mmm]; is this a Live Link Face CSV?")
    hh, mm, ss, ff, sub = match.groups()
    frames = int(ff) + (float(f"0.{sub}") if sub else 0.0)
    return int(hh) * 3600 + int(mm) * 60 + int(ss) + frames / fps


def _take_fps(timecodes: list[str], where: str) -> float:
    """A take's frame rate from its timecodes: FF runs 0 … fps-1 within each second."""
    frames = [int(match.group(4)) for match in map(_TIMECODE.match, (t.strip() for t in timecodes)) if match]
    if len(frames) <= max(frames, default=0) + 1:
        raise RigInputError(f"{where} is shorter than a second, so its frame rate cannot be read from the "
                            "timecodes; pass fps=")
    return float(max(frames) + 1)


def read_livelink_csv(path: str | os.PathLike, fps: float | None = None) -> FaceTrack:
    """Read a Live Link Face CSV take; fps defaults to the take's own (the largest FF + 1, rounded)."""
    try:
        text = open(path, encoding="utf-8-sig", newline="").read()
    except (OSError, UnicodeDecodeError) as error:
        raise RigInputError(f"cannot read Live Link CSV {path}: {error}") from error
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if not rows or rows[0][0].strip() != "Timecode":
        raise RigInputError(f"{path} does not start with a 'Timecode,BlendShapeCount,…' header; not a Live Link CSV")
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    if not body:
        raise RigInputError(f"{path} has a header but no frames")
    columns: dict[str, int] = {}
    for j, name in enumerate(header[2:], start=2):
        try:
            columns[canonical_name(name)] = j
        except KeyError:
            if name not in LIVE_LINK_ANGLES:
                warnings.warn(f"{path}: ignoring unknown column {name!r}", stacklevel=2)
    missing = [name for name in INDEX if name not in columns]
    if missing:
        raise RigInputError(f"{path} lacks blendshape columns {missing[:5]}…; a Live Link CSV has all 52")
    try:
        values = np.array([[float(cell) for cell in row[2:]] for row in body], dtype=np.float64)
    except ValueError as error:
        raise RigInputError(f"{path}: a frame holds a non-number ({error})") from error
    if values.ndim != 2 or values.shape[1] != len(header) - 2:
        raise RigInputError(f"{path}: some rows have a different number of values than the header's {len(header)}")

    if fps is None:
        fps = _take_fps([row[0] for row in body], str(path))
    times = np.array([_parse_timecode(row[0], fps, f"{path} row {i + 2}") for i, row in enumerate(body)])
    times -= times[0]

    weights = np.stack([values[:, columns[name] - 2] for name in INDEX], 1)
    head = np.zeros((len(body), 3))
    gaze = np.zeros((len(body), 4))
    for slot, (array, column) in _ANGLE_SLOTS.items():
        name = LIVE_LINK_ANGLES[slot]
        if name in header:
            (head if array == "head" else gaze)[:, column] = values[:, header.index(name) - 2]

    steps = np.diff(times)
    if len(steps) and (np.any(steps <= 0) or np.abs(steps - 1 / fps).max() > 0.5 / fps):
        # Dropped or repeated frames: put the take back on a uniform clock.
        warnings.warn(f"{path}: timecodes are not evenly spaced at {fps:g} fps; resampling", stacklevel=2)
        keep = np.concatenate([[True], steps > 0])
        times, weights, head, gaze = times[keep], weights[keep], head[keep], gaze[keep]
        uniform = np.arange(int(round(times[-1] * fps)) + 1) / fps
        def interp(a: np.ndarray) -> np.ndarray:
            return np.stack([np.interp(uniform, times, column) for column in a.T], 1)
        weights, head, gaze = interp(weights), interp(head), interp(gaze)
    return FaceTrack(np.clip(weights, 0.0, 1.0), fps, head, gaze)

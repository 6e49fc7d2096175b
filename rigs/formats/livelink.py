"""Live Link Face CSV: the take format of Epic's Live Link Face app, which Unreal imports onto MetaHumans.

Columns: ``Timecode, BlendShapeCount``, the 52 blendshapes in Live Link order and PascalCase, then head yaw/pitch/roll
and per-eye yaw/pitch/roll; values in fixed decimals (ten places, as the app writes them; Maya and MotionBuilder
scripts do not read scientific notation).

Timecodes are written as the app writes them: ``HH:MM:SS:FF.mmm`` on a 60-frame base whatever the take's rate (FF
counts sixtieths of a second, ``.mmm`` the fraction of one), starting at a time of day (``start``, seconds after
midnight; 00:00:00:00.000 by default, so the same track gives the same file). Unreal's LiveLinkFaceImporter reads a
take as 60 fps when any FF exceeds 30, else as 30 fps, and places each row at H:M:S + FF.mmm / that rate; on a
60-frame base every row lands at its true time at any track rate (24, 25, 50 ... fps). A take shorter than half a
second would never reach FF 31 from 00, so such a take starts at 00:00:00:30.000 instead.

Angles are radians in the app's convention, which is the left-right mirror of ours (``rigs.face.arkit``): positive
yaw turns toward the character's right, positive pitch looks down, positive roll tilts toward the character's left
shoulder. So LeftEyeYaw falls as EyeLookOutLeft rises, as in the app's takes. The app's eye angles are those of a
pitch-then-yaw (Helmholtz) eye rotation, decomposed as yaw, pitch, roll: its eye roll is not zero but follows from
yaw and pitch (in its takes, roll equals the YXZ roll of R_x(pitch) @ R_y(yaw) to 1e-7). Ours are converted so: the
same gaze direction, in the app's angles.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings

import numpy as np

from rigs.errors import RigInputError
from rigs.face.arkit import INDEX, LIVE_LINK_ANGLES, LIVE_LINK_BLENDSHAPES, canonical_name, head_angles
from rigs.face.track import FaceTrack
from rigs.fileio import write_text_atomic
from rigs.rotations import axis_matrix

HEADER = ("Timecode", "BlendShapeCount", *LIVE_LINK_BLENDSHAPES, *LIVE_LINK_ANGLES)
TIMECODE_BASE = 60  # the app's frame base in its timecodes
_TIMECODE = re.compile(r"^(\d+):(\d{2}):(\d{2})[:;](\d+(?:\.\d+)?)$")
_DAY = 24 * 3600
# The app's angles are ours mirrored left-right: yaw and roll change sign, pitch does not.
_MIRROR = np.array([-1.0, 1.0, -1.0])


def timecode(seconds: float) -> str:
    """The app's timecode of a time of day in seconds: ``HH:MM:SS:FF.mmm`` on a 60-frame base."""
    ticks = round(seconds * TIMECODE_BASE * 1000)  # thousandths of a frame, rounded once so nothing carries twice
    whole_frames, thousandths = divmod(ticks, 1000)
    whole_seconds, ff = divmod(whole_frames, TIMECODE_BASE)
    minutes, ss = divmod(whole_seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh % 24:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{thousandths:03d}"


def _eye_angles(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """The app's (yaw, pitch, roll) of eyes looking where our (yaw, pitch) point them."""
    # Our eye is R_y(yaw) R_x(pitch); the app's turns the same gaze direction d by R_x(p) R_y(y).
    d = np.stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)], -1)
    y = np.arcsin(np.clip(d[..., 0], -1, 1))
    p = np.arctan2(-d[..., 1], d[..., 2])
    roll = head_angles(axis_matrix("X", p) @ axis_matrix("Y", y))[..., 2]
    return np.stack([y, p, roll], -1) * _MIRROR


def _eye_gaze(angles: np.ndarray) -> np.ndarray:
    """Our (yaw, pitch) of eyes given in the app's (yaw, pitch, roll); roll carries no gaze."""
    y, p = angles[..., 0] * _MIRROR[0], angles[..., 1]
    d = np.stack([np.sin(y), -np.sin(p) * np.cos(y), np.cos(p) * np.cos(y)], -1)
    return np.stack([np.arctan2(d[..., 0], d[..., 2]), np.arcsin(np.clip(-d[..., 1], -1, 1))], -1)


def livelink_angles(track: FaceTrack) -> np.ndarray:
    """The nine Live Link angle columns (T, 9) of a track, in ``LIVE_LINK_ANGLES`` order, in the app's convention."""
    head = track.head.astype(np.float64) * _MIRROR
    gaze = track.gaze.astype(np.float64)
    left, right = _eye_angles(gaze[:, 0], gaze[:, 1]), _eye_angles(gaze[:, 2], gaze[:, 3])
    return np.concatenate([head, left, right], 1).astype(np.float32)


def track_angles(angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Our head (T, 3) and gaze (T, 4) from the nine Live Link angle columns; the inverse of ``livelink_angles``."""
    angles = np.asarray(angles, np.float64)
    head = angles[:, 0:3] * _MIRROR
    gaze = np.concatenate([_eye_gaze(angles[:, 3:6]), _eye_gaze(angles[:, 6:9])], 1)
    return head, gaze


def _row_seconds(track: FaceTrack, start: float) -> np.ndarray:
    """Each frame's time of day; a take whose FF would never exceed 30 starts at FF 30 of its second instead."""
    seconds = start + track.times
    if not np.any((seconds % 1.0) * TIMECODE_BASE > 30.0005):  # Unreal's importer would read it as 30 fps
        seconds += np.floor(start) + 0.5 - start
    return seconds


def write_livelink_csv(track: FaceTrack, path: str | os.PathLike, start: float = 0.0) -> None:
    """Write a face track as a Live Link Face CSV take whose first frame is at `start` seconds after midnight."""
    if not (np.isfinite(start) and 0 <= start < _DAY):
        raise RigInputError(f"Live Link start time {start} is not within a day; give seconds after midnight")
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    order = [INDEX[canonical_name(name)] for name in LIVE_LINK_BLENDSHAPES]
    values = np.concatenate([track.weights[:, order].astype(np.float64), livelink_angles(track)], 1) + 0.0
    count = len(HEADER) - 2
    for seconds, row in zip(_row_seconds(track, start), values, strict=True):
        out.write(f"{timecode(seconds)},{count},{','.join(f'{v:.10f}' for v in row)}\n")
    write_text_atomic(path, out.getvalue().replace("-0.0000000000", "0.0000000000"))


def _row_times(timecodes: list[str], where: str) -> np.ndarray:
    """Seconds of each row as Unreal's importer reads them (60-frame base if any FF exceeds 30, else 30)."""
    parts = []
    for i, text in enumerate(timecodes):
        match = _TIMECODE.match(text.strip())
        if not match:
            raise RigInputError(f"{where} row {i + 2}: timecode {text!r} is not HH:MM:SS:FF[.mmm]; is this a Live "
                                "Link Face CSV?")
        hh, mm, ss, ff = match.groups()
        parts.append((int(hh) * 3600 + int(mm) * 60 + int(ss), float(ff)))
    base = TIMECODE_BASE if any(ff > 30 for _, ff in parts) else 30
    times = np.array([seconds + ff / base for seconds, ff in parts])
    return np.unwrap(times, period=_DAY)  # a take that runs past midnight


def _rate(times: np.ndarray) -> float:
    """A take's frame rate from its row times: whole and NTSC rates are snapped to, others kept to 3 decimals."""
    raw = (len(times) - 1) / (times[-1] - times[0])
    for candidate in (round(raw), round(raw * 1.001) / 1.001):
        if candidate > 0 and abs(raw / candidate - 1) < 2e-4:
            return float(candidate)
    return float(round(raw, 3))


def read_livelink_csv(path: str | os.PathLike, fps: float | None = None) -> FaceTrack:
    """Read a Live Link Face CSV take; fps defaults to the rate its timecodes show."""
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

    times = _row_times([row[0] for row in body], str(path))
    times -= times[0]
    if fps is None:
        if len(times) < 2 or times[-1] <= 0:
            raise RigInputError(f"{path} holds one frame (or one time), so its frame rate cannot be read from the "
                                "timecodes; pass fps=")
        fps = _rate(times)

    weights = np.stack([values[:, columns[name] - 2] for name in INDEX], 1)
    angles = np.zeros((len(body), len(LIVE_LINK_ANGLES)))
    for k, name in enumerate(LIVE_LINK_ANGLES):
        if name in header:
            angles[:, k] = values[:, header.index(name) - 2]
    head, gaze = track_angles(angles)

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

"""BVH (Biovision Hierarchy) motion files: read any skeleton into a BodyTrack, write a BodyTrack back.

Reading is tolerant of real files: tokens may be split by any whitespace (CRLF included), any channel order per
joint, End Sites anywhere, a missing trailing newline. Motion rows are one frame per line, and the rows are trusted
over the header.

Frame rate rule (``read_bvh``), first match wins:

1. ``fps=`` given: that rate. 2. ``duration=`` given: rows / duration.
3. The header's ``Frames:`` equals the number of rows: the header's rate, 1 / ``Frame Time``.
4. Otherwise (warned): if the header count is within 2 % of an integer multiple k of the rows, the rows are every
   k-th frame of the header's take, so the rate is the header's rate / k (BEAT's 2_scott_0_1_1: 7669 frames at
   1/120 s in the header, 957 rows, k = 8, 15 fps); else the rows span the header's duration (frames x frame time).

``Frame Time`` is a rounding of 1/fps, so the header's rate snaps to a whole (or NTSC x/1.001) rate when that rate
rounds to the frame time as written (0.008333 -> 120 fps, 0.066667 -> 15 fps).

Position channels: the root's become ``BodyTrack.root_positions``. A non-root joint's position channels replace its
OFFSET (as in Biovision's files); ``BodyTrack`` models rigid bones, so they are accepted when constant over the take
(folded into the joint's offset and written back as channels) and rejected with an error when they move.
Euler angles are unwrapped along time (whole-turn jumps removed; the rotations are unchanged).
"""

from __future__ import annotations

import io
import os
import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from rigs.body.skeleton import POSITION_CHANNELS, ROTATION_CHANNELS, Skeleton
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError
from rigs.fileio import write_text_atomic
from rigs.rotations import unwrap_euler

# Non-root position channels that move less than this (in the file's units) count as constant.
_STILL = 1e-3
# Header frame count within this fraction of k x rows reads as "every k-th frame".
_DECIMATION_TOLERANCE = 0.02


class BvhHeaderWarning(UserWarning):
    """The BVH header disagrees with the motion rows; the message says what was chosen."""


class _Tokens:
    """Whitespace-separated tokens of the HIERARCHY section with their line numbers."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.items = [(token, n + 1) for n, line in enumerate(lines) for token in line.split()]
        self.pos = 0

    def error(self, problem: str, line: int | None = None) -> RigInputError:
        where = f" line {line}" if line is not None else ""
        return RigInputError(f"BVH '{self.path}'{where}: {problem}. The file is malformed or truncated; re-export it")

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def line(self) -> int | None:
        return self.items[self.pos][1] if self.pos < len(self.items) else None

    def next(self, what: str) -> str:
        if self.pos >= len(self.items):
            raise self.error(f"the file ends where {what} was expected")
        token = self.items[self.pos][0]
        self.pos += 1
        return token

    def expect(self, keyword: str) -> None:
        line = self.line()
        token = self.next(repr(keyword))
        if token.upper() != keyword.upper():
            raise self.error(f"expected {keyword!r}, found {token!r}", line)

    def number(self, what: str) -> float:
        line = self.line()
        token = self.next(what)
        try:
            value = float(token)
        except ValueError:
            raise self.error(f"expected a number for {what}, found {token!r}", line) from None
        if not np.isfinite(value):
            raise self.error(f"{what} is {token}", line)
        return value


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RigInputError(f"BVH file '{path}' does not exist; check the path") from None
    except IsADirectoryError:
        raise RigInputError(f"BVH path '{path}' is a folder; give a .bvh file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # joint names from old exporters; the numbers are ASCII either way


def _parse_hierarchy(tokens: _Tokens, units: str) -> Skeleton:
    tokens.expect("HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, tuple[float, float, float]] = {}

    def vector(what: str) -> tuple[float, float, float]:
        return (tokens.number(f"{what} x"), tokens.number(f"{what} y"), tokens.number(f"{what} z"))

    def joint(parent: int) -> None:
        line = tokens.line()
        name_parts = []
        while tokens.peek() not in (None, "{"):
            name_parts.append(tokens.next("a joint name"))
        name = " ".join(name_parts)
        if not name:
            raise tokens.error("a joint has no name", line)
        if name in names:
            raise tokens.error(f"joint name {name!r} appears twice", line)
        tokens.expect("{")
        index = len(names)
        names.append(name)
        parents.append(parent)
        offsets.append((0.0, 0.0, 0.0))
        channels.append(())
        seen_offset = False
        while True:
            line = tokens.line()
            token = tokens.next(f"the rest of joint {name!r}")
            keyword = token.upper()
            if keyword == "OFFSET":
                offsets[index] = vector(f"joint {name!r} OFFSET")
                seen_offset = True
            elif keyword == "CHANNELS":
                count_token = tokens.next("a channel count")
                if not count_token.isdigit():
                    raise tokens.error(f"joint {name!r} channel count is {count_token!r}, not a whole number", line)
                found = tuple(tokens.next(f"channel names of {name!r}") for _ in range(int(count_token)))
                # Channel names are case-insensitive in the wild ("XROTATION"); store the canonical spelling.
                canonical = {c.upper(): c for c in POSITION_CHANNELS + ROTATION_CHANNELS}
                bad = [c for c in found if c.upper() not in canonical]
                if bad or len({c.upper() for c in found}) != len(found):
                    raise tokens.error(f"joint {name!r} has channels {list(found)}; unknown or repeated: {bad}", line)
                channels[index] = tuple(canonical[c.upper()] for c in found)
            elif keyword == "JOINT":
                joint(index)
            elif keyword == "END":
                tokens.expect("Site")
                if index in end_sites:
                    raise tokens.error(f"joint {name!r} has a second End Site", line)
                tokens.expect("{")
                tokens.expect("OFFSET")
                end_sites[index] = vector(f"End Site of {name!r}")
                tokens.expect("}")
            elif keyword == "}":
                break
            else:
                raise tokens.error(f"unexpected {token!r} inside joint {name!r}", line)
        if not seen_offset:
            raise tokens.error(f"joint {name!r} has no OFFSET", line)

    line = tokens.line()
    tokens.expect("ROOT")
    joint(-1)
    if tokens.peek() is not None and tokens.peek().upper() == "ROOT":
        raise tokens.error("a second ROOT; only one skeleton per file is supported (split the file)", tokens.line())
    try:
        return Skeleton(tuple(names), np.array(parents), np.array(offsets), tuple(channels), end_sites, units)
    except RigInputError as error:
        raise tokens.error(str(error), line) from None


def _split(path: Path, text: str) -> tuple[_Tokens, list[str], int]:
    """Hierarchy tokens, and the lines after MOTION with the (1-based) number of the first."""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        words = line.split()
        if words and words[0].upper() == "MOTION":
            if len(words) > 1:
                raise RigInputError(f"BVH '{path}' line {n + 1}: unexpected {words[1]!r} after MOTION; re-export it")
            return _Tokens(path, lines[:n]), lines[n + 1 :], n + 2
    tokens = _Tokens(path, lines)
    return tokens, [], -1


def read_bvh_skeleton(path: str | os.PathLike, units: str = "cm") -> Skeleton:
    """The skeleton of a BVH file's HIERARCHY (no motion is read)."""
    path = Path(path)
    tokens, _, _ = _split(path, _decode(path))
    skeleton = _parse_hierarchy(tokens, units)
    if tokens.peek() is not None:
        raise tokens.error(f"unexpected {tokens.peek()!r} after the hierarchy", tokens.line())
    return skeleton


def _header_value(path: Path, lines: list[str], first: int, label: str) -> tuple[str, int]:
    """The value after `label` on the next non-blank line, and the index of the line after it."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        raise RigInputError(f"BVH '{path}' ends before its '{label}' line (truncated?); re-export it")
    line = lines[i].strip()
    key, _, value = line.partition(":")
    if " ".join(key.split()).upper() != label.upper() or not value.strip():
        raise RigInputError(f"BVH '{path}' line {first + i}: expected '{label}: <value>', found {line[:60]!r}")
    return value.strip(), i + 1


def _snap_rate(frame_time_text: str) -> float:
    """The frame rate a written frame time stands for: 1/t, or the whole/NTSC rate that rounds to t as written."""
    exact = Decimal(frame_time_text)
    frame_time = float(exact)
    half_step = 0.5 * 10.0 ** exact.as_tuple().exponent + 1e-12
    raw = 1.0 / frame_time
    for candidate in (round(raw), round(raw * 1.001) / 1.001):
        if candidate > 0 and abs(1.0 / candidate - frame_time) <= half_step:
            return float(candidate)
    return raw


def _choose_fps(
    path: Path, rows: int, header_frames: int, frame_time_text: str, fps: float | None, duration: float | None
) -> float:
    if fps is not None:
        if not (np.isfinite(fps) and fps > 0):
            raise RigInputError(f"fps={fps} for '{path}'; give a positive frame rate")
        return float(fps)
    if duration is not None:
        if not (np.isfinite(duration) and duration > 0):
            raise RigInputError(f"duration={duration} for '{path}'; give the take's length in seconds")
        return rows / float(duration)
    try:
        frame_time = float(Decimal(frame_time_text))
    except InvalidOperation:
        frame_time = float("nan")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise RigInputError(
            f"BVH '{path}' has Frame Time {frame_time_text!r}, not a positive number of seconds; "
            "pass fps= or duration= to read_bvh"
        )
    header_fps = _snap_rate(frame_time_text)
    if header_frames == rows:
        return header_fps
    ratio = header_frames / rows
    step = round(ratio)
    if step >= 1 and abs(ratio - step) <= _DECIMATION_TOLERANCE * step:
        chosen = header_fps / step
        how = f"every {step}th frame of the header's {header_fps:g} fps" if step > 1 else "the header's rate"
    elif header_frames > 0:
        chosen = rows / (header_frames * frame_time)
        how = f"the rows as spanning the header's {header_frames * frame_time:.2f} s"
    else:
        chosen = header_fps
        how = "the header's rate"
    warnings.warn(
        f"BVH '{path.name}': header says Frames: {header_frames} at Frame Time {frame_time_text} but the file holds "
        f"{rows} rows; trusting the rows and reading {how}: {chosen:g} fps, {rows / chosen:.2f} s. "
        "Pass fps= or duration= to read_bvh to override",
        BvhHeaderWarning,
        stacklevel=3,
    )
    return chosen


def _parse_rows(path: Path, lines: list[str], first: int, n_channels: int) -> np.ndarray:
    numbered = [(first + i, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise RigInputError(f"BVH '{path}' has no motion rows after its header; re-export it with its frames")
    rows = []
    for number, line in numbered:
        values = line.split()
        if len(values) != n_channels:
            raise RigInputError(
                f"BVH '{path}' line {number}: {len(values)} values, but the hierarchy declares {n_channels} channels "
                "per frame. The row is truncated or the file mixes skeletons; re-export it"
            )
        rows.append(values)
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError:
        for (number, _), values in zip(numbered, rows, strict=True):
            bad = [v for v in values if not _is_float(v)]
            if bad:
                raise RigInputError(
                    f"BVH '{path}' line {number}: {bad[0]!r} is not a number; fix or re-export the file"
                ) from None
        raise
    finite = np.isfinite(data).all(axis=1)
    if not finite.all():
        number = numbered[int(np.argmin(finite))][0]
        raise RigInputError(f"BVH '{path}' line {number}: NaN or infinite values; fix or re-export the file")
    return data


def _joint_channels(skeleton: Skeleton):
    return zip(skeleton.names, skeleton.channels, skeleton.rotation_orders, strict=True)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_bvh(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    duration: float | None = None,
    unwrap: bool = True,
    units: str = "cm",
) -> BodyTrack:
    """A BVH file as a BodyTrack (see the module docstring for the frame-rate rule and position channels)."""
    path = Path(path)
    tokens, motion, first = _split(path, _decode(path))
    skeleton = _parse_hierarchy(tokens, units)
    if tokens.peek() is not None:
        raise tokens.error(f"unexpected {tokens.peek()!r} after the hierarchy", tokens.line())
    if first < 0:
        raise RigInputError(f"BVH '{path}' has no MOTION section (truncated?); re-export it with its frames")
    frames_text, used = _header_value(path, motion, first, "Frames")
    frame_time_text, used2 = _header_value(path, motion[used:], first + used, "Frame Time")
    if not frames_text.isdigit():
        raise RigInputError(f"BVH '{path}': 'Frames: {frames_text}' is not a whole number; fix the header")
    data = _parse_rows(path, motion[used + used2 :], first + used + used2, skeleton.n_channels)
    rate = _choose_fps(path, len(data), int(frames_text), frame_time_text, fps, duration)

    n = len(data)
    rotations = np.zeros((n, skeleton.n_joints, 3))
    root = np.tile(skeleton.offsets[0], (n, 1))
    offsets = skeleton.offsets.copy()
    column = 0
    for j, (name, joint, order) in enumerate(_joint_channels(skeleton)):
        for channel in joint:
            values = data[:, column]
            column += 1
            axis = "XYZ".index(channel[0])
            if channel in ROTATION_CHANNELS:
                rotations[:, j, order.index(channel[0])] = np.radians(values)
            elif j == 0:
                root[:, axis] = values
            elif np.ptp(values) > _STILL:
                raise RigInputError(
                    f"BVH '{path}': joint {name!r} translates over time ({channel} moves by {np.ptp(values):.3g} "
                    f"{units}); only the root may move in a BodyTrack. Re-export with translation on the root only"
                )
            else:
                offsets[j, axis] = values[0]
    if not np.array_equal(offsets, skeleton.offsets):
        skeleton = Skeleton(skeleton.names, skeleton.parents, offsets, skeleton.channels, skeleton.end_sites, units)
    if unwrap:
        rotations = unwrap_euler(rotations, axis=0)
    return BodyTrack(skeleton, rate, rotations, root)


def _format_frame_time(fps: float) -> str:
    # Full precision: readers that take 1 / Frame Time as the rate (Blender sets its scene to it) get the exact rate
    # back; 0.033333 would make Blender's scene run at 30.0003 fps.
    return repr(1.0 / fps)


def _hierarchy_text(skeleton: Skeleton) -> list[str]:
    out = ["HIERARCHY"]

    def vector(values: np.ndarray) -> str:
        return " ".join(f"{v + 0.0:.6f}" for v in np.round(values, 6))

    def joint(j: int, depth: int) -> None:
        pad = "\t" * depth
        out.append(f"{pad}{'ROOT' if j == 0 else 'JOINT'} {skeleton.names[j]}")
        out.append(f"{pad}{{")
        out.append(f"{pad}\tOFFSET {vector(skeleton.offsets[j])}")
        channels = skeleton.channels[j]
        out.append(f"{pad}\tCHANNELS {len(channels)}" + "".join(f" {c}" for c in channels))
        for child in skeleton.children(j):
            joint(child, depth + 1)
        if j in skeleton.end_sites:
            end = vector(skeleton.end_sites[j])
            out.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {end}", f"{pad}\t}}"])
        out.append(f"{pad}}}")

    joint(0, 0)
    return out


def _motion_matrix(track: BodyTrack) -> np.ndarray:
    skeleton = track.skeleton
    degrees = np.degrees(track.rotations.astype(np.float64))
    columns = []
    for j, (name, joint, order) in enumerate(_joint_channels(skeleton)):
        for channel in joint:
            axis = "XYZ".index(channel[0])
            if channel in ROTATION_CHANNELS:
                columns.append(degrees[:, j, order.index(channel[0])])
            elif j == 0:
                columns.append(track.root_positions[:, axis].astype(np.float64))
            else:
                columns.append(np.full(track.n_frames, skeleton.offsets[j, axis]))
        present = sum(c in ROTATION_CHANNELS for c in joint)
        dropped = np.abs(degrees[:, j, present:]).max(initial=0.0)
        if dropped > 1e-4:
            warnings.warn(
                f"joint {name!r} has no channel for Euler axes {order[present:]!r}; up to {dropped:.3g} degrees "
                "about them are not written (give the skeleton all three rotation channels to keep them)",
                stacklevel=3,
            )
    if not any(c in POSITION_CHANNELS for c in skeleton.channels[0]):
        moved = np.abs(track.root_positions - skeleton.offsets[0]).max()
        if moved > _STILL:
            warnings.warn(
                f"root joint {skeleton.names[0]!r} has no position channels; its motion (up to {moved:.3g} "
                f"{skeleton.units}) is not written (add Xposition Yposition Zposition channels to keep it)",
                stacklevel=3,
            )
    if not columns:
        return np.zeros((track.n_frames, 0))
    return np.stack(columns, axis=1)


def bvh_text(track: BodyTrack) -> str:
    """The BVH file text of a track (tab-indented hierarchy, 6-decimal values, one frame per line)."""
    lines = _hierarchy_text(track.skeleton)
    lines += ["MOTION", f"Frames: {track.n_frames}", f"Frame Time: {_format_frame_time(track.fps)}"]
    values = np.round(_motion_matrix(track), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt="%.6f", delimiter=" ")
    return "\n".join(lines) + "\n" + buffer.getvalue()


def write_bvh(track: BodyTrack, path: str | os.PathLike) -> None:
    """Write a track as a BVH file (atomically: the file is complete or absent)."""
    write_text_atomic(path, bvh_text(track))

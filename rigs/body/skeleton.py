"""Skeleton: a joint hierarchy with rest offsets and BVH channels, forward kinematics, and the shipped BEAT skeleton."""

from __future__ import annotations

import difflib
import functools
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rigs.errors import RigInputError
from rigs.rotations import euler_to_matrix

BEAT_SKELETON_JSON = Path(__file__).resolve().parent / "data" / "beat_skeleton.json"
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")


class FKResult(NamedTuple):
    """Forward kinematics of a pose sequence: global joint positions and rotations."""

    positions: np.ndarray  # (T, J, 3) float32, in the skeleton's units
    rotations: np.ndarray  # (T, J, 3, 3) float32, joint frame to world


def _rotation_order(channels: tuple[str, ...]) -> str:
    # Axes in channel order; axes a joint has no channel for are appended (their angle stays 0).
    axes = "".join(c[0] for c in channels if c in ROTATION_CHANNELS)
    return axes + "".join(a for a in "XYZ" if a not in axes)


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A joint hierarchy in depth-first order (every parent before its children), as a BVH HIERARCHY describes it.

    `offsets` are each joint's rest translation from its parent (the root's from the origin), in `units`.
    `channels` are each joint's BVH channel names in file order, e.g. ``("Xrotation", "Yrotation", "Zrotation")``;
    the rotation channels give the joint's Euler order. `end_sites` maps a joint index to its BVH "End Site" offset.
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_sites: dict[int, np.ndarray]
    units: str = "cm"

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        # Private read-only copies: a frozen skeleton must not change under its tracks.
        parents = np.array(self.parents, dtype=np.int64).reshape(-1)
        offsets = np.array(self.offsets, dtype=np.float64)
        channels = tuple(tuple(str(c) for c in joint) for joint in self.channels)
        n = len(names)
        if n == 0:
            raise RigInputError("skeleton has no joints; give at least a root joint")
        if len(set(names)) != n:
            duplicates = sorted({name for name in names if names.count(name) > 1})
            raise RigInputError(
                f"skeleton joint names repeat ({', '.join(duplicates)}); give every joint a unique name"
            )
        if parents.shape != (n,) or offsets.shape != (n, 3) or len(channels) != n:
            raise RigInputError(
                f"skeleton of {n} joints has parents {parents.shape}, offsets {offsets.shape} and {len(channels)} "
                f"channel lists; give ({n},), ({n}, 3) and {n}"
            )
        if parents[0] != -1 or np.any(parents[1:] < 0) or np.any(parents[1:] >= np.arange(1, n)):
            raise RigInputError(
                "skeleton parents must list the root first (parent -1) and every parent before its children; "
                "order the joints depth-first as a BVH file does"
            )
        if not np.isfinite(offsets).all():
            raise RigInputError("skeleton offsets hold NaN or infinite values; fix the rest pose")
        for name, joint in zip(names, channels, strict=True):
            unknown = [c for c in joint if c not in POSITION_CHANNELS + ROTATION_CHANNELS]
            if unknown or len(set(joint)) != len(joint):
                raise RigInputError(
                    f"joint {name!r} has channels {list(joint)}; each of Xposition, Yposition, Zposition, Xrotation, "
                    "Yrotation, Zrotation may appear at most once"
                )
        end_sites = {}
        for j, offset in dict(self.end_sites).items():
            if not 0 <= int(j) < n:
                raise RigInputError(f"skeleton end site refers to joint {j}, but there are {n} joints")
            end_sites[int(j)] = np.array(offset, dtype=np.float64).reshape(3)
            end_sites[int(j)].setflags(write=False)
        parents.setflags(write=False)
        offsets.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "end_sites", dict(sorted(end_sites.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Skeleton):
            return NotImplemented
        return (
            self.names == other.names
            and self.channels == other.channels
            and self.units == other.units
            and np.array_equal(self.parents, other.parents)
            and np.array_equal(self.offsets, other.offsets)
            and self.end_sites.keys() == other.end_sites.keys()
            and all(np.array_equal(v, other.end_sites[j]) for j, v in self.end_sites.items())
        )

    __hash__ = None  # mutable numpy fields

    @property
    def n_joints(self) -> int:
        return len(self.names)

    @cached_property
    def rotation_orders(self) -> tuple[str, ...]:
        """Each joint's Euler order, e.g. "ZXY" (axes without a channel appended)."""
        return tuple(_rotation_order(joint) for joint in self.channels)

    @cached_property
    def position_joints(self) -> tuple[int, ...]:
        """Indices of the joints that have position channels."""
        return tuple(j for j, joint in enumerate(self.channels) if any(c in POSITION_CHANNELS for c in joint))

    @property
    def n_channels(self) -> int:
        """Values per BVH motion row."""
        return sum(len(joint) for joint in self.channels)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: j for j, name in enumerate(self.names)}

    def index(self, name: str) -> int:
        """The index of a joint by name."""
        try:
            return self._index[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self.names, n=5, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"joints are {', '.join(self.names[:8])}, ..."
            raise RigInputError(f"skeleton has no joint named {name!r}; {hint}") from None

    def children(self, joint: int | str) -> list[int]:
        """Indices of a joint's direct children."""
        j = self.index(joint) if isinstance(joint, str) else int(joint)
        return [int(c) for c in np.flatnonzero(self.parents == j)]

    def bone_lengths(self) -> np.ndarray:
        """Distance of each joint from its parent at rest (J,), the root's from the origin."""
        return np.linalg.norm(self.offsets, axis=1)

    def local_matrices(self, rotations: np.ndarray) -> np.ndarray:
        """Local rotation matrices (..., J, 3, 3) from Euler angles (..., J, 3) in each joint's order."""
        rotations = np.asarray(rotations, dtype=np.float64)
        out = np.empty(rotations.shape + (3,))
        for order in set(self.rotation_orders):
            joints = [j for j, o in enumerate(self.rotation_orders) if o == order]
            out[..., joints, :, :] = euler_to_matrix(rotations[..., joints, :], order)
        return out

    def forward_kinematics(self, rotations: np.ndarray, root_positions: np.ndarray | None = None) -> FKResult:
        """Global joint positions (T, J, 3) and rotations (T, J, 3, 3) from Euler angles (T, J, 3) in radians.

        `root_positions` (T, 3) place the root; without them it stays at its rest offset.
        """
        rotations = np.asarray(rotations, dtype=np.float64)
        if rotations.ndim != 3 or rotations.shape[1:] != (self.n_joints, 3):
            raise RigInputError(f"rotations have shape {rotations.shape}; expected (T, {self.n_joints}, 3)")
        n = len(rotations)
        local = self.local_matrices(rotations)
        if root_positions is None:
            root = np.broadcast_to(self.offsets[0], (n, 3))
        else:
            root = np.asarray(root_positions, dtype=np.float64)
            if root.shape != (n, 3):
                raise RigInputError(f"root positions have shape {root.shape}; expected ({n}, 3)")
        positions = np.empty((n, self.n_joints, 3))
        matrices = np.empty((n, self.n_joints, 3, 3))
        positions[:, 0] = root
        matrices[:, 0] = local[:, 0]
        for j in range(1, self.n_joints):
            p = self.parents[j]
            positions[:, j] = positions[:, p] + matrices[:, p] @ self.offsets[j]
            matrices[:, j] = matrices[:, p] @ local[:, j]
        return FKResult(positions.astype(np.float32), matrices.astype(np.float32))

    def rest_positions(self) -> np.ndarray:
        """Global joint positions (J, 3) with every rotation zero."""
        return self.forward_kinematics(np.zeros((1, self.n_joints, 3))).positions[0]

    def with_names(self, names: list[str] | tuple[str, ...]) -> Skeleton:
        """The same skeleton with its joints renamed (same order)."""
        return Skeleton(tuple(names), self.parents, self.offsets, self.channels, self.end_sites, self.units)

    def to_dict(self) -> dict:
        """A JSON-ready description (joints in order, each with parent, offset, channels and end site)."""
        joints = []
        for j, name in enumerate(self.names):
            end = self.end_sites.get(j)
            joints.append(
                {
                    "name": name,
                    "parent": int(self.parents[j]),
                    "offset": [float(v) for v in self.offsets[j]],
                    "channels": list(self.channels[j]),
                    "end_site": None if end is None else [float(v) for v in end],
                }
            )
        return {"units": self.units, "joints": joints}

    @classmethod
    def from_dict(cls, data: dict) -> Skeleton:
        """A skeleton from `to_dict` output."""
        try:
            joints = data["joints"]
            return cls(
                names=tuple(joint["name"] for joint in joints),
                parents=np.array([joint["parent"] for joint in joints]),
                offsets=np.array([joint["offset"] for joint in joints], dtype=np.float64),
                channels=tuple(tuple(joint["channels"]) for joint in joints),
                end_sites={j: joint["end_site"] for j, joint in enumerate(joints) if joint.get("end_site") is not None},
                units=data.get("units", "cm"),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, RigInputError):
                raise
            raise RigInputError(
                f"skeleton description is malformed ({error!r}); write it with Skeleton.to_dict"
            ) from None

    def save_json(self, path: str | os.PathLike, **extra) -> None:
        """Write the description as JSON (atomically); `extra` keys are stored alongside."""
        from rigs.fileio import write_text_atomic

        data = {**extra, **self.to_dict()}
        joints = data.pop("joints")
        # One joint per line keeps the file small and diffs readable.
        head = json.dumps(data, indent=1)[:-2]
        body = ",\n".join("  " + json.dumps(joint) for joint in joints)
        write_text_atomic(path, f'{head},\n "joints": [\n{body}\n ]\n}}\n')

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> Skeleton:
        """A skeleton from a JSON file written by save_json."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RigInputError(f"skeleton file '{path}' does not exist; check the path") from None
        except json.JSONDecodeError as error:
            raise RigInputError(f"skeleton file '{path}' is not valid JSON ({error}); rewrite it") from None
        return cls.from_dict(data)


@functools.cache
def load_beat_skeleton() -> Skeleton:
    """The 75-joint BEAT skeleton (centimetres, Y up) shipped with the project."""
    if not BEAT_SKELETON_JSON.is_file():
        raise RigInputError(
            f"the shipped BEAT skeleton '{BEAT_SKELETON_JSON}' is missing; rebuild it with "
            "`python -m rigs.body.build_skeleton <a BEAT .bvh>`"
        )
    return Skeleton.load_json(BEAT_SKELETON_JSON)

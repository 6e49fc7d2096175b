"""Where a body track stands: on the floor (y = 0), or with its hips at the origin as BEAT's capture has them.

BEAT's BVH files keep the root (``Hips``) at the origin with zero translation, so the feet are about 0.89 m below
y = 0. glTF, Unity and Unreal users expect a character's feet on the ground plane instead. Both conventions are a
constant vertical shift of the root:

- ``"feet"`` (the default of ``rigs.formats.export``): the take's standing height, the median over frames of its
  lowest joint or end site, is put at y = 0, so a standing character's soles rest on the floor;
- ``"hips"``: BEAT's convention: the root's median height is put at the root's rest height (0 for BEAT).

Each is idempotent, so converting a file from one convention to the other and back returns it unchanged.
"""

from __future__ import annotations

import numpy as np

from rigs.body.track import BodyTrack
from rigs.errors import RigInputError

FLOORS = ("feet", "hips")


def lowest_points(track: BodyTrack) -> np.ndarray:
    """(T,) the height of the lowest joint or end site in each frame, in the skeleton's units."""
    skeleton = track.skeleton
    fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
    heights = [fk.positions[..., 1]]
    for joint, offset in skeleton.end_sites.items():
        heights.append((fk.positions[:, joint] + fk.rotations[:, joint] @ np.asarray(offset, np.float32))[:, None, 1])
    return np.concatenate(heights, 1).min(1)


def placed(track: BodyTrack, floor: str = "feet") -> BodyTrack:
    """The track shifted vertically to a floor convention: ``"feet"`` on y = 0, or ``"hips"`` at the origin."""
    if floor not in FLOORS:
        raise RigInputError(f"floor {floor!r} is unknown; use 'feet' (feet on y = 0) or 'hips' (BEAT: hips at the "
                            "origin)")
    if floor == "feet":
        shift = -float(np.median(lowest_points(track)))
    else:
        shift = float(track.skeleton.offsets[0, 1] - np.median(track.root_positions[:, 1]))
    root = track.root_positions.astype(np.float64)
    root[:, 1] += shift
    return BodyTrack(track.skeleton, track.fps, track.rotations, root)

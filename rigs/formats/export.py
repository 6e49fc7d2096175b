"""One call to write tracks in every format users take into their tools, and one to read any of them back.

Body tracks are written standing on the floor (``floor="feet"``: the feet on y = 0, as glTF, Unity and Unreal users
expect) unless ``floor="hips"`` asks for BEAT's convention (hips at the origin); see ``rigs.body.floor``. The SMPL-X
pose file is independent of it (its ``trans`` is the hips' motion).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from rigs.body.floor import placed
from rigs.body.track import BodyTrack
from rigs.errors import RigInputError
from rigs.face.track import FaceTrack
from rigs.formats.arkit_json import read_arkit_json, write_arkit_json
from rigs.formats.bvh import read_bvh, write_bvh
from rigs.formats.gltf import read_glb, write_body_glb, write_face_glb
from rigs.formats.livelink import read_livelink_csv, write_livelink_csv
from rigs.formats.smplx import write_smplx_npz

Track = FaceTrack | BodyTrack

# format -> {track type: (file name, writer)}. File names are stable: other tools and scripts rely on them.
FORMATS: dict[str, dict[type, tuple[str, Callable[[Track, Path], None]]]] = {
    "csv": {FaceTrack: ("face.csv", write_livelink_csv)},
    "json": {FaceTrack: ("face.json", lambda track, path: write_arkit_json(track, path, "beat"))},
    "a2f": {FaceTrack: ("face_a2f.json", lambda track, path: write_arkit_json(track, path, "audio2face"))},
    "glb": {FaceTrack: ("face.glb", write_face_glb), BodyTrack: ("body.glb", write_body_glb)},
    "bvh": {BodyTrack: ("body.bvh", write_bvh)},
    "smplx": {BodyTrack: ("body.npz", write_smplx_npz)},
}
_FLOORED = ("glb", "bvh")  # the formats whose body stands where `floor` says


def parse_formats(formats: str | Iterable[str]) -> list[str]:
    """Format names from a list or a comma-separated string, checked."""
    names = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise RigInputError(f"unknown format(s) {', '.join(unknown) or '(none given)'}; choose from "
                            f"{', '.join(FORMATS)}")
    return list(dict.fromkeys(names))


def export(tracks: Track | Iterable[Track], formats: str | Iterable[str], out_dir: str | os.PathLike,
           floor: str = "feet") -> list[Path]:
    """Write each track in each of the formats that can hold it into out_dir (atomically); returns the paths.

    `floor` places body tracks in BVH and GLB: "feet" on y = 0 (default) or "hips" at the origin (BEAT's).
    """
    tracks = [tracks] if isinstance(tracks, FaceTrack | BodyTrack) else list(tracks)
    names = parse_formats(formats)
    standing = {id(track): placed(track, floor) for track in tracks if isinstance(track, BodyTrack)}
    jobs = []
    for name in names:
        writers = [(standing.get(id(track), track) if name in _FLOORED else track, *FORMATS[name][type(track)])
                   for track in tracks if type(track) in FORMATS[name]]
        if not writers:
            kinds = " or ".join(kind.__name__ for kind in FORMATS[name])
            raise RigInputError(f"format {name!r} needs a {kinds}; the input holds "
                                f"{', '.join(type(t).__name__ for t in tracks) or 'no tracks'}")
        jobs.extend(writers)
    out = Path(out_dir)
    paths = []
    for track, file_name, write in jobs:
        write(track, out / file_name)
        paths.append(out / file_name)
    return paths


def read_track(path: str | os.PathLike) -> Track:
    """Read a face or body track from any supported file, chosen by its extension."""
    path = Path(path)
    if not path.is_file():
        raise RigInputError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], Track]] = {
        ".csv": read_livelink_csv, ".json": read_arkit_json, ".bvh": read_bvh, ".glb": read_glb,
    }
    if suffix not in readers:
        raise RigInputError(f"cannot tell the format of {path}; give a .csv (Live Link), .json (ARKit), .bvh or .glb "
                            "(SMPL-X .npz files are written, not read)")
    return readers[suffix](path)

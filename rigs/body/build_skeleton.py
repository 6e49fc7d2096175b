"""Build the shipped BEAT skeleton JSON from a BEAT BVH file.

Usage: ``python -m rigs.body.build_skeleton BVH [--out PATH]`` with a BEAT take, e.g. the shared data's
``beat/bvh/2_scott_0_1_1.bvh`` (rigs.paths.shared_data).
Only the HIERARCHY is kept (names, parents, offsets in centimetres, channels, End Sites), no motion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rigs.body.skeleton import BEAT_SKELETON_JSON
from rigs.errors import RigInputError
from rigs.formats.bvh import read_bvh_skeleton

BEAT_JOINTS = 75


def main(argv: list[str] | None = None) -> int:
    """Read the BVH hierarchy, check it is BEAT's, and write the skeleton JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bvh", type=Path, help="a BEAT take's .bvh file")
    parser.add_argument("--out", type=Path, default=BEAT_SKELETON_JSON, help="where to write the JSON")
    args = parser.parse_args(argv)
    try:
        skeleton = read_bvh_skeleton(args.bvh, units="cm")
        if skeleton.n_joints != BEAT_JOINTS or skeleton.names[0] != "Hips":
            raise RigInputError(
                f"'{args.bvh}' has {skeleton.n_joints} joints rooted at {skeleton.names[0]!r}; the BEAT skeleton has "
                f"{BEAT_JOINTS} rooted at 'Hips'. Give a BEAT take's .bvh"
            )
    except RigInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    skeleton.save_json(
        args.out,
        source=f"HIERARCHY of BEAT take {args.bvh.name} (BEAT dataset, CC BY-NC 4.0); no motion",
        up_axis="Y",
    )
    print(f"wrote {args.out} ({skeleton.n_joints} joints, {skeleton.n_channels} channels per frame)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Draw the BEAT skeleton at rest and in the first frame of the real take: `python docs/figures_body.py`.

Writes docs/beat_skeleton_rest.png and docs/beat_first_frame.png (front and side views, Y up, centimetres). The
first-frame figure needs the BEAT sample in ../shared/data; without it only the rest figure is drawn.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rigs.body import Skeleton, load_beat_skeleton  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402
from rigs.formats.bvh import BvhHeaderWarning, read_bvh  # noqa: E402
from rigs.paths import shared_data  # noqa: E402

DOCS = Path(__file__).resolve().parent
BEAT_BVH = shared_data("beat", "bvh", "2_scott_0_1_1.bvh")
# Sparse labels: enough to read the chain, few enough not to overlap.
FRONT_LABELS = (
    "Hips", "Spine3", "Neck", "Head", "HeadEnd", "RightArm", "RightForeArm", "RightHand",
    "LeftArm", "LeftForeArm", "LeftHand", "RightLeg", "RightFoot", "LeftLeg", "LeftToeBase",
)
SIDE_LABELS = (
    "Hips", "Spine3", "Head", "HeadEnd", "RightForeArm", "RightHand", "RightLeg", "RightFoot", "RightToeBaseEnd",
)


def _colour(name: str) -> str:
    return "tab:red" if name.startswith("Right") else "tab:blue" if name.startswith("Left") else "0.25"


def _draw(ax, skeleton: Skeleton, positions: np.ndarray, horizontal: int, labels: tuple[str, ...], title: str) -> None:
    """Bones as lines from parent to child, projected on (horizontal axis, Y)."""
    for j in range(1, skeleton.n_joints):
        p = skeleton.parents[j]
        ax.plot(positions[[p, j], horizontal], positions[[p, j], 1], color=_colour(skeleton.names[j]), lw=1.6)
    ax.scatter(positions[:, horizontal], positions[:, 1], s=5, color="k", zorder=3)
    placed: list[np.ndarray] = []
    for name in labels:
        point = positions[skeleton.index(name), [horizontal, 1]]
        if any(np.linalg.norm(point - other) < 3.0 for other in placed):
            continue  # joints that project onto each other (arms in a side view) get one label
        placed.append(point)
        ax.annotate(name, point, xytext=(4, 2), textcoords="offset points", fontsize=6, color=_colour(name))
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.set_ylabel("Y (cm, up)")


def figure(skeleton: Skeleton, positions: np.ndarray, title: str, path: Path) -> None:
    """Front and side views of one pose, written atomically as a PNG."""
    fig = Figure(figsize=(11, 7.5), dpi=130)
    front, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    _draw(front, skeleton, positions, 0, FRONT_LABELS, "front (facing the viewer; its right side in red, on the left)")
    front.set_xlabel("X (cm)")
    _draw(side, skeleton, positions, 2, SIDE_LABELS, "side (from its right; it faces +Z, to the right)")
    side.set_xlabel("Z (cm, forward)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {path}")


def main() -> int:
    """Draw the rest pose, and the first frame of the BEAT take when the data is present."""
    skeleton = load_beat_skeleton()
    figure(skeleton, skeleton.rest_positions(), "BEAT skeleton, rest pose (all rotations zero)",
           DOCS / "beat_skeleton_rest.png")
    if not BEAT_BVH.is_file():
        print(f"skipped the first frame: {BEAT_BVH} not found", file=sys.stderr)
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)  # the sample's header is known to disagree with its rows
        track = read_bvh(BEAT_BVH)
    figure(track.skeleton, track.positions()[0], f"BEAT take {BEAT_BVH.stem}, first frame ({track.fps:g} fps)",
           DOCS / "beat_first_frame.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Weight shifts over planted feet: `python docs/figures_standing.py [--out PATH]` (needs ../shared/data).

Writes docs/standing.png: the procedural body on BEAT take 2_scott_0_1_1 at neutral, seed 0, with the standing layer
the pipeline puts on every body (generators/procedural/standing.py). Top: the whole body from the front and from its
right side every 0.4 s through the first weight shift (pelvis, legs and feet drawn in red; grey circles: where the
feet were in the first pose: they do not move). Bottom: over 30 s, the hips' sideways offset, each knee's flexion,
and the pauses between phrases (grey) in which the shifts prefer to fall.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from avatar.emotion import constant_emotion  # noqa: E402
from avatar.evaluation.beat import beat_content  # noqa: E402
from avatar.evaluation.kinematics import knee_flexion  # noqa: E402
from generators.procedural.body import animate_body  # noqa: E402
from generators.procedural.signals import phrases  # noqa: E402
from generators.procedural.standing import shift_weight  # noqa: E402

TAKE = "2_scott_0_1_1"
LOWER = ("Hips", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "LeftUpLeg", "LeftLeg", "LeftFoot",
         "LeftToeBase")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("standing.png"))
    args = parser.parse_args()
    content = beat_content(TAKE)
    emotion = constant_emotion("neutral", 0.8, content.n_frames)
    body = animate_body(content, emotion, seed=0)
    stood = shift_weight(body, content, emotion, seed=0)
    skeleton, fps = stood.skeleton, stood.fps
    fk = skeleton.forward_kinematics(stood.rotations, stood.root_positions)
    positions = fk.positions
    sideways = stood.root_positions[:, 0] - body.root_positions[:, 0]
    moving = np.abs(np.gradient(sideways)) * fps > 0.5
    first = int(np.flatnonzero(moving)[0])
    frames = [first - int(0.3 * fps) + k * int(0.4 * fps) for k in range(6)]

    fig = Figure(figsize=(12, 11), dpi=100)
    grid = fig.add_gridspec(3, len(frames), height_ratios=(1.6, 1.6, 1.0), hspace=0.25, left=0.05, right=0.97,
                            top=0.93, bottom=0.06)
    lower = {skeleton.index(name) for name in LOWER}
    for row, (axis, view) in enumerate(((0, "front"), (2, "side"))):
        for column, frame in enumerate(frames):
            ax = fig.add_subplot(grid[row, column])
            for joint, parent in enumerate(skeleton.parents):
                if parent < 0:
                    continue
                a, b = positions[frame, parent], positions[frame, joint]
                bold = joint in lower and parent in lower
                ax.plot([a[axis], b[axis]], [a[1], b[1]], color="tab:red" if bold else "0.35", lw=2.2 if bold else 1)
            for name in ("RightToeBase", "LeftToeBase", "RightFoot", "LeftFoot"):  # where the feet were at first
                j = skeleton.index(name)
                ax.plot(positions[frames[0], j, axis], positions[frames[0], j, 1], "o", color="0.5", ms=6, mfc="none")
            ax.axhline(positions[frames[0], skeleton.index("RightToeBase"), 1] - 1.5, color="0.7", lw=0.8)
            ax.set_xlim(-35, 35)
            ax.set_ylim(-92, 70)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{view}, {frame / fps:.2f} s: hips {sideways[frame]:+.1f} cm", fontsize=8)
    ax = fig.add_subplot(grid[2, :])
    times = np.arange(stood.n_frames) / fps
    span = times < 30
    ends = [b for _, b in phrases(content)]
    starts = [a for a, _ in phrases(content)][1:]
    for end, start in zip(ends, starts, strict=False):
        if end < 30:
            ax.axvspan(end, min(start, 30), color="0.9", lw=0)
    ax.plot(times[span], sideways[span], color="tab:red", lw=1.5, label="hips sideways (cm, + = left)")
    flexion = knee_flexion(stood)
    for side, colour in (("Right", "tab:blue"), ("Left", "tab:green")):
        ax.plot(times[span], flexion[side][span] / 5, color=colour, lw=1,
                label=f"{side.lower()} knee flexion (deg / 5)")
    ax.set_xlim(0, 30)
    ax.set_xlabel("seconds (grey: pauses between phrases)")
    ax.legend(loc="upper right", fontsize=8, ncol=3)
    fig.suptitle(f"Weight shifts over planted feet: {TAKE}, procedural body, neutral, seed 0 "
                 "(front and right-side views, cm)", fontsize=10)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

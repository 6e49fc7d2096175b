"""Body motion against the real capture: `python docs/figures_body_vs_capture.py [--out PATH]` (needs ../shared/data).

Writes docs/body_vs_capture.png: BEAT take 2_scott_0_1_1 (neutral), its real capture next to the procedural and the
learned (default) body generated on its audio at neutral, seed 0, all at 15 fps (avatar/evaluation/kinematics.py).
Rows: poses every 2 s from 20 s on (front view, hips at the origin, wrist paths of the surrounding 2 s drawn
faintly), then the height of the right wrist above the hips and the arms' speed over the same 12 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from avatar.emotion import constant_emotion  # noqa: E402
from avatar.evaluation.beat import BEAT, beat_content  # noqa: E402
from avatar.evaluation.kinematics import (  # noqa: E402
    ARMS,
    MOTION_JOINTS,
    load_capture,
    motion_from_track,
    smoothed_step_speed,
)
from generators.procedural.body import animate_body  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402

DOCS = Path(__file__).resolve().parent
TAKE = "2_scott_0_1_1"
START_S, SPAN_S, STEP_S = 20.0, 12.0, 2.0
BONES = [  # (child, parent) among MOTION_JOINTS
    ("Spine3", "Hips"),
    ("Neck", "Spine3"),
    ("Head", "Neck"),
    ("RightShoulder", "Spine3"),
    ("RightArm", "RightShoulder"),
    ("RightForeArm", "RightArm"),
    ("RightHand", "RightForeArm"),
    ("LeftShoulder", "Spine3"),
    ("LeftArm", "LeftShoulder"),
    ("LeftForeArm", "LeftArm"),
    ("LeftHand", "LeftForeArm"),
]
COLOURS = {"real capture": "0.2", "procedural": "tab:orange", "learned (default)": "tab:green"}


def _draw(ax, positions: np.ndarray, trail: np.ndarray, colour: str) -> None:
    """One pose (J, 3) in front view, hips at the origin, with the wrists' trail (K, 2, 3) drawn faintly."""
    at = {name: positions[k] - positions[0] for k, name in enumerate(MOTION_JOINTS)}
    for child, parent in BONES:
        ax.plot([at[parent][0], at[child][0]], [at[parent][1], at[child][1]], color=colour, lw=2.0)
    ax.add_patch(matplotlib.patches.Circle((at["Head"][0], at["Head"][1] + 6.0), 8.0, fill=False, color=colour))
    for side in range(2):
        ax.plot(
            trail[:, side, 0] - positions[0, 0], trail[:, side, 1] - positions[0, 1], color=colour, lw=0.6, alpha=0.35
        )
    ax.set_xlim(-60, 60)
    ax.set_ylim(-30, 85)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "body_vs_capture.png")
    args = parser.parse_args()
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}; this figure needs ../shared/data/beat", file=sys.stderr)
        return 1
    from generators.learned.animate import LearnedAnimator

    content = beat_content(TAKE)
    neutral = constant_emotion("neutral", 0.8, content.n_frames)
    motions = {
        "real capture": load_capture(BEAT / "bvh" / f"{TAKE}.bvh"),
        "procedural": motion_from_track(animate_body(content, neutral, seed=0)),
        "learned (default)": motion_from_track(LearnedAnimator.from_pretrained().animate(content, neutral, 0)[1]),
    }
    fps = motions["real capture"].fps
    times = np.arange(START_S, START_S + SPAN_S, STEP_S)
    fig = Figure(figsize=(2.0 * len(times), 2.2 * len(motions) + 4.6), dpi=90)
    grid = fig.add_gridspec(len(motions) + 2, len(times), height_ratios=[2.2] * len(motions) + [2.3, 2.3])
    hands = [MOTION_JOINTS.index("RightHand"), MOTION_JOINTS.index("LeftHand")]
    for row, (name, motion) in enumerate(motions.items()):
        for col, t in enumerate(times):
            frame = int(round(t * fps))
            trail = motion.positions[max(frame - int(fps), 0) : frame + int(fps), hands]
            ax = fig.add_subplot(grid[row, col])
            _draw(ax, motion.positions[frame], trail, COLOURS[name])
            ax.set_title(f"{name}, {t:.0f} s" if col == 0 else f"{t:.0f} s", fontsize=8)
    height, speed = fig.add_subplot(grid[-2, :]), fig.add_subplot(grid[-1, :])
    span = slice(int(START_S * fps), int((START_S + SPAN_S) * fps))
    for name, motion in motions.items():
        t = np.arange(len(motion.positions))[span] / fps
        wrist = motion.relative_to_hips(("RightHand",))[span, 0, 1]
        height.plot(t, wrist, color=COLOURS[name], label=name)
        speed.plot(t, smoothed_step_speed(motion.joints(ARMS), fps)[span], color=COLOURS[name], label=name)
    height.set_ylabel("right wrist above hips (cm)")
    speed.set_ylabel("arm speed (cm/s)")
    speed.set_xlabel("time in the take (s)")
    height.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"BEAT {TAKE}, neutral: real capture vs generated bodies on its audio (15 fps, seed 0)", fontsize=11)
    fig.tight_layout()
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

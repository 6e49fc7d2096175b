"""Contact sheet of the procedural body animator's emotions: `python docs/figures_procedural_body.py`.

Writes docs/body_emotions.png: the bundled example sentence spoken by the default voice, animated by
`animate_body` under each of the eight emotions at intensity 0.8 (seed 0). Per emotion (one column): a front view
at a stroke (an accented syllable's beat) with the wrist paths of the whole clip drawn faintly, a side view of the
same frame, and a front view at a fixed mid-speech moment shared by all columns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from avatar.emotion import constant_emotion  # noqa: E402
from avatar.frontend.speech import speak  # noqa: E402
from generators.conditioning import EMOTIONS  # noqa: E402
from generators.procedural.affect import body_expression  # noqa: E402
from generators.procedural.body import animate_body  # noqa: E402
from generators.procedural.gestures import BodyStyle, plan_gestures  # noqa: E402
from rigs.body import Skeleton  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402

DOCS = Path(__file__).resolve().parent
EXAMPLE = DOCS.parent / "demos" / "example" / "sentence.txt"
INTENSITY = 0.8
SEED = 0
MID_SPEECH = 0.45  # share of the clip where the shared mid-speech frame is taken
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")


def _colour(name: str) -> str:
    return "tab:red" if name.startswith("Right") else "tab:blue" if name.startswith("Left") else "0.25"


def _project(positions: np.ndarray, view: str) -> np.ndarray:
    """(J, 2) drawing coordinates: front (X, Y), side (Z, Y) or three-quarter (orthographic, turned 40°)."""
    if view == "front":
        return positions[:, [0, 1]]
    if view == "side":
        return positions[:, [2, 1]]
    angle = np.radians(40.0)
    return np.stack([np.cos(angle) * positions[:, 0] + np.sin(angle) * positions[:, 2], positions[:, 1]], axis=1)


def _draw(ax, skeleton: Skeleton, positions: np.ndarray, rotations: np.ndarray, view: str) -> None:
    """Bones as lines from parent to child (fingers thinner), the head as a circle with a nose tick."""
    xy = _project(positions, view)
    for j in range(1, skeleton.n_joints):
        p = skeleton.parents[j]
        name = skeleton.names[j]
        width = 0.8 if any(f in name for f in FINGERS) else 2.2
        ax.plot(xy[[p, j], 0], xy[[p, j], 1], color=_colour(name), lw=width, solid_capstyle="round")
    head = skeleton.index("Head")
    centre = positions[head] + rotations[head] @ np.array([0.0, 5.0, 0.0])
    nose = centre + rotations[head] @ np.array([0.0, -1.0, 13.0])
    (cx, cy), (nx, ny) = _project(np.stack([centre, nose]), view)
    ax.add_patch(matplotlib.patches.Circle((cx, cy), 8.5, fill=False, color="0.25", lw=1.5))
    ax.plot([cx, nx], [cy, ny], color="0.25", lw=1.5)


def _stroke_frame(content, emotion, fps: float, n: int) -> int:
    """The frame of the beat stroke nearest the clip's middle (the same plan animate_body makes for seed 0)."""
    rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(3)[0])
    plan = plan_gestures(content, body_expression(emotion, fps), BodyStyle(), rng)
    # A beat, not a word-triggered gesture: away from every semantic event.
    strokes = np.asarray([t for t in plan.strokes if all(abs(t - e.start) > 0.6 for e in plan.events)])
    if not len(strokes):
        return n // 2
    return int(round(strokes[np.argmin(np.abs(strokes - n / fps / 2))] * fps))


def main() -> int:
    """Animate the example under every emotion and draw the contact sheet."""
    text = EXAMPLE.read_text().strip()
    speech = speak(text)
    content = speech.content()
    n, fps = content.n_frames, content.fps
    mid = int(MID_SPEECH * n)
    fig = Figure(figsize=(2.3 * len(EMOTIONS), 12.5), dpi=110)
    axes = fig.subplots(3, len(EMOTIONS))
    wrists = None
    for col, label in enumerate(EMOTIONS):
        emotion = constant_emotion(label, INTENSITY, n)
        track = animate_body(content, emotion, seed=SEED)
        skeleton = track.skeleton
        fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
        positions, rotations = fk.positions, fk.rotations
        wrists = [skeleton.index("RightHand"), skeleton.index("LeftHand")]
        stroke = _stroke_frame(content, emotion, fps, n)
        front, side, later = axes[:, col]
        for w in wrists:
            front.plot(positions[:, w, 0], positions[:, w, 1], color=_colour(skeleton.names[w]), lw=0.6, alpha=0.4)
        # Viewed from the front, the character's right (-X, red) is on the viewer's left.
        _draw(front, skeleton, positions[stroke], rotations[stroke], "front")
        _draw(side, skeleton, positions[stroke], rotations[stroke], "side")
        _draw(later, skeleton, positions[mid], rotations[mid], "three-quarter")
        front.set_title(f"{label}\nfront, beat stroke at {stroke / fps:.2f} s", fontsize=9)
        side.set_title("side, same frame (faces right)", fontsize=8)
        later.set_title(f"three-quarter view at {mid / fps:.2f} s", fontsize=8)
        for ax, xlim in ((front, (-55, 55)), (side, (-40, 60)), (later, (-50, 60))):
            ax.set_xlim(*xlim)
            ax.set_ylim(-95, 90)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    fig.suptitle(f"Procedural body animator: the example sentence under eight emotions (intensity {INTENSITY}, "
                 f"seed {SEED}); faint lines: wrist paths over the clip", fontsize=11)
    fig.tight_layout()
    path = DOCS / "body_emotions.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

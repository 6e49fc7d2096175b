"""Sample tracks that exercise every channel, for checking exports by eye and with validators.

``python -m rigs.formats.sample OUT_DIR`` writes ``face.glb`` (a tour of the 52 shapes, half a second each, with
head and gaze motion) and ``body.glb`` (the BEAT skeleton waving both arms).
"""

from __future__ import annotations

import sys

import numpy as np

from rigs.body.skeleton import load_beat_skeleton
from rigs.body.track import BodyTrack
from rigs.face.arkit import BLENDSHAPES
from rigs.face.track import FaceTrack

FPS = 30.0


def shape_tour(seconds_per_shape: float = 0.5) -> FaceTrack:
    """Each of the 52 shapes rising to 1 and falling back in turn, with a slow head and gaze sway."""
    per = int(round(seconds_per_shape * FPS))
    n = per * len(BLENDSHAPES)
    weights = np.zeros((n, len(BLENDSHAPES)), np.float32)
    bump = np.sin(np.linspace(0, np.pi, per)) ** 2
    for k in range(len(BLENDSHAPES)):
        weights[k * per:(k + 1) * per, k] = bump
    t = np.arange(n) / FPS
    head = np.stack([0.25 * np.sin(0.5 * t), 0.1 * np.sin(0.7 * t), 0.08 * np.sin(0.3 * t)], 1)
    gaze = np.tile(np.stack([0.3 * np.sin(1.1 * t), 0.15 * np.cos(0.9 * t)], 1), (1, 2))
    return FaceTrack(weights, FPS, head, gaze)


def arm_wave(seconds: float = 4.0) -> BodyTrack:
    """The BEAT skeleton raising and waving both arms."""
    skeleton = load_beat_skeleton()
    track = BodyTrack.rest(skeleton, int(seconds * FPS), FPS)
    t = track.times
    rotations = track.rotations.copy()
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        arm, forearm = skeleton.index(f"{side}Arm"), skeleton.index(f"{side}ForeArm")
        order = skeleton.rotation_orders[arm]
        rotations[:, arm, order.index("Z")] = sign * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
        rotations[:, forearm, order.index("Y")] = sign * 0.8 * np.sin(2 * np.pi * 1.0 * t)
    return BodyTrack(skeleton, FPS, rotations, track.root_positions)


def main(out_dir: str) -> None:
    from rigs.formats.export import export

    for path in export([shape_tour(), arm_wave()], ["glb"], out_dir):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/gltf")

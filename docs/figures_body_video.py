"""Body motion against the real capture, to watch: `python docs/figures_body_video.py` (needs ../shared/data/beat).

Writes two files, on BEAT take 2_scott_0_1_1's audio and TextGrid at neutral (intensity 0.8, seed 0), as
bench/body_vs_capture.py measures it:
- docs/body_vs_capture.mp4: the first SECONDS s side by side, real capture | procedural | learned, each drawn by the
  project's capsule preview (generators/render/preview.py), at the capture's 15 fps, H.264 with the take's speech;
- docs/body_poses.png: a contact sheet, one row per emotion (intensity 0.8, the same audio): the procedural body at
  MOMENTS, then the learned body at the same moments.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from avatar.emotion import constant_emotion  # noqa: E402
from avatar.evaluation.beat import BEAT, beat_content  # noqa: E402
from generators.conditioning import EMOTIONS  # noqa: E402
from generators.learned.animate import DEFAULT_CHECKPOINT, LearnedAnimator  # noqa: E402
from generators.procedural.body import animate_body  # noqa: E402
from generators.render.encode import write_video  # noqa: E402
from generators.render.preview import PreviewRenderer  # noqa: E402
from rigs.body.track import BodyTrack  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402
from rigs.formats.bvh import BvhHeaderWarning, read_bvh  # noqa: E402

DOCS = Path(__file__).resolve().parent
TAKE = "2_scott_0_1_1"
SECONDS = 20.0
FPS = 15.0  # the capture's clock (its rows are 15 fps under a 120-fps header)
MOMENTS = (4.0, 9.5, 15.0, 22.5, 31.0)  # s into the take: mid-speech moments for the contact sheet
TILE = 200  # px per contact-sheet tile


def capture_track() -> BodyTrack:
    """The real capture at 15 fps, its odd first row replaced by the second (as avatar/evaluation/kinematics.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)
        track = read_bvh(BEAT / "bvh" / f"{TAKE}.bvh")
    rotations, root = track.rotations.copy(), track.root_positions.copy()
    rotations[0], root[0] = rotations[1], root[1]
    return BodyTrack(track.skeleton, track.fps, rotations, root)


def first(track: BodyTrack, n: int) -> BodyTrack:
    """The first n frames of a track."""
    return BodyTrack(track.skeleton, track.fps, track.rotations[:n], track.root_positions[:n])


def at_times(track: BodyTrack, times) -> BodyTrack:
    """A track of the frames nearest the given times (s)."""
    index = np.clip(np.round(np.asarray(times) * track.fps).astype(int), 0, track.n_frames - 1)
    return BodyTrack(track.skeleton, track.fps, track.rotations[index], track.root_positions[index])


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    """The image with `text` written in its top-left corner."""
    picture = Image.fromarray(image)
    ImageDraw.Draw(picture).text((8, 6), text, fill=(20, 20, 20))
    return np.asarray(picture)


def write_side_by_side(learned: LearnedAnimator, size: int) -> Path:
    """docs/body_vs_capture.mp4 (module docstring)."""
    content = beat_content(TAKE)
    neutral = constant_emotion("neutral", 0.8, content.n_frames)
    n = int(round(SECONDS * FPS))
    tracks = {
        "real capture (BEAT)": first(capture_track(), n),
        "procedural": first(animate_body(content, neutral, seed=0).resampled(FPS), n),
        "learned (default)": first(learned.animate(content, neutral, 0)[1].resampled(FPS), n),
    }
    renderer = PreviewRenderer(size)
    views = [map(labelled, renderer.body_frames(track), [name] * n) for name, track in tracks.items()]
    frames = (np.concatenate(images, axis=1) for images in zip(*views, strict=True))
    path = DOCS / "body_vs_capture.mp4"
    write_video(path, frames, FPS, BEAT / "wav" / f"{TAKE}.wav")
    return path


def write_contact_sheet(learned: LearnedAnimator) -> Path:
    """docs/body_poses.png (module docstring)."""
    content = beat_content(TAKE)
    renderer = PreviewRenderer(TILE)
    rows = []
    for label in EMOTIONS:
        emotion = constant_emotion(label, 0.8, content.n_frames)
        procedural = at_times(animate_body(content, emotion, seed=0), MOMENTS)
        body = at_times(learned.animate(content, emotion, 0)[1], MOMENTS)
        tiles = []
        for name, track in (("procedural", procedural), ("learned", body)):
            frames = renderer.body_frames(track)
            tiles += [labelled(t, f"{label}, {name} {s:g} s") for t, s in zip(frames, MOMENTS, strict=True)]
        rows.append(np.concatenate(tiles, axis=1))
    path = DOCS / "body_poses.png"
    with atomic_path(path) as tmp:
        Image.fromarray(np.concatenate(rows, axis=0)).save(tmp, format="png", optimize=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--size", type=int, default=320, help="px per video view (default 320)")
    args = parser.parse_args()
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}; this figure needs ../shared/data/beat", file=sys.stderr)
        return 1
    learned = LearnedAnimator.from_pretrained(args.checkpoint)
    for path in (write_side_by_side(learned, args.size), write_contact_sheet(learned)):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

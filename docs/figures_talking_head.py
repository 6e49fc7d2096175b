"""Contact sheet of the talking-head renderer: `python docs/figures_talking_head.py`.

Writes docs/talking_head.png: both bundled public-domain portraits (matplotlib's grace_hopper.jpg, neutral, and
scikit-image's astronaut, smiling) as cropped, then rendered neutral (the astronaut's own smile taken out), with
the jaw open, with the procedural animator's happiness, anger and sadness at 0.8 (its expression layer on a
silent face, so only the emotion shows), a blink, the gaze to the character's left and the head turned 15 degrees.
`--out` writes elsewhere; `--size` changes the tile size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from generators.conditioning import Content  # noqa: E402
from generators.procedural.face import animate_face  # noqa: E402
from generators.talking_head import Portrait, TalkingHeadRenderer  # noqa: E402
from rigs.face.arkit import INDEX  # noqa: E402
from rigs.face.track import FaceTrack  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402

DOCS = Path(__file__).resolve().parent
CROP = (slice(28, 476), slice(56, 456))  # rows, columns of a 512 frame that hold the head
MAX_BYTES = 500_000


def emotion_weights(label: str, intensity: float = 0.8, fps: float = 30.0) -> np.ndarray:
    """The procedural animator's face for an emotion on a silent clip, 2.5 s in: blinks and gaze left out."""
    from avatar.emotion import constant_emotion

    n = int(3 * fps)
    silent = Content(fps, (), (), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))
    weights = animate_face(silent, constant_emotion(label, intensity, n), seed=0).weights[int(2.5 * fps)].copy()
    for name in INDEX:
        if name.startswith(("eyeBlink", "eyeLook")):
            weights[INDEX[name]] = 0.0
    return weights


def poses() -> list[tuple[str, FaceTrack]]:
    """The sheet's columns after the photo: a label and a one-frame track each."""
    def one(weights=None, head=(0.0, 0.0, 0.0), **named) -> FaceTrack:
        w = np.zeros(52, np.float32) if weights is None else np.asarray(weights, np.float32).copy()
        for name, value in named.items():
            w[INDEX[name]] = value
        return FaceTrack(w[None], 30.0, np.asarray([head], np.float32))

    return [
        ("neutral", one()),
        ("jaw open 0.6", one(jawOpen=0.6)),
        ("happiness 0.8", one(emotion_weights("happiness"))),
        ("anger 0.8", one(emotion_weights("anger"))),
        ("sadness 0.8", one(emotion_weights("sadness"))),
        ("blink", one(eyeBlinkLeft=1.0, eyeBlinkRight=1.0)),
        ("gaze to her left", one(eyeLookOutLeft=0.8, eyeLookInRight=0.8)),
        ("head yaw 15 deg", one(head=(np.radians(15.0), 0.0, 0.0))),
    ]


def sheet(tile: int = 176) -> np.ndarray:
    """The contact sheet as an RGB array."""
    import cv2
    import skimage.data
    from PIL import Image, ImageDraw

    columns = poses()
    portraits = [("grace_hopper.jpg", Portrait.load(None)),
                 ("astronaut (smiling)", Portrait.load(skimage.data.astronaut()))]
    height = round(tile * (CROP[0].stop - CROP[0].start) / (CROP[1].stop - CROP[1].start))
    label_h = 18
    canvas = Image.new("RGB", ((len(columns) + 1) * tile, label_h + len(portraits) * (height + label_h)), "white")
    draw = ImageDraw.Draw(canvas)
    for column, caption in enumerate(["photo (cropped)"] + [c for c, _ in columns]):
        draw.text((column * tile + 4, 3), caption, fill="black")
    for row, (name, portrait) in enumerate(portraits):
        renderer = TalkingHeadRenderer(portrait)
        top = label_h + row * (height + label_h)
        draw.text((4, top + 2), name, fill="black")
        frames = [portrait.image] + [renderer.render(track).frames[0] for _, track in columns]
        for column, frame in enumerate(frames):
            small = cv2.resize(frame[CROP], (tile, height), interpolation=cv2.INTER_AREA)
            canvas.paste(Image.fromarray(small), (column * tile, top + label_h))
    return np.asarray(canvas)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "talking_head.png")
    parser.add_argument("--size", type=int, default=176, help="tile width in pixels")
    args = parser.parse_args(argv)
    from PIL import Image

    image = Image.fromarray(sheet(args.size))
    with atomic_path(args.out) as tmp:
        image.save(tmp, format="PNG", optimize=True)
        if tmp.stat().st_size > MAX_BYTES:  # photos compress poorly as PNG: a dithered 256-colour palette
            image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(tmp, format="PNG", optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

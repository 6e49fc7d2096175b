"""Contact sheet of the talking head on every portrait: `python docs/figures_portraits.py`.

Writes docs/portraits_emotions.jpg: each portrait of ../shared/data/portraits (20, described in its README) and the
two bundled ones (grace_hopper, astronaut), as cropped, then one mid-sentence frame per emotion of BEAT's 8 at
intensity 0.8: the procedural face speaking the bundled example sentence (the offline voice), the same frame for
every emotion (the most open mouth in the sentence's middle third of the neutral track), so the mouth interior,
the creases and the framing are all seen. A portrait that cannot be animated shows its error in its row.
`--out` writes elsewhere, `--tile` sets the tile width, `--rows DIR` also writes each portrait's row at full size
(512 px tiles) to look at closely, `--only NAME ...` limits the sheet to some portraits.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import numpy as np

from generators.conditioning import EMOTIONS  # noqa: E402
from generators.procedural.face import animate_face  # noqa: E402
from generators.talking_head import Portrait, PortraitError, TalkingHeadRenderer  # noqa: E402
from rigs.face.track import FaceTrack  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402
from rigs.paths import shared_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORTRAITS = shared_data("portraits")
MAX_BYTES = 3_000_000
INTENSITY = 0.8


def portrait_sources() -> list[tuple[str, object]]:
    """(name, source for Portrait.load) of the bundled portraits and of the shared ones that are present."""
    import skimage.data

    sources: list[tuple[str, object]] = [("grace_hopper", None), ("astronaut", skimage.data.astronaut())]
    return sources + [(path.stem, path) for path in sorted(PORTRAITS.glob("*.jpg"))]


def emotion_tracks() -> list[tuple[str, FaceTrack]]:
    """One single-frame track per emotion: the same mid-sentence frame of the procedural face at INTENSITY."""
    from avatar.emotion import constant_emotion
    from avatar.frontend.speech import speak

    content = speak((ROOT / "demos" / "example" / "sentence.txt").read_text().strip()).content()
    n = content.n_frames
    tracks = {label: animate_face(content, constant_emotion(label, INTENSITY, n), seed=0) for label in EMOTIONS}
    middle = np.arange(n // 3, 2 * n // 3)
    frame = int(middle[np.argmax(tracks["neutral"]["jawOpen"][middle])])
    return [
        (label, FaceTrack(t.weights[frame : frame + 1], t.fps, t.head[frame : frame + 1], t.gaze[frame : frame + 1]))
        for label, t in tracks.items()
    ]


def portrait_row(source, tracks: list[tuple[str, FaceTrack]]) -> list[np.ndarray] | str:
    """The cropped photo and one rendered frame per track, or the error that stops this portrait."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # several faces: the largest is animated, as the sheet shows
            portrait = Portrait.load(source)
    except PortraitError as error:
        return str(error)
    renderer = TalkingHeadRenderer(portrait)
    return [portrait.image] + [renderer.render(track).frames[0] for _, track in tracks]


def sheet(tile: int = 150, only: list[str] | None = None, rows_dir: Path | None = None) -> np.ndarray:
    """The contact sheet as an RGB array (and, with rows_dir, each row at full size as rows_dir/NAME.jpg)."""
    import cv2
    from PIL import Image, ImageDraw

    tracks = emotion_tracks()
    sources = [(name, source) for name, source in portrait_sources() if not only or name in only]
    label_h = 16
    columns = ["photo (cropped)"] + [f"{label} {INTENSITY:g}" for label, _ in tracks]
    canvas = Image.new("RGB", (len(columns) * tile, label_h + len(sources) * (tile + label_h)), "white")
    draw = ImageDraw.Draw(canvas)
    for column, caption in enumerate(columns):
        draw.text((column * tile + 4, 2), caption, fill="black")
    for row, (name, source) in enumerate(sources):
        top = label_h + row * (tile + label_h)
        frames = portrait_row(source, tracks)
        print(f"  {name}: {'rendered' if isinstance(frames, list) else frames}", flush=True)
        if isinstance(frames, str):
            draw.text((4, top + 2), name, fill="black")
            draw.multiline_text((8, top + label_h + 8), textwrap.fill(frames, 2 * tile // 7), fill="firebrick")
            continue
        draw.text((4, top + 2), name, fill="black")
        for column, frame in enumerate(frames):
            small = cv2.resize(frame, (tile, tile), interpolation=cv2.INTER_AREA)
            canvas.paste(Image.fromarray(small), (column * tile, top + label_h))
        if rows_dir is not None:
            rows_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.hstack(frames)).save(rows_dir / f"{name}.jpg", quality=90)
    return np.asarray(canvas)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "portraits_emotions.jpg")
    parser.add_argument("--tile", type=int, default=150, help="tile width in pixels")
    parser.add_argument("--rows", type=Path, help="also write each portrait's row at full size into this folder")
    parser.add_argument("--only", nargs="+", help="portrait names (file stems) to include")
    args = parser.parse_args(argv)
    from PIL import Image

    image = Image.fromarray(sheet(args.tile, args.only, args.rows))
    with atomic_path(args.out) as tmp:
        for quality in (88, 80, 70, 60):
            image.save(tmp, format="JPEG", quality=quality, optimize=True)
            if tmp.stat().st_size <= MAX_BYTES:
                break
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

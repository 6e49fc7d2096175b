"""Render the face mesh's contact sheet: the neutral face and all 52 ARKit shapes at weight 1 -> docs/face_shapes.png.

Run ``python docs/figures_face.py``. Each tile shows a frontal view and a three-quarter view from the character's
left (from the right for Right shapes), labelled with the shape's name; one extra tile shows jawOpen with mouthClose
(lips closed over an open jaw).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from generators.render import Camera, render_mesh
from rigs.face.arkit import BLENDSHAPES
from rigs.face.mesh import FaceMesh, load_face_mesh

OUT = Path(__file__).with_name("face_shapes.png")
TARGET = (0.0, -0.032, 0.0)
DISTANCE = 0.62
FOV_DEG = 15.5
LIGHT = (0.0, 0.45, 1.0)  # symmetric, so each Right tile is the mirror image of its Left tile
BACKGROUND = (0.93, 0.94, 0.96)


def camera(yaw_deg: float) -> Camera:
    """A camera on a circle around the face, yaw toward the character's left (+X) when positive."""
    yaw = np.radians(yaw_deg)
    eye = (TARGET[0] + DISTANCE * np.sin(yaw), TARGET[1] + 0.02, TARGET[2] + DISTANCE * np.cos(yaw))
    return Camera(eye=eye, target=TARGET, fov_deg=FOV_DEG)


def render_views(mesh: FaceMesh, weights: np.ndarray, size: int, side: float = 1.0, supersample: int = 2):
    """A frontal and a three-quarter view (from the character's left, or right for side -1), side by side."""
    vertices = mesh.deform(weights)
    views = []
    for yaw, width in ((0.0, size * 7 // 8), (50.0 * side, size * 3 // 4)):
        s = supersample
        view = camera(yaw)
        image = render_mesh(vertices, mesh.triangles, mesh.colors, camera=view, size=(size * s, size * s),
                            light=LIGHT, background=BACKGROUND)
        face_x = view.project(vertices[: mesh.n_landmarks], (size * s, size * s))[:, 0]
        left = int(np.clip((face_x.min() + face_x.max()) / 2 - width * s / 2, 0, (size - width) * s))
        image = image[:, left: left + width * s]  # centred on the face, whichever side it is seen from
        views.append(Image.fromarray(image).resize((width, size), Image.LANCZOS))
    tile = Image.new("RGB", (sum(v.width for v in views), size))
    x = 0
    for view in views:
        tile.paste(view, (x, 0))
        x += view.width
    return tile


def contact_sheet(mesh: FaceMesh, size: int = 224, columns: int = 6) -> Image.Image:
    """All tiles in a labelled grid."""
    entries = [("neutral", mesh.weights_for())]
    entries += [(name, mesh.weights_for(**{name: 1.0})) for name in BLENDSHAPES]
    entries.append(("jawOpen + mouthClose", mesh.weights_for(jawOpen=1.0, mouthClose=1.0)))
    label_h = 22
    tiles = [render_views(mesh, weights, size, -1.0 if name.endswith("Right") else 1.0) for name, weights in entries]
    tile_w = tiles[0].width
    rows = -(-len(entries) // columns)
    sheet = Image.new("RGB", (columns * tile_w, rows * (size + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
    except OSError:
        font = ImageFont.load_default()
    for k, ((name, _), tile) in enumerate(zip(entries, tiles, strict=True)):
        x, y = (k % columns) * tile_w, (k // columns) * (size + label_h)
        sheet.paste(tile, (x, y + label_h))
        draw.text((x + 6, y + 3), name, fill=(20, 20, 20), font=font)
    return sheet


def main(argv: list[str] | None = None) -> None:
    """Write the contact sheet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--size", type=int, default=224, help="tile height in pixels")
    args = parser.parse_args(argv)
    sheet = contact_sheet(load_face_mesh(), args.size)
    tmp = args.out.with_name(f".{args.out.stem}.tmp.png")
    sheet.save(tmp, optimize=True)
    tmp.replace(args.out)  # atomic: a reader never sees half a PNG
    print(f"wrote {args.out} ({sheet.width}x{sheet.height}, {args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

"""The exported face.glb and body.glb as three.js loads and poses them: `python docs/figures_exports.py`.

Writes docs/exports_threejs.png. Both files are written by `rigs.formats.export.export` (the body standing on the
floor, its default), loaded by three.js's own GLTFLoader and played by its AnimationMixer under node; three.js's
getVertexPosition applies the morph targets and the skinning, and the posed vertices are drawn by our rasterizer
(three.js's WebGL renderer needs a GPU context, which node lacks). Needs node with the npm package three (make
setup installs it) and, for the body, the BEAT take in ../shared/data (else the sample arm wave).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from tempfile import TemporaryDirectory

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pygltflib  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from generators.render.rasterizer import Camera, render_mesh  # noqa: E402
from rigs.face.track import FaceTrack  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402
from rigs.formats.bvh import BvhHeaderWarning, read_bvh  # noqa: E402
from rigs.formats.export import export  # noqa: E402
from rigs.formats.sample import arm_wave  # noqa: E402
from rigs.formats.validate import threejs_load  # noqa: E402
from rigs.paths import shared_data  # noqa: E402

DOCS = Path(__file__).resolve().parent
BEAT_BVH = shared_data("beat", "bvh", "2_scott_0_1_1.bvh")
SIZE = (640, 480)


def _indices(path: Path) -> np.ndarray:
    gltf = pygltflib.GLTF2().load(str(path))
    accessor = gltf.accessors[gltf.meshes[0].primitives[0].indices]
    view = gltf.bufferViews[accessor.bufferView]
    return np.frombuffer(gltf.binary_blob(), np.uint32, accessor.count, view.byteOffset or 0).reshape(-1, 3)


def _posed(path: Path, time: float) -> np.ndarray:
    seen = threejs_load(path, [time], vertices=True)
    (vertices,) = seen["samples"][0]["vertices"].values()
    return np.array(vertices, np.float64).reshape(-1, 3)


def _floor(size: float = 1.6, tiles: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chequered floor on y = 0."""
    vertices, triangles, colors = [], [], []
    step = 2 * size / tiles
    for i in range(tiles):
        for k in range(tiles):
            x, z = -size + i * step, -size + k * step
            base = len(vertices)
            vertices += [(x, 0, z), (x + step, 0, z), (x + step, 0, z + step), (x, 0, z + step)]
            triangles += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
            colors += [(0.78, 0.78, 0.74) if (i + k) % 2 else (0.9, 0.9, 0.86)] * 4
    return np.array(vertices), np.array(triangles), np.array(colors)


def face_image(folder: Path) -> np.ndarray:
    from rigs.face.mesh import load_face_mesh

    track = FaceTrack.from_channels({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.4,
                                     "cheekSquintRight": 0.4, "jawOpen": 0.25, "eyeBlinkRight": 0.9,
                                     "headYaw": 0.25, "headRoll": -0.06}, 2)
    export(track, ["glb"], folder)
    vertices = _posed(folder / "face.glb", 1 / track.fps)
    mesh = load_face_mesh()
    centre = vertices.mean(0)
    camera = Camera(eye=tuple(centre + [0.0, 0.02, 0.95]), target=tuple(centre), fov_deg=22)
    return render_mesh(vertices, _indices(folder / "face.glb"), mesh.colors, camera=camera, size=SIZE)


def body_image(folder: Path) -> tuple[np.ndarray, str]:
    if BEAT_BVH.is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BvhHeaderWarning)
            body = read_bvh(BEAT_BVH)
        body, source = type(body)(body.skeleton, body.fps, body.rotations[200:202], body.root_positions[200:202]), \
            "BEAT take 2_scott_0_1_1, frame 200"
    else:
        body, source = arm_wave(1.0), "the sample arm wave"
    export(body, ["glb"], folder)
    vertices = _posed(folder / "body.glb", 1 / body.fps)
    triangles = _indices(folder / "body.glb")
    floor_v, floor_t, floor_c = _floor()
    all_v = np.vstack([vertices, floor_v])
    all_t = np.vstack([triangles, floor_t + len(vertices)])
    colors = np.vstack([np.tile([0.55, 0.62, 0.75], (len(vertices), 1)), floor_c])
    camera = Camera(eye=(1.5, 1.3, 3.6), target=(0.0, 0.75, 0.0), fov_deg=34)
    return render_mesh(all_v, all_t, colors, camera=camera, size=SIZE, light=(0.4, 0.8, 0.6)), source


def main() -> None:
    with TemporaryDirectory() as tmp:
        face = face_image(Path(tmp) / "face")
        body, source = body_image(Path(tmp) / "body")
    figure = Figure(figsize=(9.6, 4.2), dpi=100)
    for k, (image, title) in enumerate(((face, "face.glb: smile, right eye closing, head turned left"),
                                         (body, f"body.glb on the floor (y = 0): {source}"))):
        ax = figure.add_axes((k / 2, 0, 0.5, 0.86))
        ax.imshow(image)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    figure.suptitle("As three.js r187 loads and poses them (GLTFLoader, AnimationMixer, getVertexPosition)",
                    fontsize=10, y=0.985)
    with atomic_path(DOCS / "exports_threejs.png") as tmp:
        figure.savefig(tmp, format="png")
    print(DOCS / "exports_threejs.png")


if __name__ == "__main__":
    main()

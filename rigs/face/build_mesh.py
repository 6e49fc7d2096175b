"""Build the neutral face geometry and topology: ``python -m rigs.face.build_mesh``.

Runs MediaPipe FaceMesh (refined, 478 landmarks) on a public-domain neutral portrait (matplotlib's sample
``grace_hopper.jpg``), turns the landmarks into a metric, exactly left-right symmetric 3-D face and writes
``rigs/face/data/face_topology.npz``. The photo is only the build input; what is stored is our own measurement plus
MediaPipe's topology connectivity (triangles recovered from ``FACEMESH_TESSELATION``, contour loops).

Frame and scale: metres, Y up, +Z toward the viewer, +X the character's left; the origin is the midpoint of the two
iris centres. The scale sets the interpupillary distance (iris centre to iris centre) to 63 mm, the adult mean
(Dodgson 2004); that gives about 89 mm between the outer eye corners and 111 mm nasion to menton.
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

DATA_PATH = Path(__file__).with_name("data") / "face_topology.npz"
INTERPUPILLARY_M = 0.063


def detect_landmarks(image: np.ndarray) -> np.ndarray:
    """MediaPipe's 478 refined landmarks of the one face in an RGB image, as (x px, y px, z px) with y down."""
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as model:
        result = model.process(image)
    if not result.multi_face_landmarks:
        raise RuntimeError("MediaPipe found no face in the build portrait")
    height, width = image.shape[:2]
    points = np.array([[p.x, p.y, p.z] for p in result.multi_face_landmarks[0].landmark], np.float64)
    return points * [width, height, width]  # MediaPipe's z shares x's scale


def mirror_partners(points: np.ndarray, iterations: int = 4) -> tuple[np.ndarray, np.ndarray, float]:
    """Each point's mirror partner, and the symmetry plane (unit normal, offset) that pairs them best."""
    from scipy.optimize import linear_sum_assignment

    normal, offset = np.array([1.0, 0.0, 0.0]), float(np.median(points[:, 0]))
    for _ in range(iterations):
        reflected = points - 2.0 * (points @ normal - offset)[:, None] * normal
        cost = np.linalg.norm(points[:, None] - reflected[None], axis=2)
        _, partner = linear_sum_assignment(cost + cost.T)  # symmetric cost: the assignment comes out an involution
        across = points - points[partner]
        across *= np.sign(across @ normal)[:, None]
        off_plane = np.linalg.norm(across, axis=1) > 1e-6 * np.ptp(points)
        normal = np.linalg.svd(across[off_plane], full_matrices=False)[2][0]
        normal *= np.sign(normal[0])
        offset = float((((points + points[partner]) / 2) @ normal).mean())
    if not np.array_equal(partner[partner], np.arange(len(points))):
        raise RuntimeError("the landmark mirror pairing is not an involution; the build portrait is not frontal enough")
    return partner, normal, offset


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector a onto unit vector b."""
    axis, cos = np.cross(a, b), float(a @ b)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + cos)


def metric_symmetric_face(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks in metres in the rig frame, exactly mirror-symmetric, and each landmark's mirror partner."""
    points = pixels * [1.0, -1.0, -1.0]  # image y down, MediaPipe z away from the camera -> Y up, +Z to the viewer
    partner, normal, offset = mirror_partners(points)
    points = (points - offset * normal) @ _rotation_between(normal, np.array([1.0, 0.0, 0.0])).T
    points = (points + points[partner] * [-1.0, 1.0, 1.0]) / 2  # average with the mirror image: exact symmetry
    points[partner == np.arange(len(points)), 0] = 0.0
    right_iris, left_iris = points[468], points[473]
    points = (points - (right_iris + left_iris) / 2) * (INTERPUPILLARY_M / np.linalg.norm(left_iris - right_iris))
    return points, partner


def faces_from_edges(edges: set[tuple[int, int]]) -> np.ndarray:
    """The triangles of a triangulated surface given only its edges: 3-cliques that are faces, unoriented."""
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    cliques = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    uses = Counter(e for t in cliques for e in itertools.combinations(t, 2))
    # A 3-clique whose every edge already borders 3 cliques is the hidden base of a degree-3 fan, not a face.
    faces = [t for t in cliques if not all(uses[e] == 3 for e in itertools.combinations(t, 2))]
    return np.array(sorted(faces), np.int64)


def symmetric_faces(faces: np.ndarray, partner: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The faces with the few asymmetric diagonals flipped so that the triangulation is its own mirror image."""
    keys = {tuple(sorted(f)) for f in faces}
    mirrored = {tuple(sorted(partner[list(f)])) for f in keys}
    centroid_x = {f: points[list(f), 0].mean() for f in keys}
    # Keep the +X side's choice (and every face whose mirror exists), then mirror it to the -X side.
    keep = {f for f in keys if f in mirrored or centroid_x[f] > 0}
    result = keep | {tuple(sorted(partner[list(f)])) for f in keep}
    return np.array(sorted(result), np.int64)


def orient_outward(faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Faces wound consistently, counter-clockwise seen from the front (+Z) of the face."""
    faces = faces.copy()
    by_edge: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, f in enumerate(faces):
        for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            by_edge[(min(a, b), max(a, b))].append(i)
    done = np.zeros(len(faces), bool)
    for seed in range(len(faces)):
        if done[seed]:
            continue
        done[seed], stack = True, [seed]
        while stack:
            i = stack.pop()
            f = faces[i]
            for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
                for j in by_edge[(min(a, b), max(a, b))]:
                    if done[j]:
                        continue
                    g = list(faces[j])
                    directed = {(g[0], g[1]), (g[1], g[2]), (g[2], g[0])}
                    if (a, b) in directed:  # a neighbour must run the shared edge the other way
                        faces[j] = g[::-1]
                    done[j] = True
                    stack.append(j)
    normals = np.cross(points[faces[:, 1]] - points[faces[:, 0]], points[faces[:, 2]] - points[faces[:, 0]])
    if normals[:, 2].sum() < 0:
        faces = faces[:, ::-1]
    return np.ascontiguousarray(faces)


def ordered_loop(edges, start: int, toward: int | None = None) -> np.ndarray:
    """The vertices of a closed edge loop in order from start (first stepping to toward, when given)."""
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    loop = [start, toward if toward is not None else neighbours[start][0]]
    while True:
        step = [n for n in neighbours[loop[-1]] if n != loop[-2]]
        if step[0] == start:
            return np.array(loop, np.int64)
        loop.append(step[0])


def topology_loops(partner: np.ndarray) -> dict[str, np.ndarray]:
    """Named landmark loops of the MediaPipe topology (lip, eye, iris, brow, face outlines), in order.

    Eye loops start at the outer corner and run over the upper lid; each left loop is the mirror of the right one,
    index by index.
    """
    from mediapipe.python.solutions import face_mesh_connections as fmc

    outer = _component(fmc.FACEMESH_LIPS, 61)  # the outer and inner lip contours share no edge
    loops = {
        "lips_outer": ordered_loop(outer, 61, 185),  # from the right corner over the upper lip
        "lips_inner": ordered_loop(set(fmc.FACEMESH_LIPS) - outer, 78, 191),
        "face_oval": ordered_loop(fmc.FACEMESH_FACE_OVAL, 10, 338),  # from the top of the forehead
        "eye_right": ordered_loop(fmc.FACEMESH_RIGHT_EYE, 33, 246),
        "iris_right": np.array([468, *ordered_loop(fmc.FACEMESH_RIGHT_IRIS, 469, 470)]),
        "brow_right": np.array(sorted({v for e in fmc.FACEMESH_RIGHT_EYEBROW for v in e})),
    }
    for name, edges in (("eye", fmc.FACEMESH_LEFT_EYE), ("iris", fmc.FACEMESH_LEFT_IRIS),
                        ("brow", fmc.FACEMESH_LEFT_EYEBROW)):
        loops[f"{name}_left"] = partner[loops[f"{name}_right"]]
        if not {v for e in edges for v in e} <= set(loops[f"{name}_left"].tolist()) | {473}:
            raise RuntimeError(f"the mirror of the right {name} is not MediaPipe's left {name}")
    return loops


def _component(edges, start: int) -> set[tuple[int, int]]:
    """The edges connected to a start vertex."""
    seen, grew = {start}, True
    while grew:
        grew = False
        for a, b in edges:
            if (a in seen) != (b in seen):
                seen |= {a, b}
                grew = True
    return {e for e in edges if e[0] in seen}


def build(image: np.ndarray) -> dict[str, np.ndarray]:
    """The neutral face geometry and topology arrays from a frontal neutral portrait."""
    from mediapipe.python.solutions import face_mesh_connections as fmc

    points, partner = metric_symmetric_face(detect_landmarks(image))
    edges = {(min(a, b), max(a, b)) for a, b in fmc.FACEMESH_TESSELATION}
    faces = orient_outward(symmetric_faces(faces_from_edges(edges), partner, points), points)
    arrays = {
        "vertices": points.astype(np.float32),
        "triangles": faces.astype(np.int32),
        "mirror": partner.astype(np.int32),
    }
    arrays.update({f"loop_{name}": loop.astype(np.int32) for name, loop in topology_loops(partner).items()})
    return arrays


def main(argv: list[str] | None = None) -> None:
    """Build the face topology file from the bundled public-domain portrait."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_PATH, help="where to write the .npz")
    args = parser.parse_args(argv)
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        image = np.asarray(Image.open(handle).convert("RGB"))
    arrays = build(image)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(args.out)  # atomic: a half-written file never replaces a good one
    v, f = arrays["vertices"], arrays["triangles"]
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB): {len(v)} landmarks, {len(f)} triangles")


if __name__ == "__main__":
    main()

"""The face mesh: topology, exact mirror symmetry, what each blendshape moves, deformation, no holes."""

from __future__ import annotations

import numpy as np
import pytest

from rigs.errors import RigInputError
from rigs.face.arkit import BLENDSHAPES, INDEX, MIRROR_INDEX
from rigs.face.build_mesh import faces_from_edges
from rigs.face.mesh import DATA_PATH, FaceMesh, load_face_mesh, reflect
from rigs.face.mesh_parts import CROWN_CORNERS, RING, labial_normals

MM = 1e-3
# MediaPipe landmarks (image coordinates: the subject's left eye is on the image's right, MediaPipe's "LEFT_EYE").
LEFT_UPPER_LID, LEFT_LOWER_LID, LEFT_IRIS = 386, 374, 473
RIGHT_UPPER_LID, RIGHT_LOWER_LID, RIGHT_IRIS = 159, 145, 468
LEFT_MOUTH_CORNER, RIGHT_MOUTH_CORNER, CHIN, NOSE_TIP, FOREHEAD = 291, 61, 152, 1, 10
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14


@pytest.fixture(scope="module")
def mesh() -> FaceMesh:
    return load_face_mesh()


def moved(mesh: FaceMesh, name: str, weight: float = 1.0) -> np.ndarray:
    return mesh.deform(mesh.weights_for(**{name: weight}))


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    return np.cross(b - a, c - a)


def test_first_478_vertices_are_the_landmarks_in_mediapipe_order(mesh):
    stored = np.load(DATA_PATH)["vertices"]
    assert mesh.n_landmarks == 478 and mesh.vertices.shape[1] == 3 and mesh.vertices.dtype == np.float32
    assert np.allclose(mesh.vertices[:468], stored[:468], atol=1e-6)  # skin landmarks as measured
    # MediaPipe's "left" features are the subject's left: +X in the rig frame.
    assert mesh.vertices[263, 0] > 0 > mesh.vertices[33, 0] and mesh.vertices[LEFT_IRIS, 0] > 0
    assert mesh.vertices[FOREHEAD, 1] > mesh.vertices[NOSE_TIP, 1] > mesh.vertices[CHIN, 1]
    assert mesh.vertices[NOSE_TIP, 2] > mesh.vertices[33, 2]  # the nose points at the viewer (+Z)
    outer_eye_corners = np.linalg.norm(mesh.vertices[263] - mesh.vertices[33])
    assert 80 * MM < outer_eye_corners < 100 * MM  # a plausible adult scale


def test_triangles_are_valid_and_not_degenerate(mesh):
    triangles = mesh.triangles
    assert triangles.dtype == np.int32 and triangles.min() >= 0 and triangles.max() < mesh.n_vertices
    assert np.all(np.linalg.norm(triangle_normals(mesh.vertices, triangles), axis=1) > 1e-10)
    assert len(np.unique(np.sort(triangles, axis=1), axis=0)) == len(triangles)


def test_skin_is_wound_consistently_and_outward(mesh):
    skin = mesh.triangles[np.isin(mesh.triangles, mesh.parts["skin"]).all(axis=1)]
    directed = np.concatenate([skin[:, [0, 1]], skin[:, [1, 2]], skin[:, [2, 0]]])
    assert len(np.unique(directed, axis=0)) == len(directed)  # each edge runs once each way: consistent winding
    normals = triangle_normals(mesh.vertices, skin)
    center = mesh.vertices[mesh.parts["skin"]].mean(axis=0)
    outward = np.einsum("ij,ij->i", normals, mesh.vertices[skin].mean(axis=1) - center) > 0
    assert outward.mean() > 0.97
    face = mesh.triangles[(mesh.triangles < 468).all(axis=1)]
    assert len(face) == 852 and (triangle_normals(mesh.vertices, face)[:, 2] > 0).mean() > 0.9


def test_parts_uvs_and_colours(mesh):
    for name in ("skin", "eyeLeft", "eyeRight", "teethUpper", "teethLower", "tongue", "mouthCavity"):
        assert len(mesh.parts[name]) > 0, name
    assert mesh.uvs.shape == (mesh.n_vertices, 2) and mesh.uvs.min() >= 0 and mesh.uvs.max() <= 1
    assert mesh.colors.shape == (mesh.n_vertices, 3) and mesh.colors.min() >= 0 and mesh.colors.max() <= 1
    teeth, cavity = mesh.colors[mesh.parts["teethUpper"]].max(0), mesh.colors[mesh.parts["mouthCavity"]].mean(0)
    assert teeth.min() > 0.8 and cavity.max() < 0.4  # white teeth in a dark mouth


def test_mirror_map_reflects_the_neutral_exactly(mesh):
    mirror = mesh.mirror
    assert np.array_equal(mirror[mirror], np.arange(mesh.n_vertices))
    assert np.abs(reflect(mesh.vertices, mirror) - mesh.vertices).max() < 1e-7
    assert mirror[33] == 263 and mirror[RIGHT_UPPER_LID] == LEFT_UPPER_LID and mirror[61] == 291
    assert mirror[RIGHT_IRIS] == LEFT_IRIS and mirror[NOSE_TIP] == NOSE_TIP


def test_mirror_pairs_are_exact_mirror_images(mesh):
    for index, name in enumerate(BLENDSHAPES):
        partner = MIRROR_INDEX[index]
        error = np.abs(mesh.deltas[index] - reflect(mesh.deltas[partner], mesh.mirror)).max()
        assert error < 1e-6, f"{name} is not the mirror of {BLENDSHAPES[partner]} ({error:.2e} m)"
    assert MIRROR_INDEX[INDEX["jawLeft"]] == INDEX["jawRight"]  # sideways shapes mirror to the other side


@pytest.mark.parametrize("name", [n for n in BLENDSHAPES if n.endswith("Left") and n not in ("jawLeft", "mouthLeft")])
def test_left_shapes_move_the_characters_left(mesh, name):
    delta = np.linalg.norm(mesh.deltas[INDEX[name]], axis=1)
    x = mesh.vertices[:, 0]
    assert delta.max() > 2 * MM, f"{name} barely moves anything"
    assert delta[x > 5 * MM].sum() > 4 * delta[x < -5 * MM].sum()


def test_every_shape_moves_something_at_real_arkit_scale(mesh):
    largest = np.linalg.norm(mesh.deltas, axis=2).max(axis=1)
    assert largest.min() > 1.5 * MM and largest.max() < 40 * MM


def test_jaw_open_drops_chin_and_shows_the_inner_mouth(mesh):
    opened = moved(mesh, "jawOpen")
    assert mesh.vertices[CHIN, 1] - opened[CHIN, 1] > 8 * MM
    gap = opened[UPPER_LIP_INNER, 1] - opened[LOWER_LIP_INNER, 1]
    assert gap > 15 * MM
    upper, lower = mesh.parts["teethUpper"], mesh.parts["teethLower"]
    assert np.allclose(opened[upper], mesh.vertices[upper])  # upper teeth are fixed to the skull
    assert (mesh.vertices[lower, 1] - opened[lower, 1]).min() > 3 * MM


def test_raised_inner_brows_lift_the_skin_between_them_without_a_v(mesh):
    raised = moved(mesh, "browInnerUp") - mesh.vertices
    inner_brows, between = raised[[107, 336], 1].mean(), raised[9, 1]
    assert inner_brows > 5 * MM and between > 0.7 * inner_brows  # the glabella rises with the brows
    row = raised[[108, 151, 337], 1]  # halfway up the forehead: level across the midline, below the brows' lift
    assert np.ptp(row) < 1.5 * MM and row.max() < inner_brows
    assert abs(raised[10, 1]) < 0.5 * MM  # the hairline holds
    assert np.abs(raised[[168, 6, 1, LEFT_UPPER_LID, RIGHT_UPPER_LID]]).max() < 0.1 * MM  # nose and lids stay


def test_teeth_are_crowns_with_notches_between_them_facing_the_lips(mesh):
    for part in ("teethUpper", "teethLower"):
        crowns = mesh.vertices[mesh.parts[part]].reshape(-1, CROWN_CORNERS, 3).astype(np.float64)
        assert len(crowns) == 12  # incisors to first molars, both sides
        width = [np.linalg.norm(crowns[:, ring * len(RING) + 1] - crowns[:, ring * len(RING)], axis=1)
                 for ring in (0, 1)]
        assert (width[0] < 0.9 * width[1]).all()  # the biting edge narrower: a notch beside each neighbour
        normals = labial_normals(crowns)
        assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
        incisors, molars = normals[[0, 6]], normals[[5, 11]]  # left then right side, each from the midline out
        assert (incisors[:, 2] > 0.9).all()  # the front teeth face forward
        assert (np.abs(molars[:, 0]) > 0.8).all() and molars[0, 0] * molars[1, 0] < 0  # the back ones, the cheeks


def test_mouth_close_shuts_lips_over_an_open_jaw(mesh):
    both = mesh.deform(mesh.weights_for(jawOpen=1.0, mouthClose=1.0))
    assert abs(both[UPPER_LIP_INNER, 1] - both[LOWER_LIP_INNER, 1]) < 2 * MM
    assert mesh.vertices[CHIN, 1] - both[CHIN, 1] > 8 * MM  # the jaw is still open
    assert both[UPPER_LIP_INNER, 2] - both[LOWER_LIP_INNER, 2] < 12 * MM  # meeting, the lower lip a little behind
    alone = moved(mesh, "mouthClose")
    # Alone, the lower lip (midline 14..17) slides up behind the upper lip and philtrum (0, 164), not through them.
    assert alone[[14, 15, 16, 17], 2].max() < min(alone[0, 2], alone[164, 2]) - 2 * MM


def test_blink_closes_the_left_eye_only(mesh):
    closed = moved(mesh, "eyeBlinkLeft")
    opening = mesh.vertices[LEFT_UPPER_LID, 1] - mesh.vertices[LEFT_LOWER_LID, 1]
    assert opening > 5 * MM
    assert np.linalg.norm(closed[LEFT_UPPER_LID] - closed[LEFT_LOWER_LID]) < 0.5 * MM
    assert np.allclose(closed[[RIGHT_UPPER_LID, RIGHT_LOWER_LID]], mesh.vertices[[RIGHT_UPPER_LID, RIGHT_LOWER_LID]])
    # The closed lid stays in front of the eyeball.
    center = mesh.eye_centers[1]
    eyeball = np.linalg.norm(mesh.vertices[mesh.parts["eyeLeft"]] - center, axis=1).max()
    assert np.linalg.norm(closed[LEFT_UPPER_LID] - center) > eyeball


def test_smile_raises_the_left_corner_and_frown_lowers_it(mesh):
    rise = moved(mesh, "mouthSmileLeft")[LEFT_MOUTH_CORNER, 1] - mesh.vertices[LEFT_MOUTH_CORNER, 1]
    other = moved(mesh, "mouthSmileLeft")[RIGHT_MOUTH_CORNER, 1] - mesh.vertices[RIGHT_MOUTH_CORNER, 1]
    drop = mesh.vertices[LEFT_MOUTH_CORNER, 1] - moved(mesh, "mouthFrownLeft")[LEFT_MOUTH_CORNER, 1]
    assert rise > 6 * MM and abs(other) < 1 * MM and drop > 4 * MM


def test_look_in_turns_the_left_eye_toward_the_nose(mesh):
    look_in, look_out = moved(mesh, "eyeLookInLeft"), moved(mesh, "eyeLookOutLeft")
    assert look_in[LEFT_IRIS, 0] < mesh.vertices[LEFT_IRIS, 0] - 3 * MM  # toward -X, the nose
    assert look_out[LEFT_IRIS, 0] > mesh.vertices[LEFT_IRIS, 0] + 3 * MM
    assert moved(mesh, "eyeLookUpLeft")[LEFT_IRIS, 1] > mesh.vertices[LEFT_IRIS, 1] + 3 * MM
    assert moved(mesh, "eyeLookDownLeft")[LEFT_IRIS, 1] < mesh.vertices[LEFT_IRIS, 1] - 3 * MM


@pytest.mark.parametrize("name,region,direction", [
    ("browInnerUp", 336, (0, 1, 0)), ("browDownLeft", 336, (0, -1, 0)), ("browOuterUpLeft", 300, (0, 1, 0)),
    ("mouthPucker", 0, (0, 0, 1)), ("mouthFunnel", 0, (0, 0, 1)), ("jawForward", CHIN, (0, 0, 1)),
    ("jawLeft", CHIN, (1, 0, 0)), ("mouthLeft", 0, (1, 0, 0)), ("mouthLowerDownLeft", 317, (0, -1, 0)),
    ("mouthUpperUpLeft", 312, (0, 1, 0)), ("noseSneerLeft", 294, (0, 1, 0)), ("cheekPuff", 436, (1, 0, 0)),
    ("cheekSquintLeft", 330, (0, 1, 0)), ("mouthShrugLower", 17, (0, 1, 0)), ("mouthRollLower", 17, (0, 1, 0)),
    ("mouthRollUpper", 0, (0, -1, 0)), ("mouthStretchLeft", LEFT_MOUTH_CORNER, (1, 0, 0)),
])  # fmt: skip
def test_shapes_move_their_region_the_named_way(mesh, name, region, direction):
    step = mesh.deltas[INDEX[name], region] @ np.asarray(direction, np.float32)
    assert step > 1.5 * MM, f"{name} moves landmark {region} by {step / MM:.1f} mm along {direction}"


def test_tongue_out_pushes_the_tongue_past_the_lips(mesh):
    tongue = moved(mesh, "tongueOut")[mesh.parts["tongue"]]
    assert tongue[:, 2].max() > mesh.vertices[LOWER_LIP_INNER, 2] + 5 * MM


def test_no_visible_triangle_folds_over(mesh):
    face = mesh.triangles[(mesh.triangles < 468).all(axis=1)]
    before = triangle_normals(mesh.vertices, face)
    visible = np.linalg.norm(before, axis=1) / 2 > 1.0 * MM**2  # sub-mm² slivers in the lip corners are ignored
    before = before / np.linalg.norm(before, axis=1, keepdims=True)
    for index, name in enumerate(BLENDSHAPES):
        if name.startswith("mouthRoll"):
            continue  # a lip rolling in turns its red part over, by design (hidden behind the other lip)
        after = triangle_normals(mesh.vertices + mesh.deltas[index], face)
        after = after / np.linalg.norm(after, axis=1, keepdims=True)
        turn = np.einsum("ij,ij->i", before, after)[visible]
        assert turn.min() > -0.2, f"{name} folds a triangle over ({turn.min():.2f})"


def test_deform_is_linear_and_batched(mesh):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 0.5, (2, 52)).astype(np.float32)
    base = mesh.vertices
    assert np.allclose(mesh.deform(a + b) - base, (mesh.deform(a) - base) + (mesh.deform(b) - base), atol=1e-6)
    head, gaze = rng.uniform(-0.3, 0.3, (2, 3)), rng.uniform(-0.3, 0.3, (2, 4))
    batch = mesh.deform(np.stack([a, b]), head=head, gaze=gaze)
    assert batch.shape == (2, mesh.n_vertices, 3)
    assert np.allclose(batch[1], mesh.deform(b, head=head[1], gaze=gaze[1]), atol=1e-6)
    assert np.allclose(mesh.deform(np.zeros(52)), base)


def test_gaze_turns_eyes_and_iris_landmarks_about_their_centres(mesh):
    turned = mesh.deform(np.zeros(52), gaze=(0.3, 0.0, 0.0, -0.2))  # left eye to its left, right eye looks up
    left, right = mesh.parts["eyeLeft"], mesh.parts["eyeRight"]
    assert turned[LEFT_IRIS, 0] > mesh.vertices[LEFT_IRIS, 0] + 2 * MM
    assert turned[RIGHT_IRIS, 1] > mesh.vertices[RIGHT_IRIS, 1] + 2 * MM
    for index, center in ((left, mesh.eye_centers[1]), (right, mesh.eye_centers[0])):
        assert np.allclose(np.linalg.norm(turned[index] - center, axis=1),
                           np.linalg.norm(mesh.vertices[index] - center, axis=1), atol=1e-6)
    assert np.allclose(turned[:468], mesh.vertices[:468])  # the skin does not move


def test_head_rotation_signs_follow_the_arkit_convention(mesh):
    nose = mesh.vertices[NOSE_TIP]
    assert mesh.deform(np.zeros(52), head=(0.3, 0, 0))[NOSE_TIP, 0] > nose[0] + 5 * MM  # yaw: toward +X
    assert mesh.deform(np.zeros(52), head=(0, 0.3, 0))[NOSE_TIP, 1] < nose[1] - 5 * MM  # pitch: looks down
    top = mesh.deform(np.zeros(52), head=(0, 0, 0.3))[FOREHEAD]
    assert top[0] < mesh.vertices[FOREHEAD, 0] - 5 * MM  # roll: toward the character's right shoulder
    rigid = mesh.head_weight == 1
    turned = mesh.deform(np.zeros(52), head=(0.2, -0.1, 0.15))
    assert np.allclose(np.linalg.norm(turned[rigid] - mesh.head_pivot, axis=1),
                       np.linalg.norm(mesh.vertices[rigid] - mesh.head_pivot, axis=1), atol=1e-6)


def test_deform_refuses_bad_shapes(mesh):
    with pytest.raises(RigInputError, match="52"):
        mesh.deform(np.zeros(51))
    with pytest.raises(RigInputError, match="gaze"):
        mesh.deform(np.zeros((3, 52)), gaze=np.zeros((2, 4)))
    with pytest.raises(RigInputError, match="unknown"):
        mesh.weights_for(jawOpn=1.0)


def test_open_mouth_and_eyes_show_no_hole(mesh):
    from generators.render import Camera, render_mesh

    camera = Camera(eye=(0.0, -0.03, 0.5), target=(0.0, -0.03, 0.0), fov_deg=20)
    green = (0.0, 1.0, 0.0)  # no part of the face is pure green
    for weights, loop in ((mesh.weights_for(jawOpen=1.0), [78, 13, 308, 14]),
                          (mesh.weights_for(eyeWideLeft=1.0, eyeLookUpLeft=1.0), [362, 386, 263, 374])):
        vertices = mesh.deform(weights)
        image = render_mesh(vertices, mesh.triangles, mesh.colors, camera=camera, size=(256, 256),
                            background=green)
        x, y = camera.project(vertices[loop], (256, 256))[:, :2].T
        inside = image[int(y.min()) + 2: int(y.max()) - 1, int(x.min()) + 2: int(x.max()) - 1]
        assert inside.size and not np.all(inside == [0, 255, 0], axis=2).any()


def test_faces_from_edges_skips_the_hidden_base_of_a_three_way_fan():
    # Triangle 0-1-2 split by a centre vertex 3, with one outer triangle on each side.
    faces = [(0, 1, 3), (1, 2, 3), (0, 2, 3), (0, 1, 4), (1, 2, 5), (0, 2, 6)]
    edges = {tuple(sorted(e)) for f in faces for e in ((f[0], f[1]), (f[1], f[2]), (f[0], f[2]))}
    found = {tuple(f) for f in faces_from_edges(edges)}
    assert found == {tuple(sorted(f)) for f in faces}

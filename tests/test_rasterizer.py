"""The numba z-buffer rasterizer: coverage, depth order, colour interpolation, culling, lighting, cameras."""

from __future__ import annotations

import numpy as np
import pytest

from generators.render import Camera, render_mesh, vertex_normals

# Orthographic, looking down -Z at the unit square [-1, 1]^2: one pixel is 2/64 world units.
TOP = Camera(eye=(0.0, 0.0, 5.0), target=(0.0, 0.0, 0.0), orthographic=True, height=2.0)
SIZE = (64, 64)
FLAT = {"camera": TOP, "size": SIZE, "ambient": 1.0, "background": (0.0, 0.0, 0.0)}


def quad(z: float, color, half: float = 1.0):
    """Two counter-clockwise triangles (seen from +Z) covering a square at depth z."""
    vertices = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]], np.float32)
    return vertices, np.array([[0, 1, 2], [0, 2, 3]]), np.tile(np.asarray(color, np.float32), (4, 1))


def test_triangle_covers_its_area_with_its_colour():
    vertices = np.array([[-1, -1, 0], [1, -1, 0], [-1, 1, 0]], np.float32)  # half of the view
    image = render_mesh(vertices, np.array([[0, 1, 2]]), np.tile([0.2, 0.6, 1.0], (3, 1)), **FLAT)
    covered = image.any(axis=2)
    assert abs(covered.sum() - 64 * 64 / 2) <= 64  # exact up to the pixels along the diagonal
    assert covered[-1, 0] and not covered[0, -1]  # lower-left corner inside (screen y points down)
    assert np.array_equal(np.unique(image[covered], axis=0), [[51, 153, 255]])


def test_nearer_surface_wins_whatever_the_drawing_order():
    near, tri, red = quad(0.5, (1.0, 0.0, 0.0), half=0.5)
    far, _, blue = quad(-0.5, (0.0, 0.0, 1.0))
    for order in ((near, far, red, blue), (far, near, blue, red)):
        vertices = np.concatenate(order[:2])
        image = render_mesh(vertices, np.concatenate([tri, tri + 4]), np.concatenate(order[2:]), **FLAT)
        assert tuple(image[32, 32]) == (255, 0, 0)  # the small red square in front
        assert tuple(image[2, 2]) == (0, 0, 255)  # the big blue one around it
    perspective = Camera(eye=(0.0, 0.0, 3.0), fov_deg=60)
    image = render_mesh(np.concatenate([far, near]), np.concatenate([tri, tri + 4]), np.concatenate([blue, red]),
                        camera=perspective, size=SIZE, ambient=1.0)
    assert tuple(image[32, 32]) == (255, 0, 0)


def test_colours_interpolate_between_vertices():
    vertices = np.array([[-1, -1, 0], [1, -1, 0], [0, 1, 0]], np.float32)
    colors = np.eye(3, dtype=np.float32)
    image = render_mesh(vertices, np.array([[0, 1, 2]]), colors, **FLAT).astype(int)
    assert np.argmax(image[62, 4]) == 0 and np.argmax(image[62, 59]) == 1 and np.argmax(image[4, 32]) == 2
    middle = image[40, 32]
    assert all(40 < channel < 160 for channel in middle)  # a mix of all three near the centroid


def test_back_faces_are_culled_only_on_request():
    vertices, triangles, colors = quad(0.0, (1.0, 1.0, 1.0))
    clockwise = triangles[:, ::-1]
    assert render_mesh(vertices, clockwise, colors, **FLAT).any()
    assert not render_mesh(vertices, clockwise, colors, cull_back=True, **FLAT).any()
    assert render_mesh(vertices, triangles, colors, cull_back=True, **FLAT).all()


def test_lambert_shading_follows_the_light():
    vertices, triangles, colors = quad(0.0, (1.0, 1.0, 1.0))
    lit = render_mesh(vertices, triangles, colors, camera=TOP, size=SIZE, light=(0, 0, 1), ambient=0.2)
    grazing = render_mesh(vertices, triangles, colors, camera=TOP, size=SIZE, light=(1, 0, 0.2), ambient=0.2)
    away = render_mesh(vertices, triangles, colors, camera=TOP, size=SIZE, light=(0, 0, -1), ambient=0.2,
                       cull_back=True)
    assert lit[32, 32, 0] == 255 and 51 < grazing[32, 32, 0] < 120
    assert away[32, 32, 0] == 51  # only the ambient share: 0.2 * 255


def test_vertex_normals_point_outward_for_counter_clockwise_faces():
    vertices, triangles, _ = quad(0.0, (1.0, 1.0, 1.0))
    assert np.allclose(vertex_normals(vertices, triangles), [0.0, 0.0, 1.0])


def test_camera_projects_target_to_the_centre_and_far_points_smaller():
    camera = Camera(eye=(0.0, 0.0, 2.0), target=(0.0, 0.0, 0.0), fov_deg=40)
    screen = camera.project(np.array([[0, 0, 0], [0.1, 0, 0], [0.1, 0, -1]], np.float32), (100, 200))
    assert np.allclose(screen[0, :2], [100, 50])
    assert screen[1, 0] - 100 > screen[2, 0] - 100 > 0  # perspective: the farther point lands nearer the centre
    assert screen[0, 2] > screen[2, 2]  # nearness is larger for the closer point


def test_triangles_behind_the_camera_are_dropped():
    vertices, triangles, colors = quad(10.0, (1.0, 1.0, 1.0))  # behind the eye at z = 5
    camera = Camera(eye=(0.0, 0.0, 5.0), target=(0.0, 0.0, 0.0), fov_deg=60)
    assert not render_mesh(vertices, triangles, colors, camera=camera, size=SIZE, background=(0, 0, 0)).any()


def test_bad_input_is_refused():
    vertices, triangles, colors = quad(0.0, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="triangle indices"):
        render_mesh(vertices, triangles + 10, colors, **FLAT)
    with pytest.raises(ValueError, match=r"\(V, 3\)"):
        render_mesh(vertices, triangles, colors[:2], **FLAT)


def test_frames_render_alike_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    from generators.render import rasterizer

    assert all(kernel.targetoptions.get("nogil") for kernel in (rasterizer._project, rasterizer._vertex_normals,
                                                                 rasterizer._shade_vertices, rasterizer._rasterize))
    near, tri, red = quad(0.5, (1.0, 0.0, 0.0), half=0.5)
    far, _, blue = quad(-0.5, (0.0, 0.0, 1.0))
    scenes = [(np.concatenate([near, far]) * scale, np.concatenate([tri, tri + 4]), np.concatenate([red, blue]))
              for scale in np.linspace(0.3, 1.2, 16)]
    alone = [render_mesh(*scene, **FLAT) for scene in scenes]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda scene: render_mesh(*scene, **FLAT), scenes * 4))
    assert all(np.array_equal(image, alone[i % len(scenes)]) for i, image in enumerate(together))

"""The talking head's per-frame kernels: the warp resamples exactly, overlaps and ties resolve in a fixed order, and
frames drawn in several threads at once are the frames drawn one at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from generators.talking_head import Portrait, TalkingHeadRenderer
from generators.talking_head.warp import composite, visible
from rigs.face.track import FaceTrack


@pytest.fixture(scope="module")
def hopper() -> TalkingHeadRenderer:
    return TalkingHeadRenderer(Portrait.load(None))


def varied_track(seed: int, frames: int = 8) -> FaceTrack:
    rng = np.random.default_rng(seed)
    weights = (rng.random((frames, 52)) * 0.6).astype(np.float32)
    head = rng.uniform(-0.2, 0.2, (frames, 3)).astype(np.float32)
    gaze = rng.uniform(-0.2, 0.2, (frames, 4)).astype(np.float32)
    return FaceTrack(weights, 30.0, head, gaze)


def test_the_nearest_triangle_is_seen_and_equally_near_ones_go_to_the_first():
    xy = np.array([[0, 0], [10, 0], [0, 10]] * 2, np.float32)
    near, far = [3, 4, 5], [0, 1, 2]
    for order in ([far, near], [near, far]):
        seen = np.full((12, 12), -1, np.int32)
        visible(xy, np.array([0, 0, 0, 1, 1, 1], np.float32), np.array(order, np.int32), seen)
        assert seen[2, 4] == order.index(near) and seen[11, 11] == -1  # nothing drawn outside
    seen = np.full((12, 12), -1, np.int32)
    visible(xy, np.zeros(6, np.float32), np.array([near, far], np.int32), seen)
    assert seen[2, 4] == 0


def test_a_mesh_moved_by_a_whole_pixel_moves_the_picture_by_that_pixel():
    size = 16
    photo = np.random.default_rng(0).integers(0, 256, (size, size, 3), np.uint8)
    person = np.ones((size, size), np.float32)
    person[:, :4] = 0.0  # where the moved mask is empty the background shows
    texture = np.dstack([photo, person]).astype(np.float32)
    background = np.full_like(photo, 7)
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [size - 0.5, size - 0.5], [-0.5, size - 0.5]], np.float32)
    triangles = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    seen = np.full((size, size), -1, np.int32)
    visible(corners, np.zeros(4, np.float32), triangles, seen)
    assert (seen >= 0).all()
    out = photo.copy()
    composite(texture, background, corners, triangles, corners - [1, 0], seen, out)  # each pixel samples one left
    assert (out[:, 5:] == photo[:, 4:-1]).all() and (out[:, :5] == 7).all()
    still = photo.copy()
    composite(texture, background, corners, triangles, corners, seen, still)
    assert (still == photo).all()  # left in place: the photo's own, not blended over the background


def test_frames_drawn_in_two_threads_are_the_frames_drawn_alone(hopper):
    tracks = [varied_track(1), varied_track(2)]
    alone = [hopper.render(track).frames for track in tracks]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda track: hopper.render(track).frames, tracks))
    for frames, expected in zip(together, alone, strict=True):
        assert np.array_equal(frames, expected)
    # render's own threads draw the same frames and landmarks as one thread.
    single, threaded = hopper.render(tracks[0]), hopper.render(tracks[0], threads=2)
    assert np.array_equal(threaded.frames, single.frames) and np.array_equal(threaded.landmarks, single.landmarks)

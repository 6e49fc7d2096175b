"""The talking-head renderer: identity and stillness at rest, the mouth, blinks, gaze, head turns, the neutralized
smile, lip closure on a procedural speech track, and the warp's pieces."""

from __future__ import annotations

import numpy as np
import pytest

from generators.talking_head import Portrait, TalkingHeadRenderer
from generators.talking_head.animate import landmark_loops
from generators.talking_head.eyes import polygon_area, polygon_mask
from generators.talking_head.mouth import ENAMEL_FALLBACK, enamel_color, inner_lip_gap, smooth_loop
from generators.talking_head.warp import hole_strip, push_pull, rasterize
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack
from rigs.paths import shared_data

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def hopper() -> TalkingHeadRenderer:
    return TalkingHeadRenderer(Portrait.load(None))


@pytest.fixture(scope="module")
def astronaut_portrait() -> Portrait:
    import skimage.data

    return Portrait.load(skimage.data.astronaut())


@pytest.fixture(scope="module")
def astronaut(astronaut_portrait) -> TalkingHeadRenderer:
    return TalkingHeadRenderer(astronaut_portrait)


def pose(head=(0.0, 0.0, 0.0), gaze=(0.0, 0.0, 0.0, 0.0), frames: int = 1, **named) -> FaceTrack:
    """A still track of named ARKit weights, head angles and gaze angles."""
    weights = np.zeros((frames, 52), np.float32)
    for name, value in named.items():
        weights[:, INDEX[name]] = value
    return FaceTrack(weights, 30.0, np.tile(np.float32(head), (frames, 1)), np.tile(np.float32(gaze), (frames, 1)))


def _region(points: np.ndarray) -> np.ndarray:
    return polygon_mask(points, (0, 0), (512, 512)) > 0.99


def test_a_neutral_track_is_the_photo_and_holds_still(hopper):
    rendered = hopper.render(pose(frames=6))
    assert rendered.frames.shape == (6, 512, 512, 3) and rendered.frames.dtype == np.uint8
    assert rendered.landmarks.shape == (6, 478, 2)
    assert (rendered.frames == rendered.frames[0]).all()  # no flicker at rest
    photo = hopper.portrait
    assert np.abs(rendered.landmarks[0] - photo.landmarks[:, :2]).mean() < 0.05  # identity: 2 px is the target
    assert np.abs(rendered.frames[0].astype(int) - photo.image).mean() < 0.5


def test_the_same_track_gives_the_same_frames(hopper):
    track = pose(frames=3, jawOpen=0.4, mouthSmileLeft=0.5, head=(0.1, 0.05, 0.02))
    a, b = hopper.render(track), hopper.render(track)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.landmarks, b.landmarks)
    assert np.array_equal(hopper.landmarks(track), a.landmarks)  # the cheap path draws the same landmarks


def test_an_open_jaw_shows_a_dark_mouth_with_teeth(hopper):
    rendered = hopper.render(pose(jawOpen=0.6))
    points = rendered.landmarks[0]
    assert inner_lip_gap(points) > 12 and inner_lip_gap(hopper.portrait.landmarks) < 2
    inside = _region(smooth_loop(points[landmark_loops()["lips_inner"]].astype(np.float64)))
    luma = rendered.frames[0][inside] @ LUMA
    assert np.mean(luma < 60) > 0.35  # the cavity
    assert np.mean(luma > 100) > 0.05  # the teeth, shaded by the lips but far lighter than the cavity
    chin = points[152, 1] - hopper.portrait.landmarks[152, 1]
    assert chin > 10  # the jaw drops


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (L* 0-100) of uint8 RGB pixels (..., 3)."""
    import cv2

    lab = cv2.cvtColor(np.asarray(rgb, np.uint8).reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(float)
    return np.column_stack([lab[:, 0] * 100 / 255, lab[:, 1:] - 128])


def test_open_mouth_teeth_are_light_warm_enamel(hopper, astronaut):
    for renderer in (hopper, astronaut):
        track = pose(jawOpen=0.4)
        frame = renderer.render(track).frames[0]
        poses = renderer.rig.pose(track, slice(0, 1))
        covered = renderer.mouth.teeth_mask(renderer.size, poses.landmarks[0], poses.mouth[0]) > 0.9
        assert covered.sum() > 100  # upper and lower teeth show
        lightness, a, b = _lab(frame[covered]).mean(0)
        assert lightness > 65  # the target is 70 over speech; lips and depth shade some of them
        assert b > 0 and abs(a) < 8  # slightly warm, neither grey-blue nor pink


def test_teeth_colour_comes_from_the_eye_whites_not_the_skin(hopper):
    image, landmarks = hopper.portrait.image, hopper.portrait.landmarks
    dim = (image * 0.45).astype(np.uint8)  # a dark or dim portrait: its skin says nothing about its teeth
    lightness, _, b = _lab(enamel_color(dim, landmarks).round())[0]
    assert lightness > 85 and b > 0
    shut = image.copy()  # no eye white to see (closed, shaded or black eyes): a light off-white
    for side in ("eye_left", "eye_right"):
        shut[polygon_mask(landmarks[landmark_loops()[side], :2], (0, 0), image.shape[:2]) > 0] = 20
    assert np.allclose(enamel_color(shut, landmarks), np.asarray(ENAMEL_FALLBACK) * 255)


def test_a_blink_covers_the_eye_with_skin(hopper, astronaut):
    loops = landmark_loops()
    for renderer in (hopper, astronaut):
        closed = renderer.render(pose(eyeBlinkLeft=1.0, eyeBlinkRight=1.0))
        for side in ("left", "right"):
            loop = loops[f"eye_{side}"]
            photo_eye = _region(renderer.portrait.landmarks[loop, :2])
            opening = polygon_area(closed.landmarks[0][loop])  # the shoelace area of any closed polygon
            assert opening < 0.03 * polygon_area(renderer.portrait.landmarks[loop, :2])
            before = renderer.portrait.image[photo_eye] @ LUMA
            after = closed.frames[0][photo_eye] @ LUMA
            # Where the dark iris and lashes were, lid skin now is.
            assert np.mean(after < np.percentile(before, 25)) < 0.1


def test_gaze_moves_the_irises_inside_still_lids(astronaut):
    photo = astronaut.portrait
    eye = landmark_loops()["eye_left"]
    opening = _region(photo.landmarks[eye, :2])
    dark = np.percentile(photo.image[opening] @ LUMA, 30)

    def iris_x(frame):
        ys, xs = np.nonzero(opening & (frame @ LUMA < dark))
        return xs.mean()

    looking = astronaut.render(pose(eyeLookOutLeft=0.8, eyeLookInRight=0.8))
    moved = looking.landmarks[0, 473] - photo.landmarks[473, :2]
    assert moved[0] > 3 and abs(moved[1]) < 1  # to the character's left: the image's right
    assert iris_x(looking.frames[0]) - iris_x(photo.image) > 2
    assert np.abs(looking.landmarks[0, eye] - photo.landmarks[eye, :2]).max() < 1.5  # the lids stay
    # A track with gaze angles and no eyeLook shapes turns the irises by the angles.
    angles = astronaut.render(pose(gaze=(0.3, 0.0, 0.3, 0.0)))
    assert angles.landmarks[0, 473, 0] - photo.landmarks[473, 0] > 2


def test_a_head_turn_moves_the_face_and_keeps_the_background(hopper):
    turned = hopper.render(pose(head=(np.radians(15), 0.0, 0.0)))
    photo = hopper.portrait
    assert turned.landmarks[0, 1, 0] - photo.landmarks[1, 0] > 20  # the nose turns to the character's left
    frame = turned.frames[0].astype(int)
    for corner in (frame[:60, :60] - photo.image[:60, :60], frame[:60, -60:] - photo.image[:60, -60:]):
        assert np.abs(corner).max() <= 2
    # No tearing: the flow is continuous, so neighbouring pixels stay neighbours (no row jumps by much more than
    # the photo's own contrast).
    jumps = np.abs(np.diff(frame, axis=1)).max(-1)
    own = np.abs(np.diff(photo.image.astype(int), axis=1)).max(-1)
    assert np.percentile(jumps, 99.5) <= np.percentile(own, 99.5) + 10


def test_a_smiling_photo_is_neutralized_and_can_look_sad(astronaut, astronaut_portrait):
    photo = astronaut_portrait.landmarks[:, :2]
    neutral = astronaut.render(pose()).landmarks[0]
    corners = [61, 291]
    assert (neutral[corners, 1] - photo[corners, 1]).mean() > 2  # the smile's raised corners come down
    assert inner_lip_gap(photo) > 5 and inner_lip_gap(neutral) < 1.0  # the photo's open smile closes
    sad = astronaut.render(pose(mouthFrownLeft=0.7, mouthFrownRight=0.7, browInnerUp=0.6)).landmarks[0]
    assert (sad[corners, 1] - neutral[corners, 1]).mean() > 2
    kept = TalkingHeadRenderer(astronaut_portrait, neutralize=False).render(pose())
    assert np.abs(kept.landmarks[0] - photo).max() < 0.01
    assert np.abs(kept.frames[0].astype(int) - astronaut_portrait.image).mean() < 1.0


def test_neutral_keeps_the_persons_own_brows_lids_and_closed_lips(astronaut, astronaut_portrait):
    # Only a photo's smile and open mouth are taken out; its brows and lids are the person's, whatever the fit reads.
    photo, neutral = astronaut_portrait.landmarks[:, :2], astronaut.render(pose()).landmarks[0]
    loops = landmark_loops()
    upper_face = np.concatenate([loops[name] for name in ("brow_left", "brow_right", "eye_left", "eye_right")])
    assert np.abs(neutral[upper_face] - photo[upper_face]).max() < 1.0
    portraits = shared_data("portraits")
    if not (portraits / "st_art_0.jpg").is_file():
        pytest.skip("the shared portraits are not here (../shared/data/portraits)")
    # Closed lips, a long lower face the fit reads as an open jaw (and raised brows): the jaw and brows stay; its
    # closed-mouth smile, which the fit spreads over dimples and pressed lips (no mouthSmile), is taken out by how
    # high the corners sit: they come down, nothing else moves.
    closed = Portrait.load(str(portraits / "st_art_0.jpg"))
    assert closed.fit.expression[INDEX["jawOpen"]] > 0.2 and closed.fit.photo_expression[INDEX["jawOpen"]] < 0.01
    smile = INDEX["mouthSmileLeft"]
    assert closed.fit.expression[smile] == 0 and closed.fit.photo_expression[smile] > 0.2
    drawn = TalkingHeadRenderer(closed).landmarks(pose())[0][:, :2]
    mouth = np.unique(np.concatenate([loops["lips_outer"], loops["lips_inner"]]))
    still = np.concatenate([upper_face, [152, 10, 1]])  # brows, eyes, chin, forehead, nose tip
    assert np.abs(drawn[still] - closed.landmarks[still, :2]).max() < 0.5
    corners = [61, 291]
    assert np.all(drawn[corners, 1] - closed.landmarks[corners, 1] > 2.0)  # lower (y down), by pixels at 512
    assert np.abs(drawn[mouth] - closed.landmarks[mouth, :2]).max() < 12.0
    # A face that does not smile keeps its mouth as it is.
    plain = Portrait.load(str(portraits / "st_art_1.jpg"))
    assert plain.fit.photo_expression[INDEX["mouthSmileLeft"]] == 0


def test_lips_close_on_bilabials_of_a_procedural_track(hopper):
    from avatar.evaluation.face import constant, intervals
    from generators.procedural.face import animate_face
    from rigs.phones import BILABIALS, OPEN_VOWELS
    from tests.test_procedural_face import synthetic_content

    content = synthetic_content(8.0)
    track = animate_face(content, constant("neutral", 0.8, content.n_frames), seed=1)
    gap = inner_lip_gap(hopper.landmarks(track))
    millimetre = hopper.rig.fit.pixels_per_mm
    closures = []
    for start, end, _ in intervals(content.phones, BILABIALS):
        a, b = max(0, int(start * 30) - 1), min(track.n_frames, int(np.ceil(end * 30)) + 2)
        closures.append(gap[a:b].min())
    vowels = np.concatenate([gap[int(s * 30): max(int(s * 30) + 1, int(e * 30))]
                             for s, e, _ in intervals(content.phones, OPEN_VOWELS)])
    # The track closes P/B/M to within its own tolerance (jawOpen - mouthClose <= 0.05 and a little funnel),
    # which the mesh turns into well under 1.5 mm between the lips; open vowels are many times wider.
    assert np.mean(np.array(closures) < 1.5 * millimetre) >= 0.85
    assert np.mean(closures) < 1.0 * millimetre and vowels.mean() > 5 * np.mean(closures)


def test_rasterize_interpolates_and_keeps_the_nearest():
    xy = np.array([[0, 0], [10, 0], [0, 10], [0, 0], [10, 0], [0, 10]], np.float32)
    depth = np.array([0, 0, 0, 1, 1, 1], np.float32)
    values = np.array([[0.0], [10.0], [0.0], [5.0], [5.0], [5.0]], np.float32)
    out = np.full((12, 12, 1), -1.0, np.float32)
    zbuffer = np.full((12, 12), -np.inf, np.float32)
    rasterize(xy, depth, np.array([[0, 1, 2]], np.int32), values, out, zbuffer)
    assert out[2, 4, 0] == pytest.approx(4.0) and out[11, 11, 0] == -1.0  # linear inside, untouched outside
    rasterize(xy, depth, np.array([[3, 4, 5]], np.int32), values, out, zbuffer)
    assert out[2, 4, 0] == pytest.approx(5.0)  # the nearer triangle wins
    culled = np.full((12, 12, 1), -1.0, np.float32)
    rasterize(xy, depth, np.array([[0, 1, 2]], np.int32), values, culled, np.full((12, 12), -np.inf, np.float32),
              True)
    assert (culled == -1).all()  # clockwise on screen (y down) is a back face


def test_holes_and_fill():
    loop = np.arange(8)
    triangles = hole_strip(loop)
    assert len(triangles) == 6 and set(triangles.ravel()) == set(loop)
    image = np.zeros((16, 16, 3), np.float32)
    image[:, :8] = 100.0
    known = np.zeros((16, 16), np.float32)
    known[:, :4] = 1.0
    filled = push_pull(image, known)
    assert np.allclose(filled[:, :4], 100.0) and filled[:, 12:].min() > 50  # holes take the known colour


def test_the_pixels_show_what_the_landmarks_say(hopper, astronaut):
    """MediaPipe, run again on rendered frames, finds the mouth open or shut as it was posed."""
    from generators.talking_head.portrait import detect_faces

    def seen_gap(frame):
        faces = detect_faces(frame, 1)
        assert faces, "MediaPipe lost the face in a rendered frame"
        return float(inner_lip_gap(faces[0]))

    opened = hopper.render(pose(jawOpen=0.5))
    assert seen_gap(opened.frames[0]) > 0.6 * inner_lip_gap(opened.landmarks[0]) > 6
    shut = pose(jawOpen=0.1, mouthClose=0.1)  # a P/B/M: the jaw a little open behind sealed lips
    for renderer in (hopper, astronaut):  # the astronaut's photo shows her teeth: closing must hide them
        assert seen_gap(renderer.render(shut).frames[0]) < 1.5


def test_raised_upper_lids_stretch_the_eye_white_with_them(astronaut):
    """AU5: a raised lid uncovers the eyeball as the photo shows it, stretched with the lids: from the upper lid to
    the lower one the eye looks as at rest, so no band of the photo's lid line stays across the white (it read as a
    second lid) and no bright ring shows where the lid was (it read as a drawn outline)."""
    loops = landmark_loops()
    rest, wide = astronaut.render(pose()), astronaut.render(pose(eyeWideLeft=0.8, eyeWideRight=0.8))
    across = np.linspace(0.15, 0.85, 8)  # from the upper lid to the lower one

    def profile(rendered, upper, lower):
        a, b = rendered.landmarks[0][upper, :2], rendered.landmarks[0][lower, :2]
        points = np.round(a + across[:, None] * (b - a)).astype(int)
        return rendered.frames[0][points[:, 1], points[:, 0]] @ LUMA

    differences = []
    for side in ("left", "right"):
        loop = loops[f"eye_{side}"]
        n = len(loop)
        for upper, lower in ((loop[2], loop[n - 2]), (loop[n // 2 - 2], loop[n // 2 + 2])):  # beside the iris
            gap_rest = np.linalg.norm(rest.landmarks[0][upper, :2] - rest.landmarks[0][lower, :2])
            gap_wide = np.linalg.norm(wide.landmarks[0][upper, :2] - wide.landmarks[0][lower, :2])
            assert gap_wide > 1.4 * gap_rest  # the lids opened
            differences.append(np.abs(profile(wide, upper, lower) - profile(rest, upper, lower)).mean())
    assert np.mean(differences) < 10  # luma levels; 17 with the white left where the photo has it


def test_the_white_behind_the_iris_continues_the_white_beside_it():
    """What a turned iris or a raised lid uncovers of the photo's iris is filled row by row from the white either
    side, not from all around: the lids' shadows and the iris's own edge made a murky block there."""
    from generators.talking_head.eyes import _sclera_plate

    yy, xx = np.mgrid[0:21, 0:41]
    distance = np.hypot(xx - 20, yy - 10)
    eye = np.full((21, 41, 3), 220, np.float32)
    eye[:3] = eye[-3:] = 120  # the lids' shadow on the white
    eye[distance <= 7.5] = 150  # the iris's anti-aliased edge
    eye[distance <= 6] = 60
    iris = distance <= 6 * 1.05 + 0.5
    white = (yy >= 1) & (yy <= 19) & ~iris
    plate = _sclera_plate(eye, white, iris, distance > 6 * 1.05 + 1.5)
    assert np.array_equal(plate[white], eye[white])  # the photo's white as it is
    assert np.allclose(plate[4:17, 20], 220)  # behind the iris: the clean white beside it (was 159-182)
    assert np.allclose(plate[2, 20], 120)  # the lid's shadow row carries across too


def test_a_sneer_raises_the_upper_lip_over_the_teeth(hopper):
    """AU9 lifts the middle of the upper lip with the nose wings (FACS), so a disgusted face shows its upper teeth."""
    loops = landmark_loops()

    def upper_teeth(track):
        poses = hopper.rig.pose(track, slice(0, 1))
        covered = hopper.mouth.teeth_mask(hopper.size, poses.landmarks[0], poses.mouth[0]) > 0.9
        middle = poses.landmarks[0][[13, 14], 1].mean()  # upper teeth: above the middle of the opening
        rows = np.arange(hopper.size)[:, None] < middle
        inside = _region(smooth_loop(poses.landmarks[0][loops["lips_inner"], :2].astype(np.float64)))
        return (covered & rows & inside).sum(), poses.landmarks[0][13, 1]

    plain, lip_plain = upper_teeth(pose(jawOpen=0.3))
    sneer, lip_sneer = upper_teeth(pose(jawOpen=0.3, noseSneerLeft=0.6, noseSneerRight=0.6))
    assert lip_plain - lip_sneer > 1.0  # px: the upper lip goes up
    assert sneer > 1.3 * plain

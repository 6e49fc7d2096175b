"""The recognizer in the loop: windows, targets, re-generation of what does not hold, stitching, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avatar.emotion import constant_emotion, from_keyframes
from avatar.emotion.windows import consecutive_windows
from avatar.errors import InputError
from avatar.verification import (
    CONFIDENCE,
    WINDOW_S,
    Attempt,
    Reader,
    face_motion_reader,
    regenerate,
    verify_face,
    window_target,
)
from generators.conditioning import EMOTIONS
from generators.procedural.face import animate_face
from rigs.face.track import FaceTrack
from tests.test_procedural_face import synthetic_content

CONTENT = synthetic_content(8.0, seed=4)
N = CONTENT.n_frames


def test_window_targets_follow_the_curve():
    curve = from_keyframes("0 s neutral, 4 s anger 0.8", N, CONTENT.fps)
    assert window_target(curve, 0, 60) == "neutral"
    assert window_target(curve, 180, 240) == "anger"
    assert window_target(constant_emotion("sadness", 0.1, N), 0, 60) == "neutral"  # too faint to count


def test_attempts_raise_intensity_and_change_seed():
    emotion = constant_emotion("fear", 0.6, 10)
    first, second = Attempt.number(0, 5), Attempt.number(2, 5)
    assert (first.seed, second.seed) == (5, 7) and second.guidance_boost == 2.0
    np.testing.assert_allclose(first.emotion(emotion).intensity, 0.6)
    np.testing.assert_allclose(second.emotion(emotion).intensity, 0.9)
    assert Attempt.number(3, 0).emotion(emotion).intensity.max() == 1.0  # capped


def test_a_face_that_shows_its_emotion_needs_no_second_attempt():
    emotion = constant_emotion("anger", 0.8, N)
    calls = []
    face = animate_face(CONTENT, emotion, 0)
    final, report = verify_face(face, emotion, lambda a, spans: calls.append(a), [face_motion_reader()])
    assert report.verified and not calls and final is face
    assert all(w.target == "anger" and w.after["face motion"]["label"] == "anger" for w in report.windows)


def test_weak_windows_are_regenerated_and_none_gets_worse():
    # The first face shows the anger only faintly (a generator that under-delivers); attempts raise the intensity.
    emotion = constant_emotion("anger", 0.8, N)
    faint = animate_face(CONTENT, constant_emotion("anger", 0.1, N), 0)
    tried = []

    def generate(attempt: Attempt, spans):
        tried.append(attempt.index)
        return animate_face(CONTENT, attempt.emotion(emotion), attempt.seed)

    final, report = verify_face(faint, emotion, generate, [face_motion_reader()], max_attempts=3)
    assert tried == [1]  # attempt 1 fixed every window, so attempt 2 was never made
    assert report.verified, report.status()
    for w in report.windows:
        assert w.before["face motion"]["label"] != "anger" and w.chosen == 1
        assert w.after["face motion"]["prob"] >= w.before["face motion"]["prob"]
    assert final.n_frames == N and not np.allclose(final.weights, faint.weights)
    # The content is the same in every attempt, so the lips are too: jaw motion is kept.
    assert np.corrcoef(final["jawOpen"], faint["jawOpen"])[0, 1] > 0.9


def test_windows_that_stay_unverified_are_reported(tmp_path):
    emotion = from_keyframes("0 s neutral, 4 s sadness 0.9", N, CONTENT.fps)
    neutral = animate_face(CONTENT, constant_emotion("neutral", 0.8, N), 0)
    final, report = verify_face(neutral, emotion, lambda a, spans: neutral, [face_motion_reader()], max_attempts=2)
    assert not report.verified
    bad = [w for w in report.windows if not w.verified]
    assert bad and all(w.target == "sadness" for w in bad) and all(len(w.attempts) == 2 for w in bad)
    assert "unverified" in report.status() and "sadness read as neutral" in report.status()
    report.save(tmp_path / "report.json", tmp_path / "report.png")
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["verified"] is False and data["confidence"] == CONFIDENCE
    assert [w["target"] for w in data["windows"]][:2] == ["neutral", "neutral"]
    assert set(data["windows"][0]["after"]["face motion"]["probs"]) == set(EMOTIONS)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_an_attempt_that_still_fails_is_not_kept():
    """Later attempts are escalated (stronger, amplified): one that raises the target's probability but still does not
    verify is not kept, so where the loop gives up the face stays as first generated, not a distorted one."""
    from avatar.emotion.timeline import EmotionTimeline

    def reader(track, start, end):  # a stand-in that reads anger more in each attempt, never enough to verify
        probs = np.zeros((end - start, len(EMOTIONS)))
        anger = 0.05 * track.weights[0, 0] * 10  # attempt k's track carries k / 10 in its first weight
        probs[:, EMOTIONS.index("anger")], probs[:, EMOTIONS.index("neutral")] = anger, 1.0 - anger
        return EmotionTimeline(track.fps, probs, np.ones(end - start))

    def attempt_face(k):
        weights = np.zeros((N, 52), np.float32)
        weights[:, 0] = k / 10
        return FaceTrack(weights, CONTENT.fps, np.zeros((N, 3), np.float32), np.zeros((N, 4), np.float32))

    face = attempt_face(0)
    final, report = verify_face(face, constant_emotion("anger", 0.8, N), lambda a, spans: attempt_face(a.index),
                                [Reader("stand-in", reader)], max_attempts=4)
    assert all(len(w.attempts) == 4 and w.attempts[-1]["prob"] > w.attempts[0]["prob"] for w in report.windows)
    assert all(w.chosen == 0 and not w.verified for w in report.windows) and final is face


def test_a_reader_blind_to_the_target_does_not_decide():
    # A reader that cannot see contempt (as FER2013 cannot) hands contempt windows to the next reader.
    motion = face_motion_reader()
    blind = Reader("no contempt", motion.read, frozenset(EMOTIONS) - {"contempt"})
    emotion = constant_emotion("contempt", 0.8, N)
    face = animate_face(CONTENT, emotion, 0)
    _, report = verify_face(face, emotion, lambda a, spans: face, [blind, motion])
    assert {w.reader for w in report.windows} == {"face motion"}
    assert report.notes and "no contempt" in report.notes[0]
    with pytest.raises(InputError, match="can see contempt"):
        verify_face(face, emotion, lambda a, spans: face, [blind])


def test_bad_requests():
    face = animate_face(CONTENT, constant_emotion("neutral", 0.8, N), 0)
    with pytest.raises(InputError, match="max attempts"):
        verify_face(face, constant_emotion("anger", 0.8, N), lambda a, spans: face, [face_motion_reader()],
                    max_attempts=0)
    with pytest.raises(InputError, match="frames"):
        verify_face(face, constant_emotion("anger", 0.8, N - 1), lambda a, spans: face, [face_motion_reader()])
    empty = FaceTrack.neutral(0, CONTENT.fps)
    with pytest.raises(InputError, match="no frames"):
        verify_face(empty, constant_emotion("anger", 0.8, 0), lambda a, spans: empty, [face_motion_reader()])


def test_amplify_grows_the_expression_and_keeps_the_lips():
    from avatar.verification import amplify

    angry = animate_face(CONTENT, constant_emotion("anger", 0.8, N), 0)
    calm = animate_face(CONTENT, constant_emotion("neutral", 0.8, N), 0)
    stronger = amplify(angry, calm, 1.8)
    grown = (stronger["browDownLeft"] - calm["browDownLeft"]).mean()
    shown = (angry["browDownLeft"] - calm["browDownLeft"]).mean()
    assert grown > 1.3 * shown > 0  # 1.8x, less where the weights reach 1
    assert stronger.weights.max() <= 1.0 and stronger.weights.min() >= 0.0
    np.testing.assert_allclose(amplify(angry, calm, 1.0).weights, angry.weights, atol=1e-6)
    # Where the emotion leaves a shape alone, the amplified face has the neutral twin's value: the lips follow speech.
    still = np.abs(angry["mouthClose"] - calm["mouthClose"]) < 1e-6
    np.testing.assert_allclose(stronger["mouthClose"][still], calm["mouthClose"][still], atol=1e-6)


def test_stitching_leaves_windows_that_keep_the_first_face_untouched():
    from avatar.verification import _stitch

    first = animate_face(CONTENT, constant_emotion("neutral", 0.8, N), 0)
    other = animate_face(CONTENT, constant_emotion("anger", 0.8, N), 1)
    spans = consecutive_windows(N, CONTENT.fps, WINDOW_S)
    choice = [1, 0, 1, 1][: len(spans)]
    stitched = _stitch([first, other], choice, spans, blend=6)
    a, b = spans[1]
    np.testing.assert_array_equal(stitched.weights[a:b], first.weights[a:b])  # the ramps are in the changed windows
    np.testing.assert_allclose(stitched.weights[: spans[0][1] - 6], other.weights[: spans[0][1] - 6], atol=1e-6)
    ramp = stitched["browDownLeft"][spans[0][1] - 6: spans[0][1]]
    assert np.all(np.diff(ramp - first["browDownLeft"][spans[0][1] - 6: spans[0][1]]) <= 1e-6)  # fades out


@pytest.fixture(scope="module")
def talking_head():
    from generators.talking_head import Portrait, TalkingHeadRenderer

    return TalkingHeadRenderer(Portrait.load(None))


def test_fer_reads_a_few_frames_a_second_and_never_renders_a_frame_twice(talking_head):
    from avatar.recognizers.face_expression import FaceExpressionRecognizer
    from avatar.verification import FER_RATE, rendered_face_reader

    fer = FaceExpressionRecognizer.from_pretrained()
    face = animate_face(CONTENT, constant_emotion("happiness", 0.8, N), 0)
    rendered: list[int] = []

    class Counting:  # the real renderer, counting the frames it is asked for
        def render(self, track, threads=1):
            rendered.append(track.n_frames)
            return talking_head.render(track, threads)

        def landmarks(self, track):
            return talking_head.landmarks(track)

    sampled, every = rendered_face_reader(Counting(), fer), rendered_face_reader(talking_head, fer, rate=CONTENT.fps)
    n_windows = len(consecutive_windows(N, CONTENT.fps, WINDOW_S))
    for a, b in consecutive_windows(N, CONTENT.fps, WINDOW_S):
        probs, full = sampled.read(face, a, b), every.read(face, a, b)
        assert probs.probs.shape == full.probs.shape == (b - a, len(EMOTIONS)) and probs.confidence.shape == (b - a,)
        # The sampled reading agrees with reading every frame: means within 0.1, and the same top-1 wherever reading
        # every frame gives a clear one.
        np.testing.assert_allclose(probs.mean(), full.mean(), atol=0.1)
        second, first = np.sort(full.mean())[-2:]
        assert np.argmax(probs.mean()) == np.argmax(full.mean()) or first - second < 0.1
    assert sum(rendered) == pytest.approx(N * FER_RATE / CONTENT.fps, abs=n_windows)
    # Read again (as after stitching, where most windows keep their face): nothing is rendered again.
    again = sampled.read(face, 0, 60)
    assert sum(rendered) == pytest.approx(N * FER_RATE / CONTENT.fps, abs=n_windows)
    np.testing.assert_array_equal(again.probs, sampled.read(face, 0, 60).probs)


def test_fer_judges_the_expression_where_speech_leaves_the_mouth_closed(talking_head):
    # FER2013 reads an open, talking mouth as anger: its readings count by how closed the lips are, and of each
    # stretch it reads the frame whose lips are closest.
    from avatar.recognizers.face_expression import FaceExpressionRecognizer
    from avatar.verification import lip_aperture, rendered_face_reader, speech_free

    face = animate_face(CONTENT, constant_emotion("neutral", 0.8, N), 0)
    aperture = lip_aperture(talking_head.landmarks(face))
    assert aperture.min() < 0.02 and aperture.max() > 0.15  # the lips seal on P/B/M and open on vowels
    trust = speech_free(aperture)
    assert trust[aperture.argmin()] > 0.7 > 0.2 > trust[aperture.argmax()]
    reading = rendered_face_reader(talking_head, FaceExpressionRecognizer.from_pretrained()).read(face, 0, N)
    stretches = np.arange(N) // 6
    for s in np.unique(stretches)[:-1]:  # each stretch's trust is that of its least open frame
        assert reading.confidence[stretches == s][0] == pytest.approx(speech_free(aperture[stretches == s].min()),
                                                                 rel=0.05)


def test_regenerate_makes_only_the_open_spans_with_context():
    face = animate_face(CONTENT, constant_emotion("neutral", 0.8, N), 0)
    asked = []

    def make(a: int, b: int) -> FaceTrack:
        asked.append((a, b))
        return FaceTrack(np.full((b - a, 52), 0.5, np.float32), face.fps)

    fps = int(face.fps)  # 8 s: windows of 1 s here, for a short face
    out = regenerate(face, [(0, fps), (fps, 2 * fps), (7 * fps, N)], make, context_s=1.0)
    assert asked == [(0, 3 * fps), (6 * fps, N)]  # neighbours merged, the context clipped at both ends
    assert np.all(out.weights[:3 * fps] == 0.5) and np.all(out.weights[6 * fps:] == 0.5)
    np.testing.assert_array_equal(out.weights[3 * fps:6 * fps], face.weights[3 * fps:6 * fps])  # the rest as it was
    np.testing.assert_array_equal(out.head[3 * fps:6 * fps], face.head[3 * fps:6 * fps])

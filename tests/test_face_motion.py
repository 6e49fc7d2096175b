"""The face-motion recognizer (FACS/EMFACS prototypes on ARKit tracks): hand-built expressions over speech, neutral
and speaking faces, the speech and blink gating, one-sided contempt, windows, explanations, the procedural face's
eight emotions, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.emotion import constant_emotion
from avatar.errors import InputError
from avatar.recognizers.face_motion import FEATURES, FaceMotionRecognizer
from generators.conditioning import EMOTIONS
from generators.procedural.face import animate_face
from rigs.face.track import FaceTrack
from tests.test_procedural_face import synthetic_content

FPS = 30.0

# Expressions written from the FACS descriptions (not from the procedural table): ARKit shape -> weight.
EXPRESSIONS = {
    "happiness": {"cheekSquintLeft": 0.6, "cheekSquintRight": 0.6, "mouthSmileLeft": 0.7, "mouthSmileRight": 0.7},
    "sadness": {"browInnerUp": 0.7, "browDownLeft": 0.3, "browDownRight": 0.3, "mouthFrownLeft": 0.6,
                "mouthFrownRight": 0.6},
    "surprise": {"browInnerUp": 0.8, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7, "eyeWideLeft": 0.7,
                 "eyeWideRight": 0.7, "jawOpen": 0.3},
    "fear": {"browInnerUp": 0.7, "browOuterUpLeft": 0.5, "browOuterUpRight": 0.5, "browDownLeft": 0.4,
             "browDownRight": 0.4, "eyeWideLeft": 0.7, "eyeWideRight": 0.7, "mouthStretchLeft": 0.5,
             "mouthStretchRight": 0.5},
    "anger": {"browDownLeft": 0.8, "browDownRight": 0.8, "eyeSquintLeft": 0.5, "eyeSquintRight": 0.5,
              "eyeWideLeft": 0.2, "eyeWideRight": 0.2, "mouthPressLeft": 0.5, "mouthPressRight": 0.5},
    "disgust": {"noseSneerLeft": 0.7, "noseSneerRight": 0.7, "mouthUpperUpLeft": 0.4, "mouthUpperUpRight": 0.4,
                "mouthFrownLeft": 0.4, "mouthFrownRight": 0.4},
    "contempt": {"mouthSmileLeft": 0.5, "mouthDimpleLeft": 0.6},
}


def speaking(seconds: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Mouth motion of speech: a ~4.5 Hz syllable cycle, the lips open most of the time and closing for about a
    third of it (consonants), with blinks and brow flashes."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FPS)
    t = np.arange(n) / FPS
    cycle = np.sin(2 * np.pi * 4.5 * t + rng.uniform(0, 6))
    closed = cycle < -0.5
    opening = np.where(closed, 0.0, rng.uniform(0.5, 1.0, n))
    channels = {
        "jawOpen": 0.45 * opening,
        "mouthLowerDownLeft": 0.3 * opening, "mouthLowerDownRight": 0.3 * opening,
        "mouthUpperUpLeft": 0.15 * opening, "mouthUpperUpRight": 0.15 * opening,
        "mouthStretchLeft": 0.3 * opening * (np.sin(2 * np.pi * 1.3 * t) > 0),
        "mouthStretchRight": 0.3 * opening * (np.sin(2 * np.pi * 1.3 * t) > 0),
        "mouthFunnel": 0.4 * opening * (np.sin(2 * np.pi * 0.7 * t) > 0.5),
        "mouthPucker": 0.5 * opening * (np.sin(2 * np.pi * 0.9 * t) > 0.6),
        "mouthPressLeft": 0.4 * closed, "mouthPressRight": 0.4 * closed,
        "mouthClose": 0.1 * closed,
    }
    blink = np.zeros(n)
    for start in rng.integers(0, n - 5, max(1, int(seconds / 3))):
        blink[start: start + 5] = 1.0
    channels["eyeBlinkLeft"] = channels["eyeBlinkRight"] = blink
    flash = np.zeros(n)  # brow flashes on stressed words: 0.2 s each
    for start in rng.integers(0, n - 6, max(1, int(seconds / 2))):
        flash[start: start + 6] = 0.5
    channels["browInnerUp"], channels["browOuterUpLeft"], channels["browOuterUpRight"] = flash, flash, flash
    return channels


def track_of(expression: dict[str, float], seconds: float = 6.0, speech: bool = True, seed: int = 0) -> FaceTrack:
    """A speaking face holding an expression (added onto the speech, clipped, wide eyes closing in blinks)."""
    n = int(seconds * FPS)
    channels = speaking(seconds, seed) if speech else {}
    for name, value in expression.items():
        channels[name] = np.clip(channels.get(name, 0.0) + value, 0, 1)
    track = FaceTrack.from_channels(channels, n, FPS)
    if speech:
        blink = track["eyeBlinkLeft"]
        for side in ("Left", "Right"):
            track[f"eyeWide{side}"][:] *= 1 - blink
    return track


@pytest.fixture(scope="module")
def recognizer() -> FaceMotionRecognizer:
    return FaceMotionRecognizer.from_pretrained()


@pytest.mark.parametrize("emotion", list(EXPRESSIONS))
def test_each_clear_expression_over_speech_reads_as_itself(recognizer, emotion):
    result = recognizer.predict(track_of(EXPRESSIONS[emotion]))
    assert result.overall.label == emotion, result.overall.describe()
    assert all(w.label == emotion for w in result.windows), [w.describe() for w in result.windows]
    assert result.overall.probs[emotion] > 0.8


def test_a_still_face_and_a_speaking_face_read_neutral(recognizer):
    still = recognizer.predict(FaceTrack.neutral(90, FPS))
    assert still.overall.label == "neutral" and still.overall.probs["neutral"] > 0.8
    assert still.overall.explanation == () and "no action unit shows" in still.overall.describe()
    talking = recognizer.predict(track_of({}, seconds=10.0))  # jaw, lips, blinks and brow flashes, no expression
    assert talking.overall.label == "neutral", talking.overall.describe()
    assert [w.label for w in talking.windows] == ["neutral"] * len(talking.windows)
    assert np.mean(np.array(talking.frame_labels) == "neutral") > 0.95


def test_only_sustained_mouth_movement_counts(recognizer):
    # Speech opens the jaw up to 0.45 several times a second: not a jaw drop. A held open jaw is (AU26).
    spoken_track = track_of({}, seconds=6.0)
    assert np.median(spoken_track["jawOpen"]) > 0.2  # a median filter alone would read a jaw drop here
    spoken = recognizer.predict(spoken_track)
    held = recognizer.predict(track_of({"jawOpen": 0.35}, seconds=6.0))
    assert spoken.overall.action_units["AU26"] < 0.1 and spoken.overall.action_units["AU16"] < 0.1
    assert held.overall.action_units["AU26"] > 0.3
    # A brow flash of 0.2 s is not surprise; the same brows held are.
    flash = np.zeros(90)
    flash[40:46] = 0.8
    brows = {"browInnerUp": flash, "browOuterUpLeft": flash, "browOuterUpRight": flash}
    assert recognizer.predict(FaceTrack.from_channels(brows, 90, FPS)).overall.label == "neutral"
    held_brows = {name: np.full(90, 0.8) for name in (*brows, "eyeWideLeft", "eyeWideRight")}
    assert recognizer.predict(FaceTrack.from_channels(held_brows, 90, FPS)).overall.label == "surprise"


def test_contempt_is_one_sided_and_either_side(recognizer):
    left = track_of(EXPRESSIONS["contempt"])
    assert recognizer.predict(left).overall.label == "contempt"
    assert recognizer.predict(left.mirrored()).overall.label == "contempt"
    both = {"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5, "mouthDimpleLeft": 0.6, "mouthDimpleRight": 0.6,
            "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4}
    assert recognizer.predict(track_of(both)).overall.label == "happiness"


def test_fear_brows_are_not_surprise(recognizer):
    # The same raised brows and wide eyes; the brow lowerer (1+2+4) is what makes them fear.
    surprise = dict(EXPRESSIONS["surprise"])
    fear = {**surprise, "browDownLeft": 0.4, "browDownRight": 0.4, "mouthStretchLeft": 0.4, "mouthStretchRight": 0.4}
    assert recognizer.predict(track_of(surprise)).overall.label == "surprise"
    reading = recognizer.predict(track_of(fear)).overall
    assert reading.label == "fear"
    assert reading.scores["surprise"] < reading.scores["fear"]


def test_explanations_name_the_action_units(recognizer):
    happy = recognizer.predict(track_of(EXPRESSIONS["happiness"])).overall
    assert {item.au for item in happy.explanation} == {6, 12} and all(item.supports for item in happy.explanation)
    assert "AU12 lip corner puller" in happy.describe() and "AU6 cheek raiser" in happy.describe()
    contempt = recognizer.predict(track_of(EXPRESSIONS["contempt"])).overall
    assert "AU14 dimpler (one side)" in contempt.describe()
    # An AU that argues against the label is named as such.
    smiling_frown = recognizer.predict(track_of({**EXPRESSIONS["happiness"], "browDownLeft": 0.2,
                                                 "browDownRight": 0.2})).overall
    assert smiling_frown.label == "happiness"
    assert any(not item.supports and item.au == 4 for item in smiling_frown.explanation)


def test_windows_cover_the_track_and_frames_are_read_too(recognizer):
    track = track_of(EXPRESSIONS["sadness"], seconds=7.3)
    result = recognizer.predict(track)
    times = result.times
    assert times[0, 0] == 0.0 and times[-1, 1] == pytest.approx(track.duration)
    assert np.allclose(times[:, 1] - times[:, 0], 2.0)
    assert np.all(np.diff(times[:-1, 0]) == pytest.approx(1.0)) and np.all(np.diff(times[:, 0]) > 0)
    assert result.matrix.shape == (len(result.windows), 8) and np.allclose(result.matrix.sum(1), 1, atol=1e-5)
    assert result.frame_probs.shape == (track.n_frames, 8) and np.allclose(result.frame_probs.sum(1), 1, atol=1e-5)
    assert result.frame_evidence.shape == (track.n_frames, len(FEATURES))
    assert sum(w.probs["sadness"] for w in result.windows) / len(result.windows) > 0.8
    short = FaceMotionRecognizer(window_s=3.0, hop_s=0.5).predict(track_of({}, seconds=1.0))
    assert len(short.windows) == 1 and short.windows[0].end == pytest.approx(1.0)
    timeline = recognizer.read(track)  # the per-frame reading on the track's own clock, every frame trusted
    assert (timeline.n_frames, timeline.fps) == (track.n_frames, track.fps)
    np.testing.assert_allclose(timeline.probs, result.frame_probs, atol=1e-6)
    assert timeline.confidence.min() == 1.0


def test_an_emotion_change_shows_in_the_windows(recognizer):
    n = int(8 * FPS)
    channels = speaking(8.0)
    smile = np.where(np.arange(n) >= n // 2, 0.7, 0.0)
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"):
        channels[name] = smile
    result = recognizer.predict(FaceTrack.from_channels(channels, n, FPS))
    labels = [w.label for w in result.windows]
    assert labels[0] == "neutral" and labels[-1] == "happiness"
    frames = np.array(result.frame_labels)
    assert np.all(frames[: n // 2 - 15] == "neutral") and np.all(frames[n // 2 + 15:] == "happiness")


def test_the_procedural_faces_eight_emotions_read_as_asked(recognizer):
    content = synthetic_content(6.0)
    read = {}
    for emotion in EMOTIONS:
        track = animate_face(content, constant_emotion(emotion, 0.8, content.n_frames), seed=1)
        read[emotion] = recognizer.predict(track).overall.label
    assert read == {emotion: emotion for emotion in EMOTIONS}


def test_arrays_with_fps_are_accepted_and_bad_input_is_reported(recognizer):
    weights = track_of(EXPRESSIONS["anger"], speech=False).weights
    assert recognizer.predict(weights, fps=FPS).overall.label == "anger"
    with pytest.raises(InputError, match="fps="):
        recognizer.predict(weights)
    with pytest.raises(InputError, match="expected \\(T, 52\\)"):
        recognizer.predict(weights[:, :51], fps=FPS)
    with pytest.raises(InputError, match="lie in \\[0, 1\\]"):
        recognizer.predict(weights * 3 + 0.5, fps=FPS)
    with pytest.raises(InputError, match="no frames"):
        recognizer.predict(FaceTrack.neutral(0, FPS))
    with pytest.raises(InputError, match="disagrees"):
        recognizer.predict(FaceTrack.neutral(10, FPS), fps=60)
    with pytest.raises(InputError, match="window_s"):
        FaceMotionRecognizer(window_s=0)
    with pytest.raises(InputError, match="hop_s"):
        FaceMotionRecognizer(hop_s=float("nan"))
    with pytest.raises(InputError, match="no weights to load from 'model'.*leave the path out"):
        FaceMotionRecognizer.from_pretrained("model")

"""The procedural face animator: determinism, the track's form, lip-sync details, blinks, emotion timing and layering,
and the four quality measures (avatar/evaluation/face.py) on real BEAT speech and on the TTS example."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.evaluation.beat import beat_content
from avatar.evaluation.face import bilabial_closure, blinks, constant, intervals, measure
from generators.conditioning import EMOTIONS, Content, EmotionFrames, Segment
from generators.procedural import facs
from generators.procedural.face import FaceStyle, animate_face
from rigs.face.arkit import BLENDSHAPES
from tests.conftest import EXAMPLE_TEXT

_WORDS = (
    ("bob", "B AA B"), ("moves", "M UW V Z"), ("the", "DH AH"), ("wheel", "W IY L"), ("thinking", "TH IH NG K IH NG"),
    ("of", "AH V"), ("papa", "P AA P AH"), ("show", "SH OW"), ("five", "F AY V"), ("map", "M AE P"),
    ("seems", "S IY M Z"), ("too", "T UW"), ("far", "F AA R"),
)


def synthetic_content(seconds: float = 20.0, fps: float = 30.0, seed: int = 0) -> Content:
    """Phrases of made-up words at a speaking rate, with loudness and a falling F0 contour on the vowels."""
    rng = np.random.default_rng(seed)
    words, phones, t = [], [], 0.3
    while t < seconds - 1.5:
        for _ in range(rng.integers(3, 7)):  # one phrase
            label, pronunciation = _WORDS[rng.integers(len(_WORDS))]
            start = t
            for phone in pronunciation.split():
                length = rng.uniform(0.08, 0.16) if phone[0] in "AEIOU" else rng.uniform(0.03, 0.09)
                phones.append(Segment(t, t + length, phone))
                t += length
            words.append(Segment(start, t, label))
            t += rng.uniform(0.0, 0.06)
        t += rng.uniform(0.3, 0.8)
    n = int(np.ceil(seconds * fps))
    times = np.arange(n) / fps
    vowel = np.zeros(n, bool)
    for start, end, label in phones:
        vowel |= (times >= start) & (times < end) & (label[0] in "AEIOU")
    in_word = np.zeros(n, bool)
    for start, end, _ in words:
        in_word |= (times >= start) & (times < end)
    rms = np.where(vowel, 0.12, np.where(in_word, 0.04, 0.002)) * rng.uniform(0.7, 1.3, n)
    f0 = np.where(vowel, 180 - 20 * np.sin(times), 0.0)
    return Content(fps, tuple(phones), tuple(words), rms, f0, vowel.astype(float), np.zeros(n))


def switching_emotion(n: int, fps: float, label: str, start_s: float, end_s: float) -> EmotionFrames:
    """Neutral, then `label` at full intensity from start_s to end_s, then neutral again."""
    categories = np.zeros((n, len(EMOTIONS)), np.float32)
    on = (np.arange(n) / fps >= start_s) & (np.arange(n) / fps < end_s)
    categories[:, 0] = ~on
    categories[on, EMOTIONS.index(label)] = 1
    return EmotionFrames(categories, np.ones(n, np.float32), np.zeros((n, 3), np.float32))


@pytest.fixture(scope="module")
def content() -> Content:
    return synthetic_content()


@pytest.fixture(scope="module")
def example_content(spoken_example) -> Content:
    from avatar.frontend.speech import analyze_speech

    return analyze_speech(spoken_example, EXAMPLE_TEXT).content()


def test_same_seed_same_track_other_seed_other_details(content):
    emotion = constant("happiness", 0.6, content.n_frames)
    a, b = animate_face(content, emotion, seed=3), animate_face(content, emotion, seed=3)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.head, b.head) and np.array_equal(a.gaze, b.gaze)
    c = animate_face(content, emotion, seed=4)
    assert not np.allclose(a.head, c.head, atol=0.01)  # head drift, nods
    assert not np.allclose(a.gaze, c.gaze, atol=0.01)  # saccades, look-aways
    assert not np.allclose(a["eyeBlinkLeft"], c["eyeBlinkLeft"], atol=0.1)  # blink timing
    assert np.allclose(a["jawOpen"], c["jawOpen"], atol=0.05)  # the words are the same words


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_track_shape_range_and_clock(fps):
    content = synthetic_content(8.0, fps)
    track = animate_face(content, constant("surprise", 1.0, content.n_frames))
    n = content.n_frames
    assert track.fps == fps and track.names == BLENDSHAPES
    assert track.weights.shape == (n, 52) and track.head.shape == (n, 3) and track.gaze.shape == (n, 4)
    assert track.weights.dtype == np.float32 and np.isfinite(track.weights).all()
    assert track.weights.min() >= 0 and track.weights.max() <= 1
    assert np.abs(track.head).max() < np.radians(25) and np.abs(track.gaze).max() <= 0.6 + 1e-6
    assert track["jawOpen"].std() > 0.05 and track["eyeBlinkLeft"].max() > 0.9


def test_a_mismatched_emotion_curve_is_a_clear_error(content):
    with pytest.raises(ValueError, match="content.n_frames"):
        animate_face(content, constant("anger", 0.5, content.n_frames - 1))


def _at_phones(values: np.ndarray, fps: float, phones, labels: set[str]) -> float:
    """Mean of a channel at the middle frames of the phones with these labels."""
    frames = [int(round((s + e) / 2 * fps)) for s, e, _ in intervals(phones, frozenset(labels))]
    return float(np.mean(values[frames]))


def test_lip_sync_shapes_the_mouth_per_phone_class(content):
    track = animate_face(content, constant("neutral", 0.0, content.n_frames))

    def at(name: str, labels: set[str]) -> float:
        values = track["mouthPucker"] + track["mouthFunnel"] if name == "rounding" else track[name]
        return _at_phones(values, track.fps, content.phones, labels)

    assert at("rounding", {"UW", "W", "OW"}) > 0.4 and at("rounding", {"IY", "AE"}) < 0.2
    assert at("mouthRollLower", {"F", "V"}) > 0.3 and at("mouthRollLower", {"AA", "IY", "UW"}) < 0.1  # lip on teeth
    assert at("tongueOut", {"TH", "DH"}) > 0.15 and at("tongueOut", {"AA", "S", "K"}) < 0.05
    assert at("jawOpen", {"AA", "AE"}) > 2 * at("jawOpen", {"IY", "UW"})  # vowel height
    assert at("mouthStretchLeft", {"IY", "S"}) > 3 * at("mouthStretchLeft", {"UW", "W"})  # spread vs rounded


def test_coarticulation_blends_instead_of_stepping(content):
    track = animate_face(content, constant("neutral", 0.0, content.n_frames))
    # No step changes: a jaw moves at most about 8 units per second (0.27 per frame at 30 fps).
    assert np.abs(np.diff(track["jawOpen"])).max() < 0.27
    assert np.abs(np.diff(track["mouthPucker"])).max() < 0.2
    # Anticipatory rounding: the lips already round during the M of "moves" (M UW), not during the P of "papa".
    m_before_uw = [p for p, q in zip(content.phones, content.phones[1:], strict=False) if p.label == "M"
                   and q.label == "UW"]
    p_before_aa = [p for p, q in zip(content.phones, content.phones[1:], strict=False) if p.label == "P"
                   and q.label == "AA"]
    pucker = track["mouthPucker"]
    assert _at_phones(pucker, track.fps, m_before_uw, {"M"}) > 0.2
    assert _at_phones(pucker, track.fps, p_before_aa, {"P"}) < 0.1


def test_blinks_at_neutral_and_with_arousal():
    content = synthetic_content(120.0)
    n = content.n_frames
    rates = {}
    for label in ("neutral", "fear", "sadness"):
        per_seed = []
        for seed in range(3):
            per_minute, durations = blinks(animate_face(content, constant(label, 0.8, n), seed=seed))
            if label == "neutral":
                assert 8 <= per_minute <= 30
                assert durations.min() >= 0.1 - 1e-6 and durations.max() <= 0.4 + 1e-6
            per_seed.append(per_minute)
        rates[label] = np.mean(per_seed)
    assert rates["fear"] > rates["neutral"] > rates["sadness"]  # arousal raises the blink rate
    assert blinks(animate_face(content, constant("neutral", 0.0, n), style=FaceStyle(blink_rate=0)))[0] == 0


def test_emotion_onset_and_offset_are_smooth():
    fps = 30.0
    content = synthetic_content(9.0, fps)
    n = content.n_frames
    act = facs.activation(switching_emotion(n, fps, "anger", 3.0, 6.0), fps)
    anger = act[:, EMOTIONS.index("anger")]
    assert np.abs(np.diff(anger)).max() <= facs.MAX_ACTIVATION_RATE / fps + 1e-9
    assert anger[: int(3 * fps)].max() < 1e-6 and anger[int(4.5 * fps)] > 0.9  # set in within 1.5 s
    assert anger[int(6.4 * fps)] > 0.3 and anger[-1] < 0.05  # fades more slowly than it came, but fades
    # In the track: the nose wrinkle of disgust (touched by nothing else) never jumps.
    track = animate_face(content, switching_emotion(n, fps, "disgust", 3.0, 6.0))
    sneer = track["noseSneerLeft"]
    full = facs.EXPRESSIONS[EMOTIONS.index("disgust"), BLENDSHAPES.index("noseSneerLeft")]
    assert np.abs(np.diff(sneer)).max() <= full * facs.MAX_ACTIVATION_RATE / fps + 1e-6
    assert sneer[int(5.5 * fps)] > 0.9 * full and sneer[: int(3 * fps)].max() < 1e-6


def test_emotion_never_breaks_bilabial_closure(example_content, content):
    for source in (example_content, content):
        n = source.n_frames
        for label in EMOTIONS:
            for style in (FaceStyle(), FaceStyle(emotion=1.5, articulation=1.3)):
                track = animate_face(source, constant(label, 1.0, n), style=style)
                share, missed = bilabial_closure(track, source.phones)
                assert share == 1.0, f"{label}: lips open on P/B/M at {missed}"


def test_without_an_alignment_the_jaw_follows_loudness(content):
    bare = Content(content.fps, (), (), content.rms, content.f0_hz, content.voiced, content.onset)
    track = animate_face(bare, constant("neutral", 0.0, bare.n_frames))
    assert np.corrcoef(track["jawOpen"], bare.rms)[0, 1] > 0.6


def _check_all(figures, blink_rate: bool = True) -> None:
    failures = figures.failures()
    if not blink_rate:  # a few seconds are too short to count blinks per minute
        failures = [f for f in failures if "blinks per minute" not in f]
    assert not failures, "\n".join(failures)
    assert len(figures.emotion_at_08) == len(EMOTIONS) - 1


def test_must_show_on_a_beat_take(beat_dir):
    content = beat_content("2_scott_0_1_1", beat_dir)
    figures = measure(lambda c, e: animate_face(c, e, seed=0), content)
    _check_all(figures)


def test_must_show_on_the_spoken_example(example_content):
    figures = measure(lambda c, e: animate_face(c, e, seed=0), example_content)
    _check_all(figures, blink_rate=False)
    assert len(intervals(example_content.phones, frozenset({"P", "B", "M"}))) >= 5


def test_a_short_clip_without_any_blink_still_animates():
    from avatar.frontend.speech import speak

    content = speak("Hello there, nice to meet you.").content()
    for seed in range(20):  # several of these seeds draw no blink in 2 s
        track = animate_face(content, constant("neutral", 0.8, content.n_frames), seed=seed)
        assert track.n_frames == content.n_frames

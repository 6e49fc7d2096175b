"""Hostile-but-realistic calls of the Python API: every bad argument raises avatar.errors.InputError (or a
documented subclass) with a one-line message naming it, before any work; the forms users try that make sense
(samples with their rate, int16 PCM) work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avatar.errors import InputError
from avatar.frontend.audio import Audio
from avatar.pipeline import AvatarPipeline
from generators.talking_head import PortraitError
from rigs.errors import RigInputError

SAID = "Good morning to you."


@pytest.fixture(scope="module")
def pipe() -> AvatarPipeline:
    return AvatarPipeline("procedural")  # no model to load: the checks are what is tested


@pytest.fixture(scope="module")
def speech() -> Audio:
    from avatar.frontend.tts import get_voice

    return get_voice().synthesize(SAID, seed=0)


def raises_one_line(expected: str, call):
    with pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and expected.lower() in message.lower(), message
    return caught.value


x = np.zeros(16_000, np.float32)
x[::40] = 0.5

BAD_AUDIO = [  # (audio argument, what the message says)
    (x, "bare array of shape (16000,)"),
    (list(x), "give a file path"),
    ({"samples": x}, "give a file path"),
    (5, "audio is int 5"),
    ((x, 0), "sample rate 0 Hz"),
    ((x, 100), "sample rate 100 Hz"),
    ((x, 16_000.5), "not a whole number"),
    ((x, float("nan")), "not a whole number"),
    ((np.stack([x, x]), 16_000), "shape (2, 16000)"),
    ((np.stack([x, x], axis=1), 16_000), "shape (16000, 2)"),
    ((x.astype(np.int64), 16_000), "int64"),
    ((x.astype(np.complex64), 16_000), "complex64"),
    ((x * 30_000, 16_000), "samples up to 15000"),
    ((np.zeros(0, np.float32), 16_000), "zero length"),
    ((np.zeros(16_000, np.float32), 16_000), "silent"),
    ((x[:1000], 16_000), "at least 0.3 s"),
    ((np.r_[x, np.nan], 16_000), "NaN"),
    ("/nowhere/speech.wav", "does not exist"),
]


@pytest.mark.parametrize(("audio", "expected"), BAD_AUDIO)
def test_bad_audio_arguments(pipe, audio, expected):
    raises_one_line(expected, lambda: pipe(audio, verify=False))


@pytest.mark.parametrize(
    ("samples", "rate", "expected"),
    [
        ([0.1] * 16_000, 16_000, "samples are a list"),
        (x, 0, "sample rate 0 Hz"),
        (x, "16000", "not a whole number"),
        (x, True, "not a whole number"),
        (np.zeros((2, 10)), 16_000, "shape (2, 10)"),
    ],
)
def test_audio_itself_checks_its_fields(samples, rate, expected):
    raises_one_line(expected, lambda: Audio(samples, rate))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"text": 123}, "text is int 123"),
        ({"text": b"hello"}, "text is bytes"),
        ({"text": ["hello"]}, "text is list"),
        ({"text": "Good\x00 morning"}, "U+0000"),
        ({"text": "你好"}, "cannot speak"),
        ({"text": "a" * 1001}, "1001"),
        ({"text": SAID, "intensity": "0.5"}, "intensity is str"),
        ({"text": SAID, "intensity": None}, "intensity is"),
        ({"text": SAID, "intensity": True}, "intensity is bool"),
        ({"text": SAID, "intensity": [0.5]}, "intensity is"),
        ({"text": SAID, "intensity": float("nan")}, "outside [0, 1]"),
        ({"text": SAID, "intensity": 2}, "outside"),
        ({"text": SAID, "emotion": None}, "emotion is NoneType"),
        ({"text": SAID, "emotion": 5}, "emotion is int"),
        ({"text": SAID, "emotion": "joy"}, "unknown emotion"),
        ({"text": SAID, "outputs": 123}, "outputs is 123"),
        ({"text": SAID, "outputs": None}, "outputs is None"),
        ({"text": SAID, "outputs": ["face", 3]}, "outputs is"),
        ({"text": SAID, "outputs": ""}, "unknown output"),
        ({"text": SAID, "seed": 2**70}, "seed 1180591620717411303424"),
        ({"text": SAID, "seed": -1}, "seed -1"),
        ({"text": SAID, "seed": 1.5}, "seed 1.5"),
        ({"text": SAID, "seed": "3"}, "seed '3'"),
        ({"text": SAID, "seed": True}, "seed True"),
        ({"text": SAID, "max_attempts": 0}, "max_attempts"),
        ({"text": SAID, "max_attempts": 21}, "max_attempts"),
        ({"text": SAID, "max_attempts": 2.5}, "max_attempts"),
        ({"text": SAID, "size": 255}, "size 255 is not an even whole number of pixels from 256 to 1024"),
        ({"text": SAID, "size": 2048}, "from 256 to 1024"),
        ({"text": SAID, "size": 301}, "size 301 is not an even"),
        ({"text": SAID, "size": 512.0}, "size 512.0"),
        ({"text": SAID, "size": True}, "size True"),
        ({"text": SAID, "verify": "yes"}, "verify is 'yes'"),
        ({"text": SAID, "vad": "x"}, "vad is 'x'"),
        ({"text": SAID, "vad": (1, 2)}, "three values"),
        ({"text": SAID, "vad": (2, 0, 0)}, "valence must lie in [-1, 1]"),
        ({"text": SAID, "vad": ("a", "b", "c")}, "vad is"),
        ({"text": SAID, "emotion_keyframes": 5}, "emotion_keyframes is int"),
        ({"text": SAID, "emotion_keyframes": ""}, "keyframes are empty"),
        ({"text": SAID, "progress": 5}, "progress is"),
        ({"text": SAID, "transcript": "hi"}, "transcript is for audio"),
        ({"text": SAID, "audio": "x.wav"}, "not both"),
        ({}, "not both and not neither"),
        ({"text": SAID, "style_reference": 5}, "audio is int 5"),
        ({"text": SAID, "outputs": "video", "portrait": 5}, "portrait is int"),
        ({"text": SAID, "outputs": "video", "portrait": "/nowhere/photo.jpg"}, "does not exist"),
    ],
)
def test_bad_call_arguments(pipe, kwargs, expected):
    raises_one_line(expected, lambda: pipe(verify=kwargs.pop("verify", False), **kwargs))


@pytest.mark.parametrize(
    ("portrait", "expected"),
    [
        (np.zeros((100, 100, 5), np.uint8), "shape (100, 100, 5)"),
        (np.full((100, 100, 3), np.nan), "dtype float64"),
        (np.broadcast_to(np.zeros(1, np.uint8), (8000, 8000, 3)), "64 megapixels"),
        (np.zeros((20, 20, 3), np.uint8), "only 20x20"),
    ],
)
def test_bad_portrait_arrays_are_portrait_errors(pipe, speech, portrait, expected):
    error = raises_one_line(
        expected,
        lambda: pipe(
            (speech.samples, speech.sample_rate), transcript=SAID, portrait=portrait, outputs="video", verify=False
        ),
    )
    assert isinstance(error, PortraitError)


def test_every_input_error_shares_one_root():
    assert issubclass(PortraitError, InputError) and issubclass(RigInputError, InputError)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"fps": "30"}, "fps='30'"),
        ({"fps": 0}, "fps=0"),
        ({"fps": 240}, "from 1 to 200"),
        ({"fps": True}, "fps=True"),
        ({"voice": "bob"}, "Unknown voice 'bob'"),
        ({"voice": 5}, "Unknown voice 5"),
        ({"generator": "neural"}, "unknown generator"),
    ],
)
def test_bad_pipeline_settings(kwargs, expected):
    raises_one_line(expected, lambda: AvatarPipeline(**{"generator": "procedural", **kwargs}))


def test_samples_with_their_rate_and_int16_pcm_are_speech(pipe, speech):
    """(samples, rate) in either order, and int16 PCM, animate exactly like the same Audio."""
    reference = pipe(speech, transcript=SAID, verify=False, seed=2)
    pcm = (np.clip(speech.samples, -1, 1) * 32767).astype(np.int16)
    for audio in ((speech.samples, speech.sample_rate), (speech.sample_rate, speech.samples)):
        result = pipe(audio, transcript=SAID, verify=False, seed=2)
        np.testing.assert_array_equal(result.face.weights, reference.face.weights)
    from_pcm = pipe((pcm, speech.sample_rate), transcript=SAID, verify=False, seed=2)
    assert from_pcm.face.n_frames == reference.face.n_frames
    assert np.abs(from_pcm.face.weights - reference.face.weights).max() < 0.05


def test_save_checks_its_folder_and_swaps_it_in_whole(pipe, speech, tmp_path):
    result = pipe(speech, transcript=SAID, verify=False)
    (tmp_path / "file").write_text("x")
    raises_one_line("is a file", lambda: result.save(tmp_path / "file"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    raises_one_line("holds files a render does not write (notes.txt)", lambda: result.save(tmp_path / "mine"))
    raises_one_line("unknown output", lambda: result.save(tmp_path / "out", formats="hologram"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine"]
    result.save(tmp_path / "out", formats="face,body")
    result.save(tmp_path / "out", formats="face")  # a later render owns the folder: no stale body files
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "face.csv",
        "face.glb",
        "face.json",
        "render.json",
        "speech.wav",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine", "out"]  # no hidden folders left


def test_a_speech_file_is_decoded_once_for_its_check_and_its_render(pipe, speech, tmp_path, monkeypatch):
    import avatar.frontend.audio as audio_module

    path = tmp_path / "speech.flac"
    sf.write(path, speech.samples, speech.sample_rate)
    decoded = []
    real = audio_module._decode_resampled
    monkeypatch.setattr(audio_module, "_decode_resampled", lambda *a: decoded.append(a) or real(*a))
    from avatar.request import check_request

    check_request(Path(path), transcript=SAID)
    pipe(path, transcript=SAID, verify=False)
    assert len(decoded) == 1


def test_an_interruption_whose_exception_was_swallowed_still_keeps_the_folder(tmp_path):
    """A Ctrl-C's KeyboardInterrupt can be lost on its way up (raised inside a __del__ or a library that swallows
    it); the handler's note is not, so the finished hidden folder is not swapped in."""
    from avatar.outputs import clear_interrupt, folder_written_whole, note_interrupt

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "render.json").write_text("earlier\n")
    try:
        with pytest.raises(KeyboardInterrupt), folder_written_whole(tmp_path / "out") as folder:
            (folder / "render.json").write_text("new\n")
            try:
                note_interrupt()  # what the command line's SIGINT handler does before it raises
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                pass  # swallowed, as `Exception ignored in: ... __del__` does
    finally:
        clear_interrupt()
    assert (tmp_path / "out" / "render.json").read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the hidden folder is gone
    with folder_written_whole(tmp_path / "out") as folder:  # the next command swaps in as usual
        (folder / "render.json").write_text("new\n")
    assert (tmp_path / "out" / "render.json").read_text() == "new\n"


def test_audio_longer_than_the_cap_is_refused_with_the_fix():
    from avatar.frontend.audio import MAX_DURATION_S
    from avatar.request import check_request

    samples = np.full(int((MAX_DURATION_S + 1) * 8000), 0.1, np.float32)
    raises_one_line("at most 10 minutes are read at once: split it", lambda: check_request((samples, 8000)))


def test_a_long_clause_of_numbers_is_spoken_whole():
    """espeak-ng, the voice's phonemizer, drops the end of a long clause of numbers (it spoke 16 of 36 seven-digit
    numbers, and the render then failed to align): the voice cuts such clauses with commas first."""
    from avatar.frontend.tts import _short_clauses, get_voice

    text = " ".join(["77"] * 150)  # 300 spoken words, no punctuation
    phonemes = "".join("".join(sentence) for sentence in get_voice()._phonemizer.phonemize(_short_clauses(text)))
    assert phonemes.count("sˈɛvən") == 300, phonemes.count("sˈɛvən")

"""Speech emotion recognizer: the shipped checkpoint on speakers it never heard, its windows, streaming, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from avatar.analysis import analyze_emotion
from avatar.emotion.timeline import EmotionReader, EmotionTimeline
from avatar.emotion.windows import equal_parts, sliding_windows
from avatar.errors import InputError
from avatar.frontend.audio import Audio
from avatar.recognizers.ser_cnn import EMBED, SpeechEmotionCNN
from avatar.recognizers.ser_corpus import (
    CORPUS_LABELS,
    HEAD_LABELS,
    TEST_SPEAKERS,
    head_to_categories,
    read_manifest,
    speaker_folds,
)
from avatar.recognizers.ser_logmel import FPS, N_MELS, log_mel, mel_power, n_frames
from avatar.recognizers.ser_prosody import TRACK_COLUMNS, pitch_track, prosody_functionals
from avatar.recognizers.speech_emotion import (
    CNN_FILE,
    DEFAULT_CHECKPOINT,
    HOP_S,
    WINDOW_S,
    SpeechEmotionRecognizer,
    frame_stream,
)
from avatar.recognizers.train_ser import scores
from generators.conditioning import EMOTIONS
from tests.conftest import SHARED_DATA, tone

SER = SHARED_DATA / "ser"
BEFORE = json.loads((Path(__file__).parent / "data" / "ser_before_issue22.json").read_text())


@pytest.fixture(scope="module")
def recognizer() -> SpeechEmotionRecognizer:
    """The shipped checkpoint."""
    return SpeechEmotionRecognizer.from_pretrained()


@pytest.fixture(scope="module")
def mlps(recognizer) -> SpeechEmotionRecognizer:
    """The shipped checkpoint's MLP ensemble alone (its weights are those the readings of before were taken with)."""
    network = {k: v for k, v in recognizer.config["network"].items() if k != "cnn"}
    return SpeechEmotionRecognizer(recognizer.model, {**recognizer.config, "network": network})


def speechlike(seconds: float, seed: int = 0) -> Audio:
    """A gliding harmonic tone with syllable-rate loudness bumps and a little noise."""
    rng = np.random.default_rng(seed)
    base = tone(180.0, seconds)
    t = np.arange(len(base)) / 16_000
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)
    return Audio((base * envelope + 0.01 * rng.standard_normal(len(base))).astype(np.float32))


def test_predicts_probabilities_over_documented_windows(recognizer):
    result = recognizer.predict(speechlike(3.2))
    starts = [w.start for w in result.windows]
    assert starts[:-1] == pytest.approx(np.arange(len(starts) - 1) * HOP_S)  # every 0.5 s...
    assert result.windows[-1].end == pytest.approx(3.2)  # ...and the last window ends at the clip's end
    assert all(w.end - w.start == pytest.approx(WINDOW_S) for w in result.windows)
    assert (result.utterance.start, result.utterance.end) == (0.0, pytest.approx(3.2))
    for emotion in [*result.windows, result.utterance]:
        assert sum(emotion.classes.values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(emotion.probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert tuple(emotion.classes) == HEAD_LABELS and tuple(emotion.probs) == EMOTIONS
        assert emotion.probs["contempt"] == 0.0  # no speech data for contempt: never claimed
        assert emotion.label in EMOTIONS and emotion.label != "contempt"
        assert all(-1 <= v <= 1 for v in (emotion.valence, emotion.arousal, emotion.dominance))
    assert result.matrix.shape == (len(result.windows), len(EMOTIONS))


def test_head_classes_map_to_our_categories():
    matrix = head_to_categories()
    np.testing.assert_allclose(matrix.sum(1), 1.0)
    assert matrix[HEAD_LABELS.index("calm"), EMOTIONS.index("neutral")] == 1.0
    boredom = matrix[HEAD_LABELS.index("boredom")]
    assert boredom[EMOTIONS.index("neutral")] == 0.6 and boredom[EMOTIONS.index("sadness")] == 0.4
    assert matrix[:, EMOTIONS.index("contempt")].max() == 0.0


def same_as_before(recognizer, clip, before: dict) -> EmotionTimeline:
    """The windows, the utterance and read()'s frames of `clip` against what the code before issue 22 gave."""
    result = recognizer.predict(clip)
    np.testing.assert_allclose(result.times, before["window_times"], atol=1e-9)
    np.testing.assert_allclose([w.class_vector for w in result.windows], before["window_classes"], atol=2e-6)
    np.testing.assert_allclose(result.matrix, before["window_probs"], atol=2e-6)
    np.testing.assert_allclose([(w.valence, w.arousal, w.dominance) for w in result.windows], before["window_vad"],
                               atol=2e-6)
    np.testing.assert_allclose(result.utterance.class_vector, before["utterance_classes"], atol=2e-6)
    timeline = recognizer.read(clip, fps=before["frame_fps"])
    assert timeline.fps == before["frame_fps"] and timeline.n_frames == len(before["frame_probs"])
    np.testing.assert_allclose(timeline.probs, before["frame_probs"], atol=2e-6)
    np.testing.assert_allclose(timeline.confidence, before["frame_confidence"], atol=2e-6)
    return timeline


def test_read_gives_the_windows_of_before_on_the_frame_clock(mlps, monkeypatch):
    before = BEFORE["synthetic"]
    timeline = same_as_before(mlps, speechlike(3.2), before)
    np.testing.assert_allclose(timeline.vad, before["frame_vad"], atol=2e-6)
    # The first 0.5 s lie in the first window alone: those frames are its reading, trusted as its top probability.
    np.testing.assert_allclose(timeline.probs[:15], np.tile(before["window_probs"][0], (15, 1)), atol=2e-6)
    assert timeline.confidence[0] == pytest.approx(max(before["window_probs"][0]), abs=2e-6)
    # The analysis built on it (the fused curve, its windows, the JSON) is the same as before too.
    monkeypatch.setattr("avatar.analysis.speech_recognizer", lambda: mlps)
    now = analyze_emotion(speechlike(3.2), fps=before["frame_fps"]).to_json()
    assert json.dumps(now, sort_keys=True) == json.dumps(before["analysis"], sort_keys=True)


def test_read_on_a_real_clip_is_the_same_as_before(mlps):
    before = BEFORE["real"]
    path = SHARED_DATA / before["clip"]
    if not path.is_file():
        pytest.skip(f"real speech clip not found at {path}")
    same_as_before(mlps, path, before)


def test_the_recognizers_share_one_shape(recognizer):
    from avatar.recognizers.face_expression import FaceExpressionRecognizer
    from avatar.recognizers.face_motion import FaceMotionRecognizer

    for kind in (SpeechEmotionRecognizer, FaceMotionRecognizer, FaceExpressionRecognizer):
        assert isinstance(kind.from_pretrained(), EmotionReader), kind
    timeline = recognizer.read(speechlike(2.0), fps=25)
    assert isinstance(timeline, EmotionTimeline) and (timeline.n_frames, timeline.fps) == (50, 25.0)
    with pytest.raises(InputError, match="fps=0"):
        recognizer.read(speechlike(2.0), fps=0)


def test_long_input_streams_in_chunks_exactly_as_one_pass(recognizer):
    clip = speechlike(130.0, seed=4)  # three 60-s blocks
    frames = np.concatenate(list(frame_stream([clip.samples])))
    assert frames.shape == (n_frames(len(clip.samples)), N_MELS + TRACK_COLUMNS)
    chunked = np.concatenate(list(frame_stream(clip.samples[i : i + 7777] for i in range(0, len(clip.samples), 7777))))
    np.testing.assert_array_equal(chunked, frames)
    np.testing.assert_allclose(frames[:, :N_MELS], log_mel(mel_power(clip.samples)), atol=1e-5)
    spans = sliding_windows(len(frames), FPS, WINDOW_S, HOP_S)
    whole_probs, whole_vad = recognizer.read_spans(frames, spans)
    blocks = (frames[i : i + 777] for i in range(0, len(frames), 777))
    probs, vad = recognizer.read_spans(blocks, spans)
    np.testing.assert_allclose(probs, whole_probs, atol=1e-5)
    np.testing.assert_allclose(vad, whole_vad, atol=1e-5)
    result = recognizer.predict(clip)
    np.testing.assert_allclose(np.stack([w.class_vector for w in result.windows]), whole_probs, atol=1e-5)


def test_prosody_reads_the_voice_pitch_whatever_the_gain():
    low, high = (Audio(0.3 * tone(f0, 2.0)) for f0 in (120.0, 180.0))
    semitones = {}
    for name, audio in (("low", low), ("high", high)):
        track = pitch_track(audio.samples)
        assert len(track) == n_frames(len(audio.samples))
        semitones[name] = prosody_functionals(track)[0]  # mean pitch, semitones re 100 Hz
        quiet = prosody_functionals(pitch_track(0.1 * audio.samples))  # 20 dB quieter
        np.testing.assert_allclose(quiet, prosody_functionals(track), atol=1e-3)  # gain does not matter
    assert semitones["low"] == pytest.approx(12 * np.log2(1.2), abs=0.2)
    assert semitones["high"] - semitones["low"] == pytest.approx(12 * np.log2(1.5), abs=0.2)


def test_file_path_reads_as_the_loaded_audio(recognizer, tmp_path):
    clip = speechlike(4.3, seed=5)
    sf.write(tmp_path / "clip.wav", clip.samples, 16_000, subtype="FLOAT")
    from_file, in_memory = recognizer.predict(tmp_path / "clip.wav"), recognizer.predict(clip)
    np.testing.assert_allclose(from_file.matrix, in_memory.matrix, atol=1e-5)
    assert from_file.utterance.end == pytest.approx(4.3)


def test_predict_is_deterministic(recognizer):
    clip = speechlike(2.0, seed=3)
    first, second = recognizer.predict(clip), recognizer.predict(clip)
    np.testing.assert_array_equal(first.utterance.class_vector, second.utterance.class_vector)


def test_clear_errors(recognizer, tmp_path):
    with pytest.raises(InputError, match="at least 0.3 s"):
        recognizer.predict(speechlike(0.2))
    with pytest.raises(InputError, match="silent"):
        recognizer.predict(Audio(np.zeros(16_000, np.float32)))
    with pytest.raises(InputError, match="does not exist"):
        recognizer.predict(tmp_path / "missing.wav")
    (tmp_path / "broken.wav").write_bytes(b"RIFF0000WAVEfmt nonsense")
    with pytest.raises(InputError, match="could not be decoded"):
        recognizer.predict(tmp_path / "broken.wav")
    sf.write(tmp_path / "short.wav", speechlike(0.2).samples, 16_000)
    with pytest.raises(InputError, match="at least 0.3 s"):
        recognizer.predict(tmp_path / "short.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(16_000, np.float32), 16_000)
    with pytest.raises(InputError, match="silent"):
        recognizer.predict(tmp_path / "silent.wav")
    with pytest.raises(InputError, match="lacks config.json and model.safetensors.*avatar train ser"):
        SpeechEmotionRecognizer.from_pretrained(tmp_path)
    with pytest.raises(InputError, match="no manifest.csv.*--data ../shared/data/ser"):
        read_manifest(tmp_path)


def test_save_load_round_trip(recognizer, tmp_path):
    recognizer.save_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [CNN_FILE, "config.json", "model.safetensors"]
    copy = SpeechEmotionRecognizer.from_pretrained(tmp_path / "copy")
    clip = speechlike(2.5, seed=1)
    np.testing.assert_array_equal(copy.predict(clip).matrix, recognizer.predict(clip).matrix)
    config = json.loads((tmp_path / "copy" / "config.json").read_text())
    config["model_version"] = -1
    (tmp_path / "copy" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="Retrain"):
        SpeechEmotionRecognizer.from_pretrained(tmp_path / "copy")


def test_a_cnn_member_is_averaged_with_the_mlps_and_travels_with_the_checkpoint(mlps, tmp_path):
    torch.manual_seed(0)
    cnn = SpeechEmotionCNN(len(HEAD_LABELS)).eval()
    config = {**mlps.config, "network": {**mlps.config["network"], "cnn": {"embed": EMBED}}}
    both = SpeechEmotionRecognizer(mlps.model, config, cnn)
    clip = speechlike(5.1, seed=2)
    frames = np.concatenate(list(frame_stream([clip.samples])))
    # Spans of three lengths (the CNN reads equal lengths in batches), each read as it would be alone.
    spans = sliding_windows(len(frames), FPS, WINDOW_S, HOP_S) + equal_parts(len(frames), FPS, 0.8)
    assert len({b - a for a, b in spans}) == 3
    mlp_probs, mlp_vad = mlps.read_spans(frames, spans)
    with torch.no_grad():
        for (a, b), p, v, pm, vm in zip(spans, *both.read_spans(frames, spans), mlp_probs, mlp_vad, strict=True):
            cp, cv = cnn(torch.from_numpy(frames[None, a:b, :N_MELS]), torch.ones(1, b - a, dtype=torch.bool))
            np.testing.assert_allclose(p, (pm + cp[0].numpy()) / 2, atol=1e-6)
            np.testing.assert_allclose(v, (vm + cv[0].numpy()) / 2, atol=1e-6)
    both.save_pretrained(tmp_path / "both")
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == [CNN_FILE, "config.json", "model.safetensors"]
    copy = SpeechEmotionRecognizer.from_pretrained(tmp_path / "both")
    np.testing.assert_array_equal(copy.predict(clip).matrix, both.predict(clip).matrix)
    (tmp_path / "both" / "cnn.safetensors").unlink()
    with pytest.raises(InputError, match="lacks cnn.safetensors"):
        SpeechEmotionRecognizer.from_pretrained(tmp_path / "both")


def test_shipped_checkpoint_is_small_and_documented():
    assert sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.glob("*.safetensors")) < 10e6  # the CNN counts too
    card = (DEFAULT_CHECKPOINT / "README.md").read_text()
    config = json.loads((DEFAULT_CHECKPOINT / "config.json").read_text())
    assert "avatar train ser --data ../shared/data/ser -o checkpoints/ser" in card
    assert "non-commercial" in card and "Contempt has no speech data" in card
    for corpus, result in config["results"]["speaker_folds"]["corpora"].items():
        assert f"{100 * result['uar']:.1f} %" in card, corpus
        assert result["uar"] > 2 / len(CORPUS_LABELS[corpus])  # well above chance, on speakers held out


def test_scores_restrict_to_the_corpus_classes():
    names = CORPUS_LABELS["crema_d"]
    probs = np.zeros((2, len(HEAD_LABELS)))
    probs[0, HEAD_LABELS.index("surprise")], probs[0, HEAD_LABELS.index("anger")] = 0.6, 0.4  # no surprise there
    probs[1, HEAD_LABELS.index("calm")], probs[1, HEAD_LABELS.index("sadness")] = 0.7, 0.3
    result = scores(["anger", "sadness"], probs, names)
    assert result["accuracy"] == 1.0 and result["confusion"][names.index("anger")][names.index("anger")] == 1


@pytest.fixture(scope="module")
def corpora():
    if not (SER / "manifest.csv").is_file():
        pytest.skip(f"speech emotion corpora not found at {SER}")
    return read_manifest(SER)


def test_folds_hold_out_whole_speakers_of_every_corpus(corpora):
    folds = speaker_folds(corpora)
    speaker_fold = {}
    for clip, k in zip(corpora, folds, strict=True):
        assert speaker_fold.setdefault(clip.speaker, k) == k  # a speaker is in one fold only
    for k in range(folds.max() + 1):
        held = {c.corpus for c, f in zip(corpora, folds, strict=True) if f == k}
        assert {"crema_d", "ravdess", "emodb"} <= held


@pytest.mark.parametrize("corpus", ["crema_d", "ravdess"])
def test_speakers_never_heard_read_as_their_labels(recognizer, corpora, corpus):
    # TEST_SPEAKERS were left out of the shipped model's training: each clip is read as `predict` reads a file.
    clips = [c for c in corpora if c.speaker in TEST_SPEAKERS and c.corpus == corpus][::2]
    probs = np.stack([recognizer.predict(c.path).utterance.class_vector for c in clips])
    result = scores([c.label for c in clips], probs, CORPUS_LABELS[corpus])
    assert result["uar"] >= 0.4, result  # chance: 1/6 (CREMA-D), 1/8 (RAVDESS)


def test_voice_check_reports_what_the_coloured_voice_reads_as(spoken_example):
    from avatar.frontend.emotional_prosody import read_voice

    check = read_voice(spoken_example, "happiness")
    assert check["target"] == "happiness" and check["read_as"] in EMOTIONS
    assert check["matches"] == (check["read_as"] == "happiness")
    assert 0.0 <= check["target_probability"] <= 1.0


def test_brightness_tilts_the_voice_and_keeps_it_unclipped():
    from avatar.frontend.tts import Prosody, get_voice

    def high_over_low_db(audio: Audio) -> float:
        power = np.abs(np.fft.rfft(audio.samples)) ** 2
        hz = np.fft.rfftfreq(len(audio.samples), 1 / audio.sample_rate)
        return 10 * np.log10(power[(hz > 2000) & (hz < 4000)].sum() / power[(hz > 100) & (hz < 500)].sum())

    voice = get_voice()
    plain, bright = (voice.synthesize("Please tell me about your week.", Prosody(brightness=b)) for b in (0.0, 3.0))
    # +3 dB per octave above 500 Hz lifts 2-4 kHz by 6-9 dB against the band below 500 Hz.
    assert 5.5 < high_over_low_db(bright) - high_over_low_db(plain) < 9.5
    assert np.abs(bright.samples).max() == pytest.approx(0.9, abs=1e-3)  # still peak-normalised, no clipping
    with pytest.raises(InputError, match="brightness"):
        Prosody(brightness=9.0).check()

"""The learned generators' training data: sentences, the synthetic corpus, its dataset, and the BEAT-format loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avatar.errors import InputError
from avatar.training.beat_data import beat_emotion, build_beat_corpus, find_takes
from avatar.training.corpus import (
    SAMPA_TO_ARPABET,
    animate_variants,
    build_corpus,
    emodb_items,
    lablaut_phones,
)
from avatar.training.sentences import MAX_WORDS, MIN_WORDS, sentence_records, sentences
from generators.learned import representation as rep
from generators.learned.dataset import MotionCorpus, MotionWindows
from generators.procedural import lipsync
from generators.visemes import VISEMES
from rigs.face.arkit import INDEX
from tests.conftest import SHARED_DATA

BEAT = SHARED_DATA / "beat"
EMODB = SHARED_DATA / "emodb"


def _need(path: Path) -> None:
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")


@pytest.fixture(scope="module")
def tts_corpus(tmp_path_factory) -> Path:
    """A TTS-only corpus of about ten sentences (so sentence 9, held out, is in it), two variants each."""
    return build_corpus(tmp_path_factory.mktemp("tts") / "corpus", data_dir=None, tts_minutes=0.6, variants=2)


@pytest.fixture(scope="module")
def shared_corpus(tmp_path_factory) -> Path:
    """A corpus of the real speech only: two BEAT takes and two EmoDB clips, the first and last of each (sorted)."""
    _need(BEAT)
    return build_corpus(tmp_path_factory.mktemp("shared") / "corpus", data_dir=SHARED_DATA, tts_minutes=0,
                        variants=2, limit=2)


def test_sentences_are_many_varied_and_deterministic():
    records = sentence_records()
    texts = [t for _, t in records]
    assert len(set(texts)) == len(texts) >= 1100
    assert all(MIN_WORDS <= len(t.split()) <= MAX_WORDS for t in texts)
    assert texts == sentences() and texts[:50] == sentences(50)
    assert {"statement", "question", "exclamation", "happiness", "anger", "sadness", "fear", "disgust", "surprise",
            "contempt"} <= {k for k, _ in records}
    assert sum(t.endswith("?") for t in texts) > 200 and sum(t.endswith("!") for t in texts) > 150
    assert not any(ch.isdigit() for t in texts for ch in t)  # numbers spelled out: the transcript is the speech
    # Phones by the aligner's dictionary: rich in what the lips show (English text has ~6 % P/B/M, ~3.5 % F/V).
    from pocketsphinx import Decoder

    from avatar.frontend.pronounce import normalize_transcript

    lookup = Decoder(lm=None, loglevel="FATAL").lookup_word
    phones = [p for t in texts for w in normalize_transcript(t) for p in (lookup(w) or "").split()]
    share = lambda group: sum(p in group.split() for p in phones) / len(phones)  # noqa: E731
    assert share("P B M") > 0.08 and share("F V") > 0.045
    assert share("AA AE AH AO AW AY") > 0.15 and share("UW OW UH AO OY W") > 0.09
    assert len(set(phones)) == 39  # every ARPAbet phone occurs
    # Over an hour when spoken: about 2.9 words/s with the default voice at rate 1, plus 0.3 s of edges.
    assert sum(len(t.split()) / 2.9 + 0.3 for t in texts) > 3600


def test_tts_corpus_index_is_consistent(tts_corpus):
    info = json.loads((tts_corpus / "corpus.json").read_text())
    assert info["version"] == 1 and info["fps"] == 30
    assert info["dims"] == {"content": 84, "emotion": 11, "face": 59, "body": 306, "style": 6}
    for split in ("train", "test"):
        index = json.loads((tts_corpus / f"{split}_index.json").read_text())
        arrays = {name: np.load(tts_corpus / f"{split}_{name}.npy", mmap_mode="r")
                  for name in ("content", "emotion", "face", "body")}
        assert all(a.dtype == np.float16 for a in arrays.values())
        assert arrays["content"].shape == (sum(i["n_frames"] for i in index["items"]), 84)
        offset = 0
        for item in index["items"]:
            assert item["offset"] == offset and item["source"] == "tts"
            offset += item["n_frames"]
            assert item["phones"] and item["words"] and item["text"]
        offset = 0
        for variant in index["variants"]:
            assert variant["offset"] == offset
            assert variant["n_frames"] == index["items"][variant["item"]]["n_frames"]
            assert len(variant["style"]) == 6 and variant["face_present"] and variant["body_present"]
            offset += variant["n_frames"]
        for name in ("emotion", "face", "body"):
            assert len(arrays[name]) == offset
        assert len(index["variants"]) == 2 * len(index["items"])
        assert info["splits"][split]["items"] == len(index["items"])
    total = sum(info["splits"][s]["hours"] for s in ("train", "test"))
    assert 0.6 / 60 <= total < 1.0 / 60


def test_held_out_tts_sentences_are_in_test_only(tts_corpus):
    train = MotionCorpus(tts_corpus, "train")
    test = MotionCorpus(tts_corpus, "test")
    assert {i["sentence"] for i in test.items} == {9}
    assert all(i["sentence"] % 10 != 9 for i in train.items)
    assert not {i["text"] for i in train.items} & {i["text"] for i in test.items}


def test_windows_have_the_shapes_and_are_deterministic(tts_corpus):
    corpus = MotionCorpus(tts_corpus, "train")
    windows = MotionWindows(corpus, window=64, seed=5)
    sample = windows[3]
    shapes = {k: tuple(v.shape) for k, v in sample.items()}
    assert shapes == {"content": (64, rep.CONTENT_DIM), "emotion": (64, 11), "style": (6,), "face": (64, 59),
                      "body": (64, 306), "face_present": (), "body_present": (), "valid": (64,)}
    assert sample["content"].dtype == torch.float32 and sample["face_present"].dtype == torch.bool
    again = MotionWindows(corpus, window=64, seed=5)[3]
    assert all(torch.equal(sample[k], again[k]) for k in sample)
    windows.set_epoch(1)
    assert not torch.equal(windows[3]["body"], sample["body"])
    # A window longer than every clip is padded: valid marks the real frames, the motion holds its last frame.
    long = MotionWindows(corpus, window=400, seed=0)[0]
    n = int(long["valid"].sum())
    assert 0 < n < 400 and torch.equal(long["face"][n], long["face"][n - 1])
    batch = next(iter(torch.utils.data.DataLoader(windows, batch_size=4)))
    assert batch["body"].shape == (4, 64, 306) and batch["body_present"].shape == (4,)


def test_test_items_run_the_lip_sync_measures(tts_corpus):
    from avatar.evaluation.face import bilabial_closure

    item = next(MotionCorpus(tts_corpus, "test").iter_items())
    assert np.abs(rep.content_features(item.content) - item.features).max() < 1e-3
    # The articulation part says "lips closed" inside every P/B/M, and says it VISEME_LEAD frames early too.
    pp = rep.ACOUSTIC_DIM + VISEMES.index("PP")
    bilabials = [(s, e) for s, e, label in item.content.phones if label in ("P", "B", "M") and e - s >= 2 / rep.FPS]
    assert bilabials
    for start, end in bilabials:
        frame = int(round((start + end) / 2 * rep.FPS))
        assert item.features[frame, pp] > 0.5 and item.features[frame - rep.VISEME_LEAD, pp + len(VISEMES)] > 0.5
    variant = item.variants[0]
    assert variant.emotion_frames().n_frames == item.content.n_frames
    closure, _ = bilabial_closure(rep.face_track(variant.face), item.content.phones)
    assert closure >= 0.9 or np.isnan(closure)  # the procedural teacher closes the lips on P/B/M


def test_shared_corpus_holds_out_speakers_and_takes(shared_corpus):
    test, train = MotionCorpus(shared_corpus, "test"), MotionCorpus(shared_corpus, "train")
    assert {i["id"] for i in test.items if i["source"] == "beat"} == {"beat_2_scott_0_3_3"}
    assert {i["speaker"] for i in test.items if i["source"] == "emodb"} == {"emodb_16"}
    assert {i["speaker"] for i in train.items if i["source"] == "emodb"} == {"emodb_03"}
    assert not {i["speaker"] for i in train.items if i["source"] == "emodb"} & {"emodb_15", "emodb_16"}
    assert "beat_2_scott_0_3_3" not in {i["id"] for i in train.items}
    emodb = [i for i in train.items + test.items if i["source"] == "emodb"]
    assert all(i["language"] == "de" and i["n_frames"] == 60 for i in emodb)
    beat = next(i for i in train.items if i["source"] == "beat")
    assert beat["words"] and beat["phones"] and beat["n_frames"] > 1800


def test_sampa_table_maps_an_emodb_lablaut_file():
    _need(EMODB)
    phones = lablaut_phones(EMODB / "lablaut" / "03a01Ncxx.lablaut", 2.0)  # "Der Lappen liegt auf dem Eisschrank"
    labels = [p.label for p in phones]
    assert labels == ["D", "EH", "L", "AA", "P", "M", "L", "IY", "K", "T", "AW", "F", "T", "IH", "M", "AY", "SH",
                      "K", "AA", "NG", "K"]
    assert all(a.end <= b.start + 1e-9 and a.start < a.end for a, b in zip(phones, phones[1:], strict=False))
    assert phones[0].start == pytest.approx(0.0768, abs=1e-3) and phones[-1].end == pytest.approx(1.498, abs=1e-3)
    assert set(SAMPA_TO_ARPABET.values()) <= set(lipsync._TARGETS)  # every phone has a lip-sync target


def test_emodb_clip_without_lablaut_follows_loudness(tmp_path):
    _need(EMODB)
    (tmp_path / "wav").mkdir()
    (tmp_path / "wav" / "03a01Fa.wav").symlink_to(EMODB / "wav" / "03a01Fa.wav")
    item = next(emodb_items(tmp_path))
    assert item.content.phones == () and item.content.words == () and item.split == "train"
    (meta, emotion, face, body), = animate_variants(item, 1)
    assert face.shape == (60, 59) and body.shape == (60, 306)
    assert face[:, INDEX["jawOpen"]].max() > 0.05  # the jaw follows the loudness


def test_beat_loader_reads_the_real_take(tmp_path):
    _need(BEAT)
    from rigs.formats.bvh import read_bvh

    path = build_beat_corpus(BEAT, tmp_path / "beat", test_takes=["2_scott_0_3_3"])
    info = json.loads((path / "corpus.json").read_text())
    assert {s["take"] for s in info["skipped"]} == {"2_scott_0_2_2", "2_scott_0_3_3"}  # no motion files
    corpus = MotionCorpus(path, "train")
    item = corpus.item(0)
    assert item.id == "beat_2_scott_0_1_1" and item.meta["emotion_label"] == "neutral"
    variant = item.variants[0]
    assert variant.face is None and variant.body is not None
    assert corpus.variants[0]["face_present"] is False and corpus.variants[0]["body_present"] is True
    assert np.allclose(variant.emotion[:, 0], 1.0) and np.allclose(variant.emotion[:, 1:8], 0.0)
    # The 15 fps capture resampled to 30 fps: every other frame is a capture frame, kept to float16 precision.
    with pytest.warns(UserWarning):
        capture = rep.body_features(read_bvh(BEAT / "bvh" / "2_scott_0_1_1.bvh"))
    n = min(len(capture), (len(variant.body) + 1) // 2)
    assert np.abs(variant.body[::2][:n] - capture[:n]).max() < 2e-3
    assert abs(len(variant.body) - 2 * len(capture)) <= 12  # cut to the shorter of audio and capture
    window = MotionWindows(corpus, window=32)[0]
    assert not window["face_present"] and window["body_present"]


def test_beat_layouts_and_emotion_rule(tmp_path):
    _need(BEAT)
    speaker = tmp_path / "2"
    speaker.mkdir()
    for kind, suffix in (("wav", "wav"), ("bvh", "bvh"), ("textgrid", "TextGrid")):
        (speaker / f"2_scott_0_1_1.{suffix}").symlink_to(BEAT / kind / f"2_scott_0_1_1.{suffix}")
    (take,) = find_takes(tmp_path)  # BEAT's own <root>/<speaker>/<take>.* layout
    assert take.name == "2_scott_0_1_1" and take.bvh and take.wav and take.textgrid and take.json is None
    assert len(find_takes(BEAT)) == 3  # ours: <root>/{wav,bvh,textgrid}/<take>.*
    assert beat_emotion("2_scott_0_3_3") == "neutral"
    assert [beat_emotion(f"1_wayne_0_{n}_{n}") for n in (64, 65, 73, 81, 87, 95, 103, 118)] == [
        "neutral", "happiness", "anger", "sadness", "contempt", "surprise", "fear", "disgust"]
    with pytest.raises(InputError, match="past BEAT's emotion ranges"):
        beat_emotion("1_wayne_0_119_119")


def test_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_corpus(tmp_path / "out", data_dir=tmp_path / "missing", tts_minutes=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no BEAT takes"):
        find_takes(tmp_path / "empty")
    with pytest.raises(InputError, match="no BEAT takes"):
        build_beat_corpus(tmp_path / "empty", tmp_path / "beat_out")
    with pytest.raises(InputError, match="does not exist"):
        build_beat_corpus(tmp_path / "nowhere", tmp_path / "beat_out")
    with pytest.raises(Exception, match="not a motion corpus"):
        MotionCorpus(tmp_path / "empty")


def test_interrupted_build_leaves_nothing(tmp_path):
    def stop(stage, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_corpus(tmp_path / "corpus", data_dir=None, tts_minutes=0.1, variants=1, progress=stop)
    assert list(tmp_path.iterdir()) == []

"""The synthetic training corpus of the learned motion generators: real and synthetic speech, procedural motion.

Speech items come from three sources, each turned into `Content` on the 30 fps clock (features with log-mel):
- `beat`: the BEAT takes in the shared data (wav + TextGrid word and phone tiers);
- `emodb`: EmoDB's German 2-s clips. No English alignment is possible, so their phones come from EmoDB's own
  `lablaut` segmentations (German SAMPA, Kiel conventions), mapped to the ARPAbet the lip-sync knows by
  `SAMPA_TO_ARPABET`; a clip without a usable lablaut file gets no phones (the face then follows loudness only);
- `tts`: sentences from `avatar.training.sentences`, spoken by the default voice with varied prosody (rate
  0.8-1.25, pitch -3..+3 semitones, expressiveness 0.6-1.6, voice seed) and aligned with their known text.

Each item is animated `variants` times by the procedural face and body (`generators.procedural`), each variant
with its own emotion curve (one of the 8 labels held at intensity U(0.3, 1); in about a quarter of the variants a
keyframed change to another label mid-clip), seed and style: the item's estimated speaking style
(`avatar.frontend.style.estimate_style`) perturbed by N(0, 0.5^2) per dimension, passed to the animators as
`face_style()` and `body_style()`; the vector stored is the one actually used (after `Style.from_vector`'s limits).

Held out as split "test": BEAT take 2_scott_0_3_3, EmoDB speakers 15 and 16, every 10th TTS sentence (sentence
numbers 9, 19, 29, ...); everything else is "train".

On disk: the files, arrays, dtype and version of generators/learned/corpus_format.py, which the reader
(generators/learned/dataset.py) shares. The folder is built beside its destination and renamed into place, so an
interrupted build leaves nothing.

Run: `python -m avatar.training.corpus --out data/corpus [--tts-minutes 60] [--variants 4]`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avatar.emotion import constant_emotion, from_keyframes
from avatar.errors import InputError
from avatar.frontend.alignment import Alignment
from avatar.frontend.audio import Audio, load_audio
from avatar.frontend.features import extract_features
from avatar.frontend.style import STYLE_DIMS, Style, estimate_style
from avatar.training.sentences import DEFAULT_COUNT, sentence_records
from generators.conditioning import EMOTIONS, Content, EmotionFrames, Segment
from generators.learned import corpus_format as disk
from generators.learned import representation as rep
from generators.procedural.body import animate_body
from generators.procedural.face import animate_face
from rigs.paths import shared_data

FPS = disk.FPS
DEFAULT_DATA_DIR = shared_data()

TEST_BEAT_TAKES = frozenset({"2_scott_0_3_3"})
TEST_EMODB_SPEAKERS = frozenset({"15", "16"})
TTS_TEST_EVERY = 10  # sentence numbers k with k % 10 == 9 are held out
INTENSITY_RANGE = (0.3, 1.0)
KEYFRAMED_SHARE = 0.25
STYLE_NOISE = 0.5
RATE_RANGE, PITCH_RANGE, EXPRESSIVENESS_RANGE = (0.8, 1.25), (-3.0, 3.0), (0.6, 1.6)

Progress = Callable[[str, float, float], None]  # (stage, done, total): items, or seconds of speech for TTS

# EmoDB: the emotion letter of SSTTTEV.wav, and the ten sentences by text id (German).
EMODB_EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
                  "N": "neutral"}
EMODB_TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

# German SAMPA (as EmoDB's Kiel-style lablaut files write it) -> the ARPAbet phone whose mouth shape is closest.
# The lip-sync only needs the visible articulation: lip closure, lip-teeth contact, rounding, jaw opening.
SAMPA_TO_ARPABET = {
    # Vowels by height and rounding: German rounded front vowels (y, Y, 2, 9) round the lips like u/U/o/O.
    "i": "IY", "I": "IH", "e": "EY", "E": "EH", "a": "AA", "A": "AA", "@": "AH",
    "6": "AH",  # vocalic r [ɐ], a near-open central vowel
    "o": "OW", "O": "AO", "u": "UW", "U": "UH", "y": "UW", "Y": "UH", "2": "OW", "9": "AO", "8": "UH",
    # Diphthongs and the glides the labellers wrote as one segment (first part decides the mouth).
    "aI": "AY", "aU": "AW", "OY": "OY", "ao": "AW", "aO": "AW", "AO": "AW", "AU": "AW", "OU": "OW",
    "ia": "IY", "i@": "IY", "e@": "EY", "I@": "IH", "@E": "EH", "@a": "AH", "@O": "AO",
    # Plosives (closure, release "!p" and aspiration "pasp" are merged into one phone, as in English alignments).
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G",
    "?": "HH",  # glottal stop: no oral target of its own, the neighbours shape the mouth (HH is the weak class)
    # Fricatives and approximants.
    "f": "F", "v": "V", "V": "V",  # V: labiodental approximant (a weak /v/)
    "B": "B",  # bilabial fricative (a lenited /b/): the lips come together as for /b/
    "D": "D", "G": "G",  # lenited /d/, /g/
    "s": "S", "z": "Z", "S": "SH", "Z": "ZH",
    "C": "Y",  # ich-Laut [ç]: palatal, lips spread like /j/
    "x": "K", "X": "K",  # ach-Laut [x], [χ]: dorsal, as the engine's IPA table maps [x]
    "j": "Y", "h": "HH", "H": "HH",
    "R": "HH", "r": "HH",  # German /r/ is uvular: no lip rounding (English R rounds), so the weak class
    "4": "D",  # tap [ɾ]: a quick alveolar contact
    # Nasals and laterals (doubled letters: long or syllabic variants).
    "m": "M", "n": "N", "N": "NG", "J": "N", "l": "L", "L": "L",
    "mm": "M", "nn": "N", "NN": "NG", "vv": "V", "ss": "S",
    # Affricates, should a file use them.
    "tS": "CH", "dZ": "JH",
}
_VOWELS = {"i", "I", "e", "E", "a", "A", "@", "o", "O", "u", "U", "y", "Y", "2", "9"}
_STOP_PART = re.compile(r"^[_!]?([ptkbdg])(asp|as|sap)?$")  # closure "_t"/"t", release "!t", aspiration "tasp"


@dataclass(frozen=True)
class SpeechItem:
    """One utterance ready to animate: its content, estimated style and what it is."""

    id: str
    source: str
    speaker: str
    split: str
    text: str
    content: Content
    style: np.ndarray  # (6,) estimated style vector, zeros when it could not be estimated
    meta: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- speech items


def speech_content(audio: Audio, phones=(), words=(), fps: float = FPS) -> Content:
    """Content with log-mel features of `audio` and the given timed phones and words (Segments or Intervals)."""
    f = extract_features(audio, fps)
    segments = lambda spans: tuple(Segment(s.start, s.end, s.label) for s in spans)  # noqa: E731
    return Content(fps, segments(phones), segments(words), f.rms[:, 0], f.f0_hz[:, 0], f.voiced_prob[:, 0],
                   f.onset[:, 0], f.log_mel)


def estimated_style(audio: Audio, alignment: Alignment | None = None) -> tuple[np.ndarray, str | None]:
    """The clip's estimated style vector, or zeros and the reason when it has too little voiced speech."""
    try:
        return estimate_style(audio, alignment).vector(), None
    except InputError as error:
        return np.zeros(len(STYLE_DIMS), np.float32), str(error)


def _spread(paths: list[Path], limit: int | None) -> list[Path]:
    """All paths, or `limit` of them evenly spread over the sorted list (so every speaker stays represented)."""
    paths = sorted(paths)
    if limit is None or limit >= len(paths):
        return paths
    picks = np.unique(np.linspace(0, len(paths) - 1, max(limit, 1)).round().astype(int))
    return [paths[i] for i in picks]


def beat_items(beat_dir: Path, limit: int | None = None, fps: float = FPS) -> Iterator[SpeechItem]:
    """The BEAT takes of `beat_dir` (wav/ and textgrid/), aligned by their TextGrids."""
    from avatar.frontend.textgrid import load_alignment_textgrid

    for wav in _spread(list((beat_dir / "wav").glob("*.wav")), limit):
        take = wav.stem
        grid = beat_dir / "textgrid" / f"{take}.TextGrid"
        audio = load_audio(wav)
        alignment = load_alignment_textgrid(grid) if grid.exists() else None
        style, note = estimated_style(audio, alignment)
        meta = {"language": "en", "take": take, "notes": [note] if note else []}
        if alignment is None:
            meta["notes"].append("no TextGrid: no phones or words")
        text = alignment.transcript if alignment else ""
        content = speech_content(audio, alignment.phones, alignment.words, fps) if alignment else \
            speech_content(audio, fps=fps)
        yield SpeechItem(f"beat_{take}", "beat", "_".join(take.split("_")[:2]),
                         "test" if take in TEST_BEAT_TAKES else "train", text, content, style, meta)


def read_lablaut(path: Path) -> list[tuple[float, str]]:
    """(time, label) of every line of an xlabel file after its '#' header line; diacritic-only lines give ''."""
    events, body = [], False
    for line in path.read_text(encoding="latin-1").splitlines():
        if not body:
            body = line.strip() == "#"
            continue
        # "<time> <colour> <label> [diacritics] [stress]": tabs or spaces; a diacritic-only line has no label.
        match = re.match(r"\s*([0-9.eE+-]+)\s+(-?\d+)(.*)$", line)
        if match:
            fields = match.group(3).split()
            events.append((float(match.group(1)), fields[0] if fields else ""))
    return events


def sampa_to_arpabet(label: str) -> tuple[str | None, bool]:
    """(ARPAbet phone, is a stop's release or aspiration) for one lablaut label; (None, False) when the label
    starts no segment (diacritic, end mark, unknown), ("", False) for a pause."""
    label = re.split(r"(?<=.)[+\-]", label)[0].replace(":", "")  # glued diacritics ("g-sth"), length marks
    if not label or label[0] in "+-" or label == "." or label == "!":
        return None, False
    if label.startswith("("):  # pauses and noises, "(" and "(gef"
        return "", False
    stop = _STOP_PART.match(label)
    if stop:
        return SAMPA_TO_ARPABET[stop.group(1)], label[0] == "!" or stop.group(2) is not None
    if label.endswith("6") and label[:-1] in _VOWELS:  # vowel + vocalic r in one segment ("E6", "i6")
        label = label[:-1]
    return SAMPA_TO_ARPABET.get(label), False


def lablaut_phones(path: Path, duration: float | None = None) -> tuple[Segment, ...]:
    """ARPAbet phone segments of an EmoDB lablaut file (each label marks its segment's start; '.' the end),
    clipped to `duration` seconds; pauses are left out."""
    segments: list[list] = []  # [start, end, label]
    for t, raw in read_lablaut(path):
        phone, continues = sampa_to_arpabet(raw)
        if phone is None and raw != ".":
            continue  # a diacritic or unknown mark inside the current segment
        if segments and segments[-1][1] is None:
            segments[-1][1] = t
        if raw == ".":
            break
        if continues and segments and segments[-1][2] == phone:
            segments[-1][1] = None  # the release/aspiration extends its stop
            continue
        segments.append([t, None, phone])
    limit = duration if duration is not None else np.inf
    out = []
    for start, end, label in segments:
        end = (limit if np.isfinite(limit) else start) if end is None else end  # no '.' line: to the clip's end
        if label and end > start and start < limit:
            out.append(Segment(round(start, 4), round(min(end, limit), 4), label))
    return tuple(out)


def _lablaut_for(emodb_dir: Path, stem: str) -> Path | None:
    """The lablaut file of an EmoDB clip ('03a01Faxx.lablaut', else '03a01Fa.lablaut'), if any."""
    for name in (f"{stem}xx.lablaut", f"{stem}.lablaut"):
        if (emodb_dir / "lablaut" / name).exists():
            return emodb_dir / "lablaut" / name
    return None


def emodb_items(emodb_dir: Path, limit: int | None = None, fps: float = FPS) -> Iterator[SpeechItem]:
    """EmoDB's clips with phones from their lablaut files (no words: the speech is German)."""
    for wav in _spread(list((emodb_dir / "wav").glob("*.wav")), limit):
        stem = wav.stem
        speaker, text_id, letter = stem[:2], stem[2:5], stem[5]
        audio = load_audio(wav)
        lablaut = _lablaut_for(emodb_dir, stem)
        phones = lablaut_phones(lablaut, audio.duration) if lablaut else ()
        content = speech_content(audio, phones, fps=fps)
        style, note = estimated_style(audio, None)
        notes = [note] if note else []
        if not phones:
            notes.append("no usable lablaut file: no phones, the face follows loudness")
        meta = {"language": "de", "speech_emotion": EMODB_EMOTIONS.get(letter, letter), "text_id": text_id,
                "lablaut": lablaut.name if lablaut else None, "notes": notes}
        yield SpeechItem(f"emodb_{stem}", "emodb", f"emodb_{speaker}",
                         "test" if speaker in TEST_EMODB_SPEAKERS else "train", EMODB_TEXTS.get(text_id, ""),
                         content, style, meta)


def tts_items(minutes: float, seed: int = 0, voice: str = "joe", fps: float = FPS,
              progress: Progress | None = None, skipped: list | None = None) -> Iterator[SpeechItem]:
    """Sentences spoken with varied prosody and aligned with their text, until `minutes` of speech are made."""
    from avatar.frontend.speech import analyze_speech
    from avatar.frontend.tts import Prosody, get_voice

    target = minutes * 60.0
    if target <= 0:
        return
    speaker = get_voice(voice)
    records = sentence_records(DEFAULT_COUNT)
    done, number = 0.0, 0
    while done < target:
        rounds, index = divmod(number, len(records))
        number += 1
        kind, text = records[index]
        rng = np.random.default_rng([seed, 1, index, rounds])
        prosody = Prosody(rate=float(rng.uniform(*RATE_RANGE)), pitch_semitones=float(rng.uniform(*PITCH_RANGE)),
                          expressiveness=float(rng.uniform(*EXPRESSIVENESS_RANGE)))
        voice_seed = int(rng.integers(2**31))
        item_id = f"tts_{index:04d}" + (f"_r{rounds}" if rounds else "")
        try:
            speech = analyze_speech(speaker.synthesize(text, prosody, voice_seed), text, fps)
        except InputError as error:  # an alignment that fails is skipped, not guessed
            if skipped is not None:
                skipped.append({"id": item_id, "text": text, "reason": str(error)})
            continue
        style, note = estimated_style(speech.audio, speech.alignment)
        done += speech.audio.duration
        meta = {"language": "en", "kind": kind, "sentence": index, "round": rounds, "voice": voice,
                "voice_seed": voice_seed, "prosody": {"rate": round(prosody.rate, 4),
                                                      "pitch_semitones": round(prosody.pitch_semitones, 4),
                                                      "expressiveness": round(prosody.expressiveness, 4)},
                "notes": list(speech.alignment.notes) + ([note] if note else [])}
        split = "test" if index % TTS_TEST_EVERY == TTS_TEST_EVERY - 1 else "train"
        yield SpeechItem(item_id, "tts", f"tts_{voice}", split, text, speech.content(), style, meta)
        if progress:
            progress("tts", min(done, target), target)


# -------------------------------------------------------------------------------------------------------- variants


def random_emotion(rng: np.random.Generator, n_frames: int, fps: float = FPS) -> tuple[EmotionFrames, list]:
    """A held label at intensity U(0.3, 1), or in about a quarter of the draws a keyframed change mid-clip;
    returned with its keyframes [[time, label, intensity], ...]."""
    label = EMOTIONS[int(rng.integers(len(EMOTIONS)))]
    intensity = round(float(rng.uniform(*INTENSITY_RANGE)), 3)
    keys = [[0.0, label, intensity]]
    if rng.random() >= KEYFRAMED_SHARE:
        return constant_emotion(label, intensity, n_frames), keys
    other = [e for e in EMOTIONS if e != label][int(rng.integers(len(EMOTIONS) - 1))]
    change = round(float(rng.uniform(0.3, 0.7)) * n_frames / fps, 3)
    keys.append([change, other, round(float(rng.uniform(*INTENSITY_RANGE)), 3)])
    return from_keyframes([tuple(k) for k in keys], n_frames, fps), keys


def random_style(rng: np.random.Generator, estimated: np.ndarray) -> Style:
    """The estimated style perturbed by N(0, 0.5^2) per dimension."""
    noisy = np.asarray(estimated, np.float64) + rng.normal(0.0, STYLE_NOISE, len(STYLE_DIMS))
    return Style.from_vector(noisy)


def animate_variants(item: SpeechItem, variants: int, seed: int = 0) -> Iterator[tuple[dict, np.ndarray,
                                                                                        np.ndarray, np.ndarray]]:
    """(metadata, emotion (T, 11), face (T, 59), body (T, 306)) of each procedural variant of an item."""
    content = item.content
    for v in range(variants):
        rng = np.random.default_rng([seed, zlib.crc32(item.id.encode()), v])
        emotion, keys = random_emotion(rng, content.n_frames, content.fps)
        style = random_style(rng, item.style)
        motion_seed = int(rng.integers(2**31))
        face = animate_face(content, emotion, motion_seed, style.face_style())
        body = animate_body(content, emotion, motion_seed, style.body_style())
        meta = {"emotion": keys, "seed": motion_seed, "style": _rounded(style.vector()),
                "face_present": True, "body_present": True}
        yield meta, rep.emotion_features(emotion), rep.face_features(face), rep.body_features(body)


# ---------------------------------------------------------------------------------------------------------- writer


def _rounded(vector: np.ndarray) -> list[float]:
    """A vector as a JSON list of 5-decimal floats."""
    return [round(float(x), 5) for x in vector]


class _Rows:
    """float16 rows appended to a raw file, turned into a .npy file at the end (memory stays small)."""

    def __init__(self, path: Path, width: int):
        self.path, self.width, self.rows = path, width, 0
        self.file = open(path, "wb")

    def append(self, values: np.ndarray) -> int:
        """Append (n, width) rows; returns the row offset where they start."""
        values = np.ascontiguousarray(values, disk.DTYPE)
        if values.ndim != 2 or values.shape[1] != self.width:
            raise ValueError(f"{self.path.name}: rows of shape {values.shape}; expected (n, {self.width})")
        if not np.isfinite(values).all():
            raise ValueError(f"{self.path.name}: rows hold NaN or infinite values (or overflow float16)")
        offset = self.rows
        self.file.write(values.tobytes())
        self.rows += len(values)
        return offset

    def finish(self, target: Path) -> None:
        """Write the .npy file (header, then the raw rows) and remove the raw file."""
        self.file.close()
        with open(target, "wb") as out, open(self.path, "rb") as raw:
            header = {"descr": disk.DTYPE, "fortran_order": False, "shape": (self.rows, self.width)}
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(raw, out, 1 << 22)
        self.path.unlink()


class CorpusWriter:
    """Builds a corpus folder in a temporary folder beside `out_dir` and renames it into place on finish()."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and any(self.out_dir.iterdir()) and not (self.out_dir / disk.INFO_FILE).exists():
            raise InputError(f"{self.out_dir} exists and is not a corpus folder; give a new or empty folder, or "
                             "an old corpus to replace")
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.", suffix=".partial",
                                         dir=self.out_dir.parent))
        self.tmp.chmod(0o755)  # mkdtemp makes it private; the finished corpus is an ordinary folder
        self.rows = {(s, name): _Rows(self.tmp / f"{s}_{name}.raw", width) for s in disk.SPLITS
                     for name, width in disk.ARRAYS.items()}
        self.index: dict[str, dict[str, list]] = {s: {"items": [], "variants": []} for s in disk.SPLITS}

    def add_item(self, item: SpeechItem, features: np.ndarray) -> int:
        """Store an item's content features and description; returns its number within its split."""
        offset = self.rows[item.split, "content"].append(features)
        segments = lambda segs: [[round(s.start, 4), round(s.end, 4), s.label] for s in segs]  # noqa: E731
        self.index[item.split]["items"].append({
            "id": item.id, "source": item.source, "speaker": item.speaker, "text": item.text,
            "n_frames": len(features), "offset": offset, "style_estimated": _rounded(item.style),
            "phones": segments(item.content.phones), "words": segments(item.content.words), **item.meta})
        return len(self.index[item.split]["items"]) - 1

    def add_variant(self, split: str, item_number: int, meta: dict, emotion: np.ndarray, face: np.ndarray,
                    body: np.ndarray) -> None:
        """Store one motion variant of an item (rows of equal length for emotion, face and body)."""
        n = self.index[split]["items"][item_number]["n_frames"]
        if not len(emotion) == len(face) == len(body) == n:
            raise ValueError(f"variant of {n} frames has emotion/face/body rows {len(emotion)}/{len(face)}/"
                             f"{len(body)}")
        offset = self.rows[split, "emotion"].append(emotion)
        self.rows[split, "face"].append(face)
        self.rows[split, "body"].append(body)
        self.index[split]["variants"].append({"item": item_number, "offset": offset, "n_frames": n, **meta})

    def summary(self) -> dict:
        """Counts and hours per split and source."""
        out = {}
        for split, index in self.index.items():
            sources: dict[str, dict] = {}
            for item in index["items"]:
                s = sources.setdefault(item["source"], {"items": 0, "variants": 0, "hours": 0.0,
                                                        "motion_hours": 0.0})
                s["items"] += 1
                s["hours"] += item["n_frames"] / FPS / 3600
            for variant in index["variants"]:
                s = sources[index["items"][variant["item"]]["source"]]
                s["variants"] += 1
                s["motion_hours"] += variant["n_frames"] / FPS / 3600
            for s in sources.values():
                s["hours"], s["motion_hours"] = round(s["hours"], 4), round(s["motion_hours"], 4)
            out[split] = {"items": len(index["items"]), "variants": len(index["variants"]),
                          "hours": round(sum(s["hours"] for s in sources.values()), 4),
                          "motion_hours": round(sum(s["motion_hours"] for s in sources.values()), 4),
                          "sources": sources}
        return out

    def finish(self, info: dict) -> Path:
        """Write the arrays, indexes and corpus.json, then move the folder into place (replacing an old one)."""
        for (split, name), rows in self.rows.items():
            rows.finish(disk.array_path(self.tmp, split, name))
        for split, index in self.index.items():
            disk.index_path(self.tmp, split).write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
        document = {"format": disk.FORMAT, "version": disk.VERSION, "fps": FPS, "dtype": disk.DTYPE_NAME,
                    "dims": {**disk.ARRAYS, "style": rep.STYLE_DIM}, "emotions": list(EMOTIONS),
                    "style_dims": list(STYLE_DIMS), "body_joints": list(rep.BODY_JOINTS), **info,
                    "splits": self.summary()}
        (self.tmp / disk.INFO_FILE).write_text(json.dumps(document, indent=1, ensure_ascii=False),
                                               encoding="utf-8")
        old = None
        if self.out_dir.exists():
            old = self.out_dir.with_name(f".{self.out_dir.name}.old-{time.time_ns()}")
            self.out_dir.rename(old)
        self.tmp.rename(self.out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out_dir

    def abort(self) -> None:
        """Remove the temporary folder (an interrupted build leaves nothing behind)."""
        for rows in self.rows.values():
            rows.file.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self.tmp.exists():
            self.abort()


# ---------------------------------------------------------------------------------------------------------- build


def _check_data_dir(data_dir: Path | None) -> dict[str, Path]:
    """The real-data folders to use: {'beat': ..., 'emodb': ...} (empty for None); a clear error when absent."""
    if data_dir is None:
        return {}
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"the data folder {data_dir} does not exist; point data_dir (--data-dir) at the shared "
                         "data (with beat/ and emodb/), or pass None (--data-dir none) to build from TTS alone")
    found = {name: data_dir / name for name in ("beat", "emodb") if (data_dir / name / "wav").is_dir()}
    if not found:
        raise InputError(f"the data folder {data_dir} holds neither beat/wav nor emodb/wav; point data_dir at "
                         "the shared data, or pass None (--data-dir none) to build from TTS alone")
    return found


def build_corpus(out_dir: str | Path, data_dir: str | Path | None = DEFAULT_DATA_DIR, tts_minutes: float = 60.0,
                 variants: int = 4, seed: int = 0, progress: Progress | None = None, limit: int | None = None,
                 voice: str = "joe") -> Path:
    """Build the synthetic corpus into `out_dir` (see the module docstring); returns its path.

    `data_dir=None` builds from TTS alone; `limit` keeps at most that many BEAT takes and EmoDB clips (evenly
    spread, for quick builds and tests)."""
    if variants < 1:
        raise InputError(f"variants={variants}: give at least 1 motion variant per speech item")
    if tts_minutes < 0:
        raise InputError(f"tts_minutes={tts_minutes}: give 0 or more minutes of TTS speech")
    folders = _check_data_dir(data_dir)
    started = time.time()
    skipped: list[dict] = []
    counts = {"beat": 0, "emodb": 0, "tts": 0}
    sources: list[tuple[str, Iterator[SpeechItem], int | None]] = []
    if "beat" in folders:
        n = len(_spread(list((folders["beat"] / "wav").glob("*.wav")), limit))
        sources.append(("beat", beat_items(folders["beat"], limit), n))
    if "emodb" in folders:
        n = len(_spread(list((folders["emodb"] / "wav").glob("*.wav")), limit))
        sources.append(("emodb", emodb_items(folders["emodb"], limit), n))
    sources.append(("tts", tts_items(tts_minutes, seed, voice, progress=progress, skipped=skipped), None))
    with CorpusWriter(out_dir) as writer:
        for name, items, total in sources:
            for item in items:
                number = writer.add_item(item, rep.acoustic_features(item.content))
                for meta, emotion, face, body in animate_variants(item, variants, seed):
                    writer.add_variant(item.split, number, meta, emotion, face, body)
                counts[name] += 1
                if progress and total is not None:
                    progress(name, counts[name], total)
        info = {"kind": "synthetic", "motion": "procedural animators (generators.procedural face and body)",
                "built_by": {"function": "avatar.training.corpus.build_corpus",
                             "args": {"data_dir": None if data_dir is None else str(data_dir),
                                      "tts_minutes": tts_minutes, "variants": variants, "seed": seed,
                                      "limit": limit, "voice": voice},
                             "seconds": round(time.time() - started, 1),
                             "date": time.strftime("%Y-%m-%d %H:%M:%S"), **provenance()},
                "sentences": {"module": "avatar.training.sentences", "count": DEFAULT_COUNT, "seed": 0},
                "held_out": {"beat_takes": sorted(TEST_BEAT_TAKES), "emodb_speakers": sorted(TEST_EMODB_SPEAKERS),
                             "tts_sentences": f"sentence number % {TTS_TEST_EVERY} == {TTS_TEST_EVERY - 1}"},
                "skipped": skipped}
        return writer.finish(info)


def provenance() -> dict:
    """What is building: the command line, Python, and the git commit of the code (when it is a checkout)."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"command": " ".join(sys.argv), "python": sys.version.split()[0], "git_commit": commit}


def folder_size(path: str | Path) -> int:
    """Bytes of all files under `path`."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def tqdm_progress() -> tuple[Progress, Callable[[], None]]:
    """A progress callback drawing one tqdm bar per stage, and a function that closes them."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def report(stage: str, done: float, total: float) -> None:
        if stage not in bars:
            unit = "s of speech" if stage == "tts" else "items"
            bars[stage] = tqdm(total=round(total, 1), desc=stage, unit=unit, dynamic_ncols=True)
        bar = bars[stage]
        bar.update(round(done, 1) - bar.n)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return report, close


def main(argv: list[str] | None = None) -> int:
    """Command line: build the corpus and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m avatar.training.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/corpus", help="corpus folder to write (default data/corpus)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                        help="shared data with beat/ and emodb/ ('none': TTS only)")
    parser.add_argument("--tts-minutes", type=float, default=60.0, help="minutes of TTS speech (default 60)")
    parser.add_argument("--variants", type=int, default=4, help="motion variants per speech item (default 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="at most this many BEAT takes and EmoDB clips")
    args = parser.parse_args(argv)
    data_dir = None if args.data_dir.lower() == "none" else Path(args.data_dir)
    report, close = tqdm_progress()
    try:
        path = build_corpus(args.out, data_dir, args.tts_minutes, args.variants, args.seed, report, args.limit)
    except InputError as error:
        close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    close()
    info = json.loads((path / disk.INFO_FILE).read_text())
    for split, s in info["splits"].items():
        per_source = ", ".join(f"{k} {v['items']} items {v['hours']:.2f} h" for k, v in s["sources"].items())
        print(f"{split}: {s['items']} items, {s['variants']} variants, {s['hours']:.2f} h of speech, "
              f"{s['motion_hours']:.2f} h of motion ({per_source})")
    print(f"wrote {path} ({folder_size(path) / 1e9:.2f} GB) in {info['built_by']['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""BEAT-format takes as a motion corpus, so a user with BEAT retrains the learned generators with one command.

A root holds takes named like BEAT's `<speaker>_<name>_<type>_<a>_<b>` (e.g. 2_scott_0_3_3), each with some of
`.wav` (speech, required), `.TextGrid` (words and phones), `.bvh` (body capture), `.json` (ARKit-52 face,
BEAT's facial52 layout). Both layouts are found by searching the root for such names:
- BEAT's own: `<root>/<speaker>/<take>.{bvh,json,wav,TextGrid}`;
- ours (the shared data's): `<root>/{bvh,json,wav,textgrid}/<take>.*`.

Per take: content from the wav (with the TextGrid's words and phones when present), body from the BVH
(resampled to 30 fps; BodyTrack.resampled slerps), face from the JSON (resampled to 30 fps; BEAT's files have no
head or gaze, so those columns are zeros and the item says `face_head_gaze: false`), style estimated from the
speech, and an emotion curve held at intensity 1 for the take's label. A missing modality is stored as zeros with
its mask (`face_present` / `body_present`) false. All streams are cut to the shortest.

Emotion from the take name (BEAT's ranges): the take number is the 4th field `<a>`; 0-64 neutral,
65-72 happiness, 73-80 anger, 81-86 sadness, 87-94 contempt, 95-102 surprise, 103-110 fear, 111-118 disgust.
In BEAT's speech takes `<a>` equals `<b>`; where they differ (a span of takes) `<a>` decides. The rule is applied
to every `<type>`; pass `emotions={take: label}` where a take should be labelled otherwise.

Written in avatar.training.corpus's format (one variant per item: the captured motion), split by
`test_takes` / `test_speakers` (default: every 10th take in name order is "test").
Run: `python -m avatar.training.beat_data ROOT --out data/beat_corpus [--test-takes 2_scott_0_3_3]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.emotion import check_emotion, constant_emotion
from avatar.errors import InputError
from avatar.frontend.audio import load_audio
from avatar.frontend.textgrid import load_alignment_textgrid
from avatar.training.corpus import (
    FPS,
    CorpusWriter,
    Progress,
    SpeechItem,
    estimated_style,
    provenance,
    speech_content,
)
from generators.conditioning import Content, Segment
from generators.learned import representation as rep
from rigs.errors import RigInputError
from rigs.formats.arkit_json import read_arkit_json
from rigs.formats.bvh import read_bvh

TAKE_NAME = re.compile(r"^(?P<speaker>\d+)_(?P<name>[A-Za-z]+)_(?P<type>\d+)_(?P<a>\d+)_(?P<b>\d+)$")
# (last take number, label) in increasing order: take numbers up to and including each bound.
EMOTION_RANGES = ((64, "neutral"), (72, "happiness"), (80, "anger"), (86, "sadness"), (94, "contempt"),
                  (102, "surprise"), (110, "fear"), (118, "disgust"))
_KINDS = {".wav": "wav", ".textgrid": "textgrid", ".bvh": "bvh", ".json": "json"}
BEAT_FACE_FPS = 60.0  # BEAT's facial52 JSON rate, used when a file carries no usable frame times


@dataclass(frozen=True)
class BeatTake:
    """One take's files (None where absent)."""

    name: str
    wav: Path | None = None
    textgrid: Path | None = None
    bvh: Path | None = None
    json: Path | None = None

    @property
    def speaker(self) -> str:
        """'<speaker>_<name>', e.g. '2_scott'."""
        match = TAKE_NAME.match(self.name)
        return f"{match['speaker']}_{match['name']}" if match else self.name


def beat_emotion(take: str) -> str:
    """The emotion label of a BEAT take from its name (see the module docstring for the rule)."""
    match = TAKE_NAME.match(take)
    if not match:
        raise InputError(f"take {take!r} is not named like BEAT's <speaker>_<name>_<type>_<a>_<b> "
                         "(e.g. 2_scott_0_3_3); rename it, or give its label in emotions={take: label}")
    number = int(match["a"])
    for last, label in EMOTION_RANGES:
        if number <= last:
            return label
    raise InputError(f"take {take!r}: take number {number} is past BEAT's emotion ranges (0-118); give its label "
                     "in emotions={take: label}")


def find_takes(root: str | Path) -> list[BeatTake]:
    """The BEAT-named takes under `root` (either layout), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"the BEAT folder {root} does not exist; give the folder that holds the takes")
    files: dict[str, dict[str, Path]] = {}
    for path in sorted(root.rglob("*")):
        kind = _KINDS.get(path.suffix.lower())
        if kind is None or not path.is_file() or not TAKE_NAME.match(path.stem):
            continue
        known = files.setdefault(path.stem, {})
        if kind in known:
            raise InputError(f"take {path.stem} has two {kind} files, {known[kind]} and {path}; keep one")
        known[kind] = path
    if not files:
        raise InputError(f"no BEAT takes under {root}: expected files named <speaker>_<name>_<type>_<a>_<b> "
                         "(.wav with .bvh and/or .json, optionally .TextGrid), as <root>/<speaker>/<take>.* or "
                         "<root>/{wav,bvh,json,textgrid}/<take>.*")
    return [BeatTake(name, **found) for name, found in sorted(files.items())]


def _face_features(path: Path, fps: float) -> tuple[np.ndarray, bool]:
    """(T, 59) face features of an ARKit JSON at `fps`, and whether it had head and gaze."""
    try:
        track = read_arkit_json(path)
    except RigInputError as error:
        if "frame times" not in str(error):
            raise
        track = read_arkit_json(path, fps=BEAT_FACE_FPS)
    has_pose = track.head is not None and track.gaze is not None
    return rep.face_features(track.resampled(fps) if track.fps != fps else track), has_pose


def _cut(content: Content, n: int) -> Content:
    """The first n frames of a Content, its phones and words clipped to them."""
    end = n / content.fps
    clip = lambda spans: tuple(Segment(s.start, min(s.end, end), s.label) for s in spans if s.start < end)  # noqa: E731
    return Content(content.fps, clip(content.phones), clip(content.words), content.rms[:n], content.f0_hz[:n],
                   content.voiced[:n], content.onset[:n], None if content.log_mel is None else content.log_mel[:n])


@dataclass(frozen=True)
class LoadedTake:
    """A take on the 30 fps clock: content, motion features (None where absent), label, style, notes."""

    item: SpeechItem
    emotion: str
    face: np.ndarray | None  # (T, 59)
    body: np.ndarray | None  # (T, 306)


def load_take(take: BeatTake, split: str = "train", emotion: str | None = None, fps: float = FPS) -> LoadedTake:
    """Read one take's speech and motion onto the frame clock."""
    if take.wav is None:
        raise InputError(f"take {take.name} has no .wav; its speech is what the generators are conditioned on")
    if take.bvh is None and take.json is None:
        raise InputError(f"take {take.name} has neither a .bvh (body) nor a .json (face); nothing to learn from")
    label = check_emotion(emotion) if emotion else beat_emotion(take.name)
    audio = load_audio(take.wav)
    alignment = load_alignment_textgrid(take.textgrid) if take.textgrid else None
    content = speech_content(audio, alignment.phones, alignment.words, fps) if alignment else \
        speech_content(audio, fps=fps)
    notes = [] if alignment else ["no TextGrid: no phones or words"]
    body = face = None
    if take.bvh is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            track = read_bvh(take.bvh)
        notes += [str(w.message) for w in caught]
        body = rep.body_features(track.resampled(fps) if track.fps != fps else track)
    has_pose = False
    if take.json is not None:
        face, has_pose = _face_features(take.json, fps)
    n = min([content.n_frames] + [len(m) for m in (body, face) if m is not None])
    style, note = estimated_style(audio, alignment)
    notes += [note] if note else []
    meta = {"language": "en", "take": take.name, "emotion_label": label, "face_head_gaze": has_pose,
            "files": {k: getattr(take, k).name for k in ("wav", "textgrid", "bvh", "json") if getattr(take, k)},
            "notes": notes}
    item = SpeechItem(f"beat_{take.name}", "beat", take.speaker, split, alignment.transcript if alignment else "",
                      _cut(content, n), style, meta)
    return LoadedTake(item, label, None if face is None else face[:n], None if body is None else body[:n])


def _default_test(names: list[str]) -> set[str]:
    """Every 10th take in name order (the 10th, 20th, ...)."""
    return {name for k, name in enumerate(sorted(names)) if k % 10 == 9}


def build_beat_corpus(root: str | Path, out_dir: str | Path, test_takes: Iterable[str] | None = None,
                      test_speakers: Iterable[str] = (), emotions: Mapping[str, str] | None = None,
                      progress: Progress | None = None, fps: float = FPS) -> Path:
    """Write the BEAT-format takes under `root` as a motion corpus in `out_dir`; returns its path.

    `test_takes` / `test_speakers` ('2' or '2_scott') choose the "test" split; with neither, every 10th take."""
    started = time.time()
    takes = find_takes(root)
    speakers = {str(s) for s in test_speakers}
    test = set(test_takes) if test_takes is not None else (set() if speakers else _default_test([t.name for t in
                                                                                                    takes]))
    emotions = dict(emotions or {})
    skipped = []
    with CorpusWriter(out_dir) as writer:
        for done, take in enumerate(takes, 1):
            if take.wav is None or (take.bvh is None and take.json is None):
                missing = ".wav" if take.wav is None else ".bvh or .json"
                skipped.append({"take": take.name, "reason": f"no {missing}"})
                continue
            held = take.name in test or take.speaker in speakers or take.speaker.split("_")[0] in speakers
            loaded = load_take(take, "test" if held else "train", emotions.get(take.name), fps)
            item = loaded.item
            number = writer.add_item(item, rep.acoustic_features(item.content))
            n = item.content.n_frames
            emotion = rep.emotion_features(constant_emotion(loaded.emotion, 1.0, n))
            style = [round(float(x), 5) for x in item.style]
            meta = {"emotion": [[0.0, loaded.emotion, 1.0]], "seed": 0, "style": style,
                    "face_present": loaded.face is not None, "body_present": loaded.body is not None}
            face = loaded.face if loaded.face is not None else np.zeros((n, rep.FACE_DIM), np.float32)
            body = loaded.body if loaded.body is not None else np.zeros((n, rep.BODY_DIM), np.float32)
            writer.add_variant(item.split, number, meta, emotion, face, body)
            if progress:
                progress("beat", done, len(takes))
        if not any(writer.index[s]["items"] for s in writer.index):
            raise InputError(f"none of the {len(takes)} takes under {root} has both a .wav and a .bvh or .json; "
                             "add the missing files, nothing to build from these")
        info = {"kind": "beat", "motion": "captured: BEAT-format BVH (body) and ARKit JSON (face)",
                "built_by": {"function": "avatar.training.beat_data.build_beat_corpus",
                             "args": {"root": str(root), "test_takes": sorted(test), "test_speakers": sorted(speakers),
                                      "emotions": emotions},
                             "seconds": round(time.time() - started, 1), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                             **provenance()},
                "emotion_rule": "take number = 4th name field; " + ", ".join(
                    f"<={last} {label}" for last, label in EMOTION_RANGES),
                "held_out": {"takes": sorted(test), "speakers": sorted(speakers)}, "skipped": skipped}
        return writer.finish(info)


def main(argv: list[str] | None = None) -> int:
    """Command line: build a corpus from BEAT-format takes."""
    parser = argparse.ArgumentParser(prog="python -m avatar.training.beat_data", description=__doc__.split("\n")[0])
    parser.add_argument("root", help="folder holding the BEAT takes (either layout)")
    parser.add_argument("--out", default="data/beat_corpus", help="corpus folder to write (default data/beat_corpus)")
    parser.add_argument("--test-takes", default=None, help="comma-separated takes for the test split")
    parser.add_argument("--test-speakers", default="", help="comma-separated speakers ('2' or '2_scott') for test")
    args = parser.parse_args(argv)
    from avatar.training.corpus import folder_size, tqdm_progress

    report, close = tqdm_progress()
    split = lambda text: [t.strip() for t in text.split(",") if t.strip()]  # noqa: E731
    try:
        path = build_beat_corpus(args.root, args.out, None if args.test_takes is None else split(args.test_takes),
                                 split(args.test_speakers), progress=report)
    except InputError as error:
        close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    close()
    info = json.loads((path / "corpus.json").read_text())
    for name, s in info["splits"].items():
        print(f"{name}: {s['items']} takes, {s['hours']:.2f} h")
    print(f"wrote {path} ({folder_size(path) / 1e6:.1f} MB); skipped {len(info['skipped'])} takes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

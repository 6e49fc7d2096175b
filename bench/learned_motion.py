"""The learned motion generator against its procedural teacher on held-out speech never seen in training.

Run: .venv/bin/python bench/learned_motion.py [--checkpoint checkpoints/motion-diffusion] [--tts-items 40]
     [--json bench/results/learned_motion.json] [--write-card]
--json writes the figures, from which python -m avatar.evaluation.report makes the shipped model card's results
(checkpoints/motion-diffusion/README.md); --write-card instead replaces the "## Results" section of the
--checkpoint's own card with the text printed (for a checkpoint of your own; bench/body_vs_capture.py --checkpoint
measures its body against the real capture).

Input: BEAT take 2_scott_0_3_3 (held out of the corpus; its audio and TextGrid phones, 68 s, which also exercises
the windowed long-sequence sampler) and, when data/corpus is there, held-out TTS sentences of its test split.
Measures (definitions in avatar/evaluation/face.py and avatar/evaluation/kinematics.py), for teacher and learned alike:
bilabial closure (pooled over every input's P/B/M), open-vowel jawOpen and its ratio to P/B/M, blinks per
minute at neutral on the BEAT take (the mean over BLINK_SEEDS seeds), the defining shapes' mean at intensity 0.8
(mean over the 7 emotions), BeatAlign of the neutral body at 15 fps, and the wrist-speed ordering anger, happiness,
surprise, fear > neutral > sadness.
Pass: each figure within 10 % of the teacher's (the ordering must hold) and closure >= 90 % absolute.
Diversity: 5 seeds on the BEAT take at neutral: mean pairwise RMS distance of the face features and of the wrist
positions (cm), with each seed's closure. Blinks per seed, and the eyelid peaks with their mean height (a blink
that stops short of half closed is not counted as a blink but shows there, lower).
Guidance: anger's defining shapes at emotion scales 0, 1, 2, 3.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from avatar.evaluation.beat import BEAT, beat_content
from avatar.evaluation.face import bilabial_closure, blinks, measure, speech_frames
from avatar.evaluation.kinematics import (
    audio_onsets,
    beat_align_times,
    mean_wrist_speed,
    motion_beats,
    upper_body_positions,
)
from avatar.evaluation.motion_tables import WITHIN_10_PERCENT, learned_motion_text
from avatar.evaluation.results import run_conditions, write_results
from generators.learned.animate import DEFAULT_CHECKPOINT
from generators.procedural.body import animate_body
from generators.procedural.face import animate_face
from generators.procedural.facs import defining_shapes
from rigs.fileio import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
TAKE = "2_scott_0_3_3"
CAPTURE_TAKE = "2_scott_0_1_1"  # the take with real motion capture
ORDER = ("anger", "happiness", "surprise", "fear", "neutral", "sadness")
# Blinks are few (about 20 a minute, 23 in the take) and their times random, so one seed's count varies by a
# quarter between seeds: the blink rate compared is the mean over this many seeds, for teacher and learned alike.
BLINK_SEEDS = 10


def constant(label, n):
    from avatar.emotion import constant_emotion

    return constant_emotion(label, 0.8, n)


def held_out_inputs(tts_items: int):
    """(name, Content, audio samples or None) of the held-out inputs."""
    from avatar.frontend.audio import load_audio

    inputs = [(TAKE, beat_content(TAKE), load_audio(BEAT / "wav" / f"{TAKE}.wav").samples)]
    corpus = ROOT / "data" / "corpus"
    if (corpus / "corpus.json").is_file() and tts_items:
        from generators.learned.dataset import MotionCorpus

        test = MotionCorpus(corpus, "test")
        for item in itertools.islice(test.iter_items(("tts",)), tts_items):
            inputs.append((item.id, item.content, None))
    return inputs


def lid_peaks(tracks) -> tuple[float, float]:
    """Eyelid closure peaks of prominence >= 0.1 per minute and their mean height, over face tracks: a blink the
    count above misses because it stops short of half closed still shows here, lower."""
    from scipy.signal import find_peaks

    heights, minutes = [], 0.0
    for track in tracks:
        lid = (track["eyeBlinkLeft"] + track["eyeBlinkRight"]) / 2
        heights.extend(lid[find_peaks(lid, prominence=0.1)[0]])
        minutes += track.duration / 60
    return len(heights) / minutes, float(np.mean(heights)) if heights else float("nan")


def figures(face_fn, body_fn, inputs) -> dict:
    """The measures of one generator (face_fn / body_fn: content, emotion -> track) on the inputs."""
    out: dict = {}
    closed = total = 0
    jaw, ratio, shows = [], [], []
    for name, content, _ in inputs:
        f = measure(face_fn, content) if name == TAKE else None
        track = face_fn(content, constant("neutral", content.n_frames)) if f is None else None
        share, missed = (f.closure, f.closure_missed) if f else bilabial_closure(track, content.phones)
        spans = sum(p.label in ("P", "B", "M") for p in content.phones)
        closed += round(share * spans) if spans else 0
        total += spans
        if f:
            jaw, ratio, shows = f.open_jaw, f.jaw_ratio, float(np.mean(list(f.emotion_at_08.values())))
            out["blinks_per_min"] = f.blinks_per_min
            out["neutral_shapes"] = float(np.max(list(f.emotion_at_neutral.values())))
    out.update(closure=closed / max(total, 1), open_jaw=jaw, jaw_ratio=ratio, emotion_shows=shows)
    name, content, samples = inputs[0]
    onsets = audio_onsets(samples)
    body = body_fn(content, constant("neutral", content.n_frames))
    positions = upper_body_positions(body, 15.0)
    beats = motion_beats(positions, 15.0)
    out["beat_align"] = beat_align_times(onsets, beats)
    out["beats_per_s"] = len(beats) / (len(positions) / 15.0)
    speeds = {e: mean_wrist_speed(body_fn(content, constant(e, content.n_frames))) for e in ORDER}
    out["wrist_speed"] = speeds
    out["ordered"] = min(speeds[e] for e in ORDER[:4]) > speeds["neutral"] > speeds["sadness"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--tts-items", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--scheduler", choices=("dpm", "ddim"), default="dpm")
    parser.add_argument("--write-card", action="store_true", help="write the results into the model card")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/learned_motion.json)")
    args = parser.parse_args()
    started = run_conditions()
    card = args.checkpoint / "README.md"
    if args.write_card and card.is_file() and "<!-- table: learned-motion -->" in card.read_text(encoding="utf-8"):
        sys.exit(
            f"{card}'s results are generated: run with --json bench/results/learned_motion.json, then "
            "python -m avatar.evaluation.report"
        )
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat", file=sys.stderr)
        return 1
    from generators.learned.animate import LearnedAnimator

    learned = LearnedAnimator.from_pretrained(args.checkpoint, steps=args.steps, scheduler=args.scheduler)
    inputs = held_out_inputs(args.tts_items)
    cache: dict = {}

    def learned_tracks(content, emotion, seed=0, scale=None):
        key = (id(content), emotion.categories.tobytes(), float(emotion.intensity[0]), seed, scale)
        if key not in cache:
            cache[key] = learned.animate(content, emotion, seed, emotion_scale=scale)
        return cache[key]

    started_s = time.perf_counter()
    teacher = figures(lambda c, e: animate_face(c, e, 0), lambda c, e: animate_body(c, e, 0), inputs)
    student = figures(lambda c, e: learned_tracks(c, e)[0], lambda c, e: learned_tracks(c, e)[1], inputs)
    take = inputs[0][1]
    for f, animate in (
        (teacher, lambda seed: animate_face(take, constant("neutral", take.n_frames), seed)),
        (student, lambda seed: learned_tracks(take, constant("neutral", take.n_frames), seed)[0]),
    ):
        faces = [animate(seed) for seed in range(BLINK_SEEDS)]
        f["blink_rates"] = [blinks(face)[0] for face in faces]
        f["blinks_per_min"] = float(np.mean(f["blink_rates"]))
        f["lid_peaks"] = lid_peaks(faces)
    name, content, _ = inputs[0]
    neutral = constant("neutral", content.n_frames)
    runs = [learned_tracks(content, neutral, seed) for seed in range(5)]
    faces = [np.concatenate([f.weights, f.head, f.gaze], 1) for f, _ in runs]
    wrists = [b.positions()[:, [b.skeleton.index("RightHand"), b.skeleton.index("LeftHand")]] for _, b in runs]
    pair = lambda xs: float(np.mean([np.sqrt(np.mean((a - b) ** 2)) for a, b in itertools.combinations(xs, 2)]))  # noqa
    speech = speech_frames(content.phones, content.n_frames, content.fps)
    anger = constant("anger", content.n_frames)
    scales = (0.0, 1.0, 2.0, 3.0)
    shapes = [learned.animate(content, anger, 0, emotion_scale=s)[0] for s in scales]
    results = {
        "inputs": len(inputs),
        "seconds_of_speech": sum(c.duration for _, c, _ in inputs),
        "take": TAKE,
        "tts_items": args.tts_items,
        "steps": args.steps,
        "scheduler": args.scheduler,
        "teacher": teacher,
        "learned": student,
        "diversity": {
            "seeds": len(runs),
            "face_rms": pair(faces),
            "wrists_rms_cm": pair(wrists),
            "closure_per_seed": [bilabial_closure(f, content.phones)[0] for f, _ in runs],
        },
        "guidance": {
            "scales": scales,
            "anger_shapes": [float(np.mean([t[n][speech].mean() for n in defining_shapes("anger")])) for t in shapes],
        },
    }
    text = learned_motion_text(results)
    print(text)
    print(f"bench time {time.perf_counter() - started_s:.0f} s")
    if args.json:
        write_results(args.json, results, started)
    if args.write_card:
        old = card.read_text(encoding="utf-8") if card.is_file() else ""
        head = old[: old.index("## Results")] if "## Results" in old else old + "\n"
        write_text_atomic(card, head + "## Results (procedural teacher vs learned)\n" + text)
        print(f"wrote the results into {card}")
    failed = (
        any(abs(student[key] - teacher[key]) > 0.1 * abs(teacher[key]) for key in WITHIN_10_PERCENT)
        or not student["ordered"]
        or student["closure"] < 0.9
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

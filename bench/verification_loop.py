"""The recognizer in the loop on the talking head: what FER reads of each emotion, before and after the loop.

For each portrait (matplotlib's grace_hopper.jpg, the default; scikit-image's astronaut(), smiling in her photo and
neutralized), each input and each of the seven emotions FER2013 can name (neutral, happiness, anger, sadness,
surprise, fear, disgust) at intensity 0.8, AvatarPipeline renders the video with the verification loop on
(FER on the frames, the face-motion recognizer on the track; avatar/verification.py). Inputs:
- beat: the first ~6 s of BEAT take 2_scott_0_1_1 (../shared/data/beat; cut at a word end), with its TextGrid words
  as the transcript;
- tts: one lexically neutral sentence spoken by the offline voice (which takes on the emotion's prosody).

A clip's reading is the top-1 of FER's probabilities (mapped to the eight categories; contempt is always 0) over
the clip's frames, each reading weighted by its trust as the loop weighs it (how closed the lips are: FER2013 reads
a talking mouth as anger; avatar/verification.py): "before" on the face as first generated, "after" on the face
the loop returns; the plain mean of every reading is printed too.
Printed per portrait and input: the 7x7 matrix of those mean probabilities (rows: the emotion asked for; the
row's top-1 is marked) before and after, how many of 7 clips read right, the majority of windows as a second
definition, windows verified, windows the loop made worse (FER's probability of the target below its first
reading: should be 0), attempts, time and the portrait's identity at neutral (the mean distance of the landmarks a
neutral track draws from the photo's: only a photo's smile and open mouth are taken out, so elsewhere 0). Then
what the loop must keep: identity at neutral, lips closing on
P/B/M, render speed at 512^2 (MP4 encoding excluded), stillness at rest (bench/talking_head.py's measures).
With --sheet, a contact sheet (portraits x emotions, the tts sentence's middle frame after the loop).

Run: .venv/bin/python bench/verification_loop.py --sheet docs/talking_head_emotions.png
     (--inputs tts --portraits grace_hopper --emotions anger,sadness for a part; --no-checks skips the keeps;
     --generator procedural for the teacher; --json PATH writes every clip's figures, from which
     python -m avatar.evaluation.report makes README's figure and docs/benchmarks.md's table:
     .venv/bin/python bench/verification_loop.py --no-checks --portraits grace_hopper,astronaut,shared
     --inputs beat --json bench/results/verification_loop.json)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from avatar.errors import InputError
from avatar.evaluation.beat import BEAT
from avatar.evaluation.results import run_conditions, write_results

PORTRAITS = BEAT.parent / "portraits"

EMOTIONS7 = ("neutral", "happiness", "anger", "sadness", "surprise", "fear", "disgust")
TAKE, TAKE_SECONDS = "2_scott_0_1_1", 6.0
SENTENCE = "We took the early train into town this morning, and then we walked back home along the river."
INTENSITY = 0.8


def beat_segment(seconds: float = TAKE_SECONDS):
    """The take's first words up to about `seconds` (cut at the end of a word): Audio and transcript."""
    from dataclasses import replace

    from avatar.frontend.audio import load_audio
    from avatar.frontend.textgrid import load_alignment_textgrid

    audio = load_audio(BEAT / "wav" / f"{TAKE}.wav")
    words = [w for w in load_alignment_textgrid(BEAT / "textgrid" / f"{TAKE}.TextGrid").words if w.label.strip()]
    kept = [w for w in words if w.end <= seconds] or words[:1]
    end = min(kept[-1].end + 0.25, audio.duration)
    samples = audio.samples[: int(end * audio.sample_rate)]
    return replace(audio, samples=samples, source=f"{TAKE} 0-{end:.1f} s"), " ".join(w.label for w in kept)


def clip_reading(reading, trusted: bool = True) -> np.ndarray:
    """(7,) FER's probabilities over a clip's frames, in EMOTIONS7 order: weighted by each reading's trust (how
    closed the lips are, as the loop judges) or, with trusted=False, the plain mean of every reading."""
    from generators.conditioning import EMOTIONS

    mean = reading.mean() if trusted else reading.probs.mean(0)
    return mean[[EMOTIONS.index(e) for e in EMOTIONS7]]


def window_majority(report, which: str) -> str:
    """The label most windows read (by FER's mean over each window), ties to the earlier window."""
    labels = [getattr(w, which)["FER"]["label"] for w in report.windows]
    return max(labels, key=lambda label: (labels.count(label), -labels.index(label)))


def run_one(pipe, portrait: str, speech: dict, emotion: str) -> dict:
    """One clip through the pipeline with the loop on: readings before and after, windows, time."""
    started = time.perf_counter()
    result = pipe(**speech, emotion=emotion, intensity=INTENSITY, portrait=portrait, outputs=("video",),
                  verify=True)
    seconds = time.perf_counter() - started
    report = result.report
    fer = [w for w in report.windows if w.reader == "FER"]
    worse = sum(w.after["FER"]["prob"] < w.before["FER"]["prob"] - 1e-9 for w in fer)
    return {"before": clip_reading(report.first_readings["FER"]), "after": clip_reading(report.final_readings["FER"]),
            "after_plain": clip_reading(report.final_readings["FER"], trusted=False),
            "majority_before": window_majority(report, "before"), "majority_after": window_majority(report, "after"),
            "windows": len(report.windows), "verified_before": sum(_holds(w.before[w.reader], w.target)
                                                                    for w in report.windows),
            "verified_after": sum(w.verified for w in report.windows), "worse": worse,
            "attempts": max(len(w.attempts) for w in report.windows), "seconds": seconds, "result": result}


def neutral_drift(renderer) -> float:
    """Identity at neutral: how far (mean px) a neutral track draws the landmarks from the photo's. Only a photo's
    smile and open mouth are taken out (generators/talking_head/fit.py, PHOTO_EXPRESSIONS); elsewhere it is 0."""
    from rigs.face.track import FaceTrack

    drawn = renderer.landmarks(FaceTrack.neutral(1))[0][:, :2]
    return float(np.linalg.norm(drawn - renderer.portrait.landmarks[:, :2], axis=1).mean())


def _holds(reading: dict, target: str) -> bool:
    from avatar.verification import CONFIDENCE

    return reading["label"] == target and reading["prob"] >= CONFIDENCE


def print_matrix(title: str, rows: dict[str, np.ndarray]) -> int:
    """The mean-probability matrix, the top-1 of each row in brackets; returns how many rows read right."""
    print(f"    {title} (rows: asked; columns: FER mean probability; [top-1])")
    print("      " + " ".join(f"{e[:8]:>10}" for e in EMOTIONS7))
    right = 0
    for emotion, probs in rows.items():
        top = int(np.argmax(probs))
        right += EMOTIONS7[top] == emotion
        cells = [f"[{p:.2f}]" if j == top else f"{p:.2f} " for j, p in enumerate(probs)]
        print(f"      {emotion[:9]:<9}" + " ".join(f"{c:>10}" for c in cells) + f"   -> {EMOTIONS7[top]}")
    print(f"      right: {right}/{len(rows)}")
    return right


def middle_frame(result) -> int:
    """The frame nearest the middle of the speech with the eyes open."""
    face = result.face
    open_eyes = np.flatnonzero((face["eyeBlinkLeft"] + face["eyeBlinkRight"]) / 2 < 0.1)
    middle = face.n_frames // 2
    return int(open_eyes[np.argmin(np.abs(open_eyes - middle))]) if len(open_eyes) else middle


def contact_sheet(path: Path, frames: dict[tuple[str, str], np.ndarray], portraits: list[str],
                  emotions: list[str]) -> None:
    """Portraits (rows) x emotions (columns), labelled, written as a PNG."""
    from PIL import Image, ImageDraw

    tile = (196, 236)
    sheet = Image.new("RGB", (tile[0] * len(emotions), (tile[1] + 18) * len(portraits)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(portraits):
        for j, emotion in enumerate(emotions):
            if (name, emotion) not in frames:
                continue
            image = Image.fromarray(frames[name, emotion]).resize(tile, Image.LANCZOS)
            sheet.paste(image, (j * tile[0], i * (tile[1] + 18) + 18))
            draw.text((j * tile[0] + 4, i * (tile[1] + 18) + 3), f"{name}: {emotion}", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours, dithered: a photographic sheet in a few hundred KB.
    sheet.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    print(f"contact sheet: {path} ({path.stat().st_size / 1024:.0f} KB)")


def face_crop(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The face with some hair and chin, at the sheet tile's aspect (196:236), around the portrait's landmarks."""
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    centre = (lo + hi) / 2 - [0.0, 0.06 * (hi[1] - lo[1])]
    height = 1.3 * (hi[1] - lo[1])
    width = height * 196 / 236
    x0, y0 = (centre - [width / 2, height / 2]).round().astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    return frame[y0:y0 + int(height), x0:x0 + int(width)]


def named_portraits(names: list[str], bundled: dict[str, str]) -> dict[str, str]:
    """Portrait name -> path for --portraits: the bundled two, "shared" (every photo in ../shared/data/portraits),
    a shared photo's name, or a path."""
    shared = {p.stem: str(p) for p in sorted(PORTRAITS.glob("*.jpg"))}
    chosen: dict[str, str] = {}
    for name in names:
        if name == "shared":
            if not shared:
                sys.exit(f"no portraits at {PORTRAITS}: --portraits shared needs ../shared/data/portraits")
            chosen.update(shared)
        elif name in bundled or name in shared:
            chosen[name] = bundled.get(name) or shared[name]
        elif Path(name).is_file():
            chosen[Path(name).stem] = name
        else:
            sys.exit(f"--portraits: {name!r} is neither grace_hopper, astronaut, shared, a photo in {PORTRAITS} "
                     "nor a file")
    return chosen


def summarize(figures: dict[tuple[str, str], dict], n_emotions: int) -> None:
    """Per input: how many portraits read at least 5 of the emotions right after the loop, and the windows verified."""
    for label in sorted({label for _, label in figures}):
        rows = {name: f for (name, lab), f in figures.items() if lab == label}
        done = {name: f for name, f in rows.items() if "error" not in f}
        if not done:
            continue
        good = sum(f["right_after"] >= 5 for f in done.values())
        windows, verified = sum(f["windows"] for f in done.values()), sum(f["verified"] for f in done.values())
        each = ", ".join(f"{name} {f['right_after']}" for name, f in done.items())
        refused = [name for name, f in rows.items() if "error" in f]
        print(f"{label}: {good} of {len(done)} portraits read >= 5/{n_emotions} right after the loop ({each}); "
              f"windows verified {verified} of {windows} ({100 * verified / windows:.0f} %)"
              + (f"; refused: {', '.join(refused)}" if refused else ""))


def checks(portraits: dict[str, str], pipe) -> None:
    """What the loop must keep: bench/talking_head.py's identity, lips (on the pipeline generator's face),
    stillness and speed on both portraits."""
    from talking_head import TAKE as LIP_TAKE  # a sibling script: bench/ is on the path of a script
    from talking_head import identity, lips, speed, stability

    from avatar.evaluation.beat import beat_content
    from generators.talking_head import Portrait, TalkingHeadRenderer

    content = beat_content(LIP_TAKE) if BEAT.is_dir() else None
    for name, path in portraits.items():
        portrait = Portrait.load(path)
        print(f"{name}:")
        identity(name, portrait)
        renderer = TalkingHeadRenderer(portrait)
        if content is not None:
            lips(f"BEAT {LIP_TAKE}, {pipe.generator} face", renderer, content, 20,
                 lambda content, emotion: pipe.animator(content, emotion, 0, None)[0])
        stability(renderer)
        if content is not None:
            speed(renderer, content, 300)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portraits", default="grace_hopper,astronaut",
                        help="comma-separated: grace_hopper, astronaut, shared (the 20 in ../shared/data/portraits), "
                             "a shared portrait's name (lp_s0) or a photo's path")
    parser.add_argument("--json", type=Path, help="also write every clip's figures here")
    parser.add_argument("--inputs", default="beat,tts")
    parser.add_argument("--emotions", default=",".join(EMOTIONS7))
    parser.add_argument("--sheet", type=Path, help="write the contact sheet (tts frames after the loop) here")
    parser.add_argument("--no-checks", action="store_true", help="skip identity, lips, speed and stillness")
    parser.add_argument("--generator", help="motion generator (default: the engine's, generators.DEFAULT_GENERATOR)")
    args = parser.parse_args(argv)
    started = run_conditions()
    import cv2
    import skimage.data
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from avatar.pipeline import AvatarPipeline
    from generators.talking_head import default_portrait_path
    from rigs.face.track import FaceTrack

    folder = Path(tempfile.mkdtemp(prefix="verification_loop_"))
    astronaut = folder / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(astronaut)
    portraits = named_portraits(args.portraits.split(","), {"grace_hopper": str(default_portrait_path()),
                                                            "astronaut": str(astronaut)})
    emotions = args.emotions.split(",")
    speeches = {}
    for name in args.inputs.split(","):
        if name == "beat":
            if not BEAT.is_dir():
                print(f"(BEAT data not found at {BEAT}: the beat input is skipped)")
                continue
            audio, words = beat_segment()
            speeches[f"beat {audio.source}"] = {"audio": audio, "transcript": words}
        else:
            speeches["tts sentence"] = {"text": SENTENCE}
    pipe = AvatarPipeline.from_pretrained(generator=args.generator)
    print(f"generator: {pipe.generator}")
    sheet_frames, figures = {}, {}
    total = time.perf_counter()
    for name, path in portraits.items():
        for label, speech in speeches.items():
            print(f"{name}, {label}:")
            runs, drift = {}, None
            for emotion in emotions:
                try:
                    runs[emotion] = run = run_one(pipe, path, speech, emotion)
                except InputError as error:  # a photo the engine refuses, with its reason
                    print(f"    {error}")
                    figures[name, label] = {"error": str(error)}
                    break
                print(f"    {emotion:<9}: FER before {EMOTIONS7[int(np.argmax(run['before']))]} "
                      f"({run['before'][EMOTIONS7.index(emotion)]:.2f} of {emotion}), after "
                      f"{EMOTIONS7[int(np.argmax(run['after']))]} ({run['after'][EMOTIONS7.index(emotion)]:.2f}); "
                      f"windows: majority {run['majority_before']} -> {run['majority_after']}, verified "
                      f"{run['verified_before']} -> {run['verified_after']} of {run['windows']}, worse "
                      f"{run['worse']}, attempts {run['attempts']}, {run['seconds']:.0f} s", flush=True)
                if args.sheet and label.startswith("tts"):
                    result = run["result"]
                    one = slice(middle_frame(result), middle_frame(result) + 1)
                    face = FaceTrack(result.face.weights[one], result.face.fps, result.face.head[one],
                                     result.face.gaze[one])
                    shown = result.talking_head.render(face)
                    sheet_frames[name, emotion] = face_crop(shown.frames[0], result.talking_head.portrait.landmarks)
                if drift is None:
                    drift = neutral_drift(run["result"].talking_head)
                run.pop("result")
            if not runs or (name, label) in figures:
                continue
            print_matrix("before the loop", {e: r["before"] for e, r in runs.items()})
            print_matrix("after the loop", {e: r["after"] for e, r in runs.items()})
            print_matrix("after the loop, every FER reading counted alike (open mouths too)",
                         {e: r["after_plain"] for e, r in runs.items()})
            majority = sum(r["majority_after"] == e for e, r in runs.items())
            figures[name, label] = {
                "right_after": sum(EMOTIONS7[int(np.argmax(r["after"]))] == e for e, r in runs.items()),
                "right_before": sum(EMOTIONS7[int(np.argmax(r["before"]))] == e for e, r in runs.items()),
                "windows": sum(r["windows"] for r in runs.values()),
                "verified": sum(r["verified_after"] for r in runs.values()),
                "unverified": {e: r["windows"] - r["verified_after"] for e, r in runs.items()
                               if r["verified_after"] < r["windows"]},
                "read_as": {e: EMOTIONS7[int(np.argmax(r["after"]))] for e, r in runs.items()},
                "neutral_drift_px": drift}
            print(f"    by the majority of windows after the loop: {majority}/{len(runs)} right; windows verified "
                  f"{sum(r['verified_before'] for r in runs.values())} -> "
                  f"{sum(r['verified_after'] for r in runs.values())} of {sum(r['windows'] for r in runs.values())}"
                  f"; windows made worse by the loop: {sum(r['worse'] for r in runs.values())}; "
                  f"{sum(r['seconds'] for r in runs.values()):.0f} s for {len(runs)} clips")
    print(f"loop runs: {time.perf_counter() - total:.0f} s")
    summarize(figures, len(emotions))
    if args.json:
        clips = {f"{name} | {label}": value for (name, label), value in figures.items()}
        write_results(args.json, {"emotions": emotions, "generator": pipe.generator, "clips": clips}, started)
    if args.sheet:
        contact_sheet(args.sheet, sheet_frames, list(portraits), emotions)
    if not args.no_checks:
        checks(portraits, pipe)


if __name__ == "__main__":
    main()

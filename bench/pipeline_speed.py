"""The whole verified pipeline on 60 s of real speech: per-stage seconds, wall time and peak memory, cold from the
command line and warm through a loaded AvatarPipeline, on 1 and 2 cores; and the quality of the same outputs.

Run: .venv/bin/python bench/pipeline_speed.py [--take 2_scott_0_1_1] [--emotion happiness] [--cores 2,1]
     [--runs cold,warm] [--repeat 3] [--profile docs/pipeline_flame.svg] [--json bench/results/pipeline_speed.json]

Input: BEAT take 2_scott_0_1_1 (64 s, speaker 2) with its transcript (the words of its TextGrid), the default
settings (learned generator, verification on, 512x512 video, the default portrait), --outputs
face,body,preview,video, seed 0.
- cold: `avatar render` in a fresh process (imports, model loading and the portrait fit count), so the portrait
  cache is emptied first (a temporary AVATAR_CACHE_DIR): the first run a user makes on a new machine.
- warm: one process loads AvatarPipeline, renders and saves once, then again: the second call is timed, as the
  page and batch workers run (models, voice and portrait fit already loaded).
- cores: each run is pinned to that many cores (sched_setaffinity), so "1" is a one-core machine.
- per stage: render.json's timings (the preview and the files are written on a second thread beside the video,
  so "save" is the wall time of writing every output). Peak memory: the process's maximum resident set
  (ffmpeg's encoders run in their own processes and are not counted).
- quality of the same outputs: windows the recognizer in the loop verified and how many attempts it made,
  P/B/M lip closure of face.json against the TextGrid's phones, BeatAlign of body.bvh (upper body, 15 fps)
  against the speech's onsets; the real capture's BeatAlign on the same take is printed beside it.
Targets (2 cores): cold <= 45 s, warm <= 30 s, verification <= 25 % of the warm wall time when every window
verifies on its first attempt.
--profile writes a py-spy flame graph (SVG) of the cold run on 2 cores (`pip install py-spy` first; that run's
wall time includes py-spy's sampling, and its peak memory is not measured).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from avatar.evaluation.beat import BEAT
from avatar.evaluation.results import run_conditions, write_results

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUTPUTS = "face,body,preview,video"


def transcript(take: str) -> str:
    """The words of a BEAT take's TextGrid, as a user would type them."""
    from avatar.frontend.textgrid import load_alignment_textgrid

    return " ".join(w.label for w in load_alignment_textgrid(BEAT / "textgrid" / f"{take}.TextGrid").words)


def pinned(cores: int):
    """A preexec_fn that pins the child to the first `cores` cores."""
    return lambda: os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))


def run_child(command: list[str], cores: int, env: dict) -> tuple[float, float, str]:
    """Run a command pinned to `cores` cores: (wall seconds, peak RSS in MB, its output)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                             preexec_fn=pinned(cores), text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{output[-3000:]}")
    return wall, usage.ru_maxrss / 1024, output


def cold(take: str, emotion: str, cores: int, out: Path, profile: Path | None) -> dict:
    """`avatar render` in a fresh process with an empty portrait cache."""
    wav = BEAT / "wav" / f"{take}.wav"
    command = [str(BIN / "avatar"), "render", str(wav), "--transcript", transcript(take), "--emotion", emotion,
               "--outputs", OUTPUTS, "-o", str(out)]
    if profile is not None:
        command = [str(BIN / "py-spy"), "record", "--rate", "50", "--subprocesses", "--nonblocking", "-o",
                   str(profile), "--", *command]
    with tempfile.TemporaryDirectory() as cache:
        wall, peak, _ = run_child(command, cores, {**os.environ, "AVATAR_CACHE_DIR": cache})
    # Under py-spy the child measured is py-spy itself: no memory figure then.
    return {"wall_s": wall, "peak_mb": None if profile else peak,
            "timings": json.loads((out / "render.json").read_text())["timings_s"]}


def warm(take: str, emotion: str, cores: int, out: Path) -> dict:
    """A second render through a loaded pipeline, in a fresh process (see warm_worker)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--warm-worker", "--take", take, "--emotion", emotion,
               "-o", str(out)]
    _, peak, output = run_child(command, cores, dict(os.environ))
    result = json.loads(output.strip().splitlines()[-1])
    return {**result, "peak_mb": peak}


def warm_worker(take: str, emotion: str, out: Path) -> None:
    """Load the pipeline, render once, then time a second render and its save; print the figures as JSON."""
    from avatar.pipeline import AvatarPipeline

    pipe = AvatarPipeline()
    request = dict(audio=str(BEAT / "wav" / f"{take}.wav"), transcript=transcript(take), emotion=emotion,
                   outputs=OUTPUTS)
    pipe(**request).save(out)
    started = time.perf_counter()
    result = pipe(**request)
    summary = result.save(out)
    wall = time.perf_counter() - started
    print(json.dumps({"wall_s": wall, "timings": summary["timings_s"],
                      "peak_mb_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def quality(take: str, out: Path) -> dict:
    """What the outputs show: verification, lip closure of face.json, BeatAlign of body.bvh (and the capture's)."""
    from avatar.evaluation.face import bilabial_closure
    from avatar.evaluation.kinematics import audio_onsets, beat_align, upper_body_positions
    from avatar.frontend.audio import load_audio
    from avatar.frontend.textgrid import load_alignment_textgrid
    from generators.conditioning import Segment
    from rigs.formats.arkit_json import read_arkit_json
    from rigs.formats.bvh import read_bvh

    report = json.loads((out / "report.json").read_text())
    windows = report["windows"]
    alignment = load_alignment_textgrid(BEAT / "textgrid" / f"{take}.TextGrid")
    phones = [Segment(p.start, p.end, p.label) for p in alignment.phones]
    closure, _ = bilabial_closure(read_arkit_json(out / "face.json"), phones)
    onsets = audio_onsets(load_audio(BEAT / "wav" / f"{take}.wav").samples)
    body = read_bvh(out / "body.bvh")
    figures = {"verified": sum(w["verified"] for w in windows), "windows": len(windows),
               "attempts": max(len(w["attempts"]) for w in windows), "closure": closure,
               "beat_align": beat_align(upper_body_positions(body, 15.0), 15.0, onsets)}
    capture = BEAT / "bvh" / f"{take}.bvh"
    if capture.is_file():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the capture's header disagrees with its rows (known BEAT quirk)
            real = read_bvh(capture)
        figures["beat_align_capture"] = beat_align(upper_body_positions(real, 15.0), 15.0, onsets)
    return figures


def print_run(name: str, cores: int, runs: list[dict], quality_figures: dict) -> dict:
    """Print the run of median wall time (its stages and peak), with the spread of all runs; return them."""
    figures = sorted(runs, key=lambda run: run["wall_s"])[len(runs) // 2]
    timings = figures["timings"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
    verify = timings.get("verify", 0.0)
    peak = "under py-spy" if figures["peak_mb"] is None else f"{figures['peak_mb']:5.0f} MB"
    spread = (f" (median of {len(runs)}: {min(r['wall_s'] for r in runs):.1f}-{max(r['wall_s'] for r in runs):.1f})"
              if len(runs) > 1 else "")
    print(f"{name:5s} {cores} core{'s' if cores > 1 else ' '}: wall {figures['wall_s']:6.1f} s{spread}, peak {peak}, "
          f"verify share {100 * verify / figures['wall_s']:4.1f} %")
    print(f"      stages (s): {stages}")
    q = quality_figures
    capture = f" (real capture {q['beat_align_capture']:.3f})" if "beat_align_capture" in q else ""
    print(f"      quality: verified {q['verified']}/{q['windows']} windows, up to {q['attempts']} attempts; "
          f"P/B/M closure {100 * q['closure']:.0f} %; BeatAlign {q['beat_align']:.3f}{capture}")
    return {"median": figures, "walls_s": sorted(r["wall_s"] for r in runs), "quality": quality_figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--take", default="2_scott_0_1_1")
    parser.add_argument("--emotion", default="neutral")
    parser.add_argument("--cores", default="2,1", help="comma-separated core counts to pin each run to")
    parser.add_argument("--runs", default="cold,warm", help="cold, warm or both")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind; the median is reported")
    parser.add_argument("--profile", type=Path, help="write a py-spy flame graph (SVG) of the cold 2-core run")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/pipeline_speed.json)")
    parser.add_argument("--warm-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-o", "--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warm_worker:
        return warm_worker(args.take, args.emotion, args.output)
    if not (BEAT / "wav" / f"{args.take}.wav").is_file():
        sys.exit(f"the BEAT take {args.take} is not at {BEAT}: this benchmark needs ../shared/data")
    if args.profile is not None and shutil.which("py-spy", path=str(BIN)) is None:
        sys.exit(f"--profile needs py-spy: {BIN / 'pip'} install py-spy")
    print(f"{args.take} with its transcript, emotion {args.emotion}, outputs {OUTPUTS}, on {os.cpu_count()} CPUs")
    conditions, figures = run_conditions(), {}
    with tempfile.TemporaryDirectory() as scratch:
        for cores in (int(c) for c in args.cores.split(",")):
            for name in args.runs.split(","):
                out = Path(scratch) / f"{name}-{cores}"
                profile = args.profile if (name == "cold" and cores == 2) else None
                runs = [cold(args.take, args.emotion, cores, out, profile) if name == "cold" else
                        warm(args.take, args.emotion, cores, out) for _ in range(1 if profile else args.repeat)]
                figures[f"{name}-{cores}"] = print_run(name, cores, runs, quality(args.take, out))
    if args.json:
        write_results(args.json, {"take": args.take, "emotion": args.emotion, **figures}, conditions)
    return None


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()

"""`avatar batch` throughput: 20 jobs of 5 s of real speech, in one process and with --workers 2.

Run: .venv/bin/python bench/batch_speed.py [--jobs 20] [--seconds 5] [--outputs face,body] [--workers 1,2]

Input: consecutive 5-s excerpts of the three BEAT takes (speaker 2), each with the words its TextGrid times inside
it as the transcript, the emotions taken in turn (happiness, anger, sadness, surprise, fear, disgust, neutral),
seed 0, verification on, the manifest's default outputs (face, body) unless --outputs says otherwise.
Each run is a fresh `avatar batch` process into an empty folder, so the workers' start-up (imports, models) counts:
throughput = jobs / wall time. The files of every run are compared with the first run's (they must be the same
bytes: the workers sample on one thread each, as the in-process run does). Target: --workers 2 >= 1.7x the
throughput of one process on this 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from avatar.evaluation.beat import BEAT, BEAT_TAKES  # noqa: E402

BIN = Path(sys.executable).parent
EMOTIONS = ("happiness", "anger", "sadness", "surprise", "fear", "disgust", "neutral")


def write_manifest(folder: Path, jobs: int, seconds: float, outputs: str | None) -> Path:
    """Cut the excerpts into folder and write manifest.csv for them."""
    from avatar.frontend.audio import load_audio, save_wav
    from avatar.frontend.textgrid import load_alignment_textgrid

    rows = []
    for take in BEAT_TAKES:
        audio = load_audio(BEAT / "wav" / f"{take}.wav")
        words = load_alignment_textgrid(BEAT / "textgrid" / f"{take}.TextGrid").words
        start = 0.0
        while len(rows) < jobs and start + seconds <= audio.duration:
            said = " ".join(w.label for w in words if w.start >= start and w.end <= start + seconds)
            if said:
                name = f"{take}_{int(start):03d}"
                piece = audio.samples[int(start * audio.sample_rate): int((start + seconds) * audio.sample_rate)]
                save_wav(type(audio)(piece, audio.sample_rate), folder / f"{name}.wav")
                rows.append({"id": name, "audio": f"{name}.wav", "transcript": said,
                             "emotion": EMOTIONS[len(rows) % len(EMOTIONS)], "outputs": outputs or ""})
            start += seconds
    if len(rows) < jobs:
        sys.exit(f"only {len(rows)} excerpts of {seconds:g} s with words in the BEAT takes")
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def same_files(first: Path, other: Path) -> bool:
    """Every job's files in `other` are byte-identical to those in `first` (render.json's timings aside)."""
    for job in (p for p in first.iterdir() if p.is_dir()):
        names = [p.name for p in job.iterdir() if p.name != "render.json"]
        _, mismatch, errors = filecmp.cmpfiles(job, other / job.name, names, shallow=False)
        if mismatch or errors:
            print(f"  {job.name}: differs in {mismatch + errors}")
            return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--outputs", help="the manifest's outputs cell (default: the batch default, face,body)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to run")
    args = parser.parse_args(argv)
    if not (BEAT / "wav").is_dir():
        sys.exit(f"the BEAT takes are not at {BEAT}: this benchmark needs ../shared/data")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        manifest = write_manifest(folder, args.jobs, args.seconds, args.outputs)
        print(f"{args.jobs} jobs of {args.seconds:g} s of BEAT speech, outputs {args.outputs or 'face,body'}")
        first, base = None, None
        for workers in (int(w) for w in args.workers.split(",")):
            out = folder / f"out-{workers}"
            started = time.perf_counter()
            subprocess.run([str(BIN / "avatar"), "batch", str(manifest), "-o", str(out), "--workers", str(workers)],
                           check=True, capture_output=True)
            wall = time.perf_counter() - started
            throughput = args.jobs / wall
            base = base or throughput
            same = "" if first is None else f"; files {'identical' if same_files(first, out) else 'DIFFER'}"
            print(f"--workers {workers}: {wall:6.1f} s, {throughput:.2f} jobs/s ({throughput / base:.2f}x){same}")
            first = first or out


if __name__ == "__main__":
    main()

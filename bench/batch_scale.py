"""`avatar batch` scaling: jobs per minute with 1 and 2 local worker processes, on a local Ray with 1 and 2 CPUs,
and on a running Ray head with 1 and 2 CPUs.

Run: .venv/bin/python bench/batch_scale.py [--jobs 20] [--seconds 5]
     [--runs local:1,local:2,ray:1,ray:2,head:1,head:2] [--repeat 3] [--json bench/results/batch_scale.json]

Input: the manifest of bench/batch_speed.py (consecutive 5-s excerpts of the BEAT takes with their transcripts,
seven emotions in turn, verification on, outputs face and body). Each run is a fresh `avatar batch` process into an
empty folder: `--workers N`; `--ray --workers N`, a local Ray with N CPUs that the batch starts and stops itself;
or `--ray 127.0.0.1:PORT`, joining a head started before the run with `ray start --head --num-cpus N` (token
authentication on, as Ray 2.60 sets it up; avatar/evaluation/ray_head.py) and stopped after it, as on a cluster
that is already running. One worker actor per CPU. The batch's own start-up counts (the head's does not): jobs per
minute = jobs / wall time. From summary.json, per worker process: the seconds it spent
importing and loading the pipeline, its peak memory (ru_maxrss), and the mean seconds of its jobs after the first
(which also loads the voice check and warms the caches); the steady rate, the sum over workers of 60 / that mean, is
what a long manifest approaches once every worker has started. Prints one JSON object; the figures are noisy on a shared
machine (the speed-ups most of all): --repeat N runs each backend:workers N times, interleaved, and reports the run
with the median wall time (every run's wall time beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch_speed import BIN, same_files, write_manifest  # a sibling script: bench/ is on the path of a script

from avatar.evaluation.beat import BEAT
from avatar.evaluation.ray_head import start_head, stop_head
from avatar.evaluation.results import run_conditions, write_results


def run(manifest: Path, out: Path, backend: str, workers: int) -> dict:
    """One fresh `avatar batch` run; its wall time and what summary.json says of its workers."""
    command = [str(BIN / "avatar"), "batch", str(manifest), "-o", str(out), "--workers", str(workers)]
    if backend == "ray":
        command.append("--ray")
    if backend == "head":
        with tempfile.TemporaryDirectory(prefix="rayb", dir="/tmp") as folder:  # Ray's socket paths are short
            head = start_head(Path(folder), secrets.token_hex(16), cpus=workers)
            try:
                env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")},
                       "RAY_AUTH_TOKEN": head.token}
                return timed([*command, "--ray", f"127.0.0.1:{head.port}"], out, env)
            finally:
                stop_head(head.process)
    return timed(command, out, None)


def timed(command: list[str], out: Path, env: dict | None) -> dict:
    """Run one `avatar batch` command: its wall time and what summary.json says of its workers."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    per_worker: dict[int, list[dict]] = {}
    for job in summary["jobs"]:
        per_worker.setdefault(job["worker"]["pid"], []).append(job)
    workers_seen = [
        {
            "jobs": len(jobs),
            "load_s": jobs[-1]["worker"]["load_seconds"],
            "peak_memory_mb": max(job["worker"]["peak_memory_mb"] for job in jobs),
            "first_job_s": jobs[0]["seconds"],
            "later_jobs_mean_s": round(statistics.mean(job["seconds"] for job in jobs[1:]), 2) if jobs[1:] else None,
        }
        for jobs in per_worker.values()
    ]
    jobs = len(summary["jobs"])
    later = [w["later_jobs_mean_s"] for w in workers_seen if w["later_jobs_mean_s"]]
    return {
        "backend": summary["backend"],
        "wall_s": round(wall, 1),
        "jobs_per_min": round(60 * jobs / wall, 1),
        # once every worker has loaded: what a long manifest approaches (start-up and the first job left out)
        "steady_jobs_per_min": round(sum(60 / s for s in later), 1) if later else None,
        "workers": workers_seen,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", default="local:1,local:2,ray:1,ray:2,head:1,head:2",
                        help="backend:workers, comma-separated")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each backend:workers, interleaved; the median wall time is reported")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/batch_scale.json)")
    args = parser.parse_args(argv)
    conditions = run_conditions()
    if not (BEAT / "wav").is_dir():
        sys.exit(f"the BEAT takes are not at {BEAT}: this benchmark needs ../shared/data")
    results, first = {}, None
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        manifest = write_manifest(folder, args.jobs, args.seconds, None)
        runs: dict[str, list[dict]] = {}
        # Interleaved (1, 2, 1, 2, ...), so a slow spell of a shared machine falls on both sides of the speed-up.
        for attempt in range(args.repeat):
            for name in args.runs.split(","):
                backend, workers = name.split(":")
                out = folder / f"out-{backend}-{workers}-{attempt}"
                result = run(manifest, out, backend, int(workers))
                if first is None:
                    first = out
                else:
                    result["files_identical_to_first_run"] = same_files(first, out)
                runs.setdefault(name, []).append(result)
                print(f"{name}: {result['jobs_per_min']} jobs/min", file=sys.stderr)
        for name, tries in runs.items():
            walls = [t["wall_s"] for t in tries]
            results[name] = {**sorted(tries, key=lambda t: t["wall_s"])[len(tries) // 2],  # the median run
                             "walls_s": walls}
            if len(tries) > 1 and "files_identical_to_first_run" in tries[-1]:
                results[name]["files_identical_to_first_run"] = all(
                    t.get("files_identical_to_first_run", True) for t in tries)
    for backend in ("local", "ray", "head"):
        one, two = results.get(f"{backend}:1"), results.get(f"{backend}:2")
        if one and two:
            results[f"{backend} speed-up 1 -> 2"] = round(two["jobs_per_min"] / one["jobs_per_min"], 2)
            if one["steady_jobs_per_min"] and two["steady_jobs_per_min"]:
                results[f"{backend} steady speed-up 1 -> 2"] = round(
                    two["steady_jobs_per_min"] / one["steady_jobs_per_min"], 2)
    machine = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
    }
    figures = {"jobs": args.jobs, "seconds_per_job": args.seconds, "machine": machine, **results}
    print(json.dumps(figures, indent=1))
    if args.json:
        write_results(args.json, figures, conditions)


if __name__ == "__main__":
    main()

"""Benchmark results as JSON: the figures a bench script measured, with when, how and on what it ran.

Committed results live in bench/results/; docs/benchmarks.md's tables, README's headline figures and the motion
model card's results are made from them (avatar.evaluation.report).
A timing is only as good as the machine was quiet: each file keeps the load average before and after the run.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

from rigs.fileio import write_text_atomic
from rigs.paths import REPOSITORY

RESULTS = REPOSITORY / "bench" / "results"


def run_conditions() -> dict:
    """The machine as a run starts: cores this process may use and the load average over the last minute."""
    return {"cores": len(os.sched_getaffinity(0)), "load_average": round(os.getloadavg()[0], 2)}


def write_results(path: str | os.PathLike, figures: dict, started: dict) -> Path:
    """Write figures (JSON-ready) with the command, the date and the run's conditions (started: run_conditions()
    taken before the run), atomically."""
    command = ".venv/bin/python " + shlex.join([os.path.relpath(sys.argv[0], REPOSITORY), *sys.argv[1:]])
    document = {
        "command": command,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": {**started, "load_average_after": round(os.getloadavg()[0], 2)},
        "figures": figures,
    }
    path = Path(path)
    write_text_atomic(path, json.dumps(document, indent=1, default=plain) + "\n")
    return path


def plain(value):
    """A numpy scalar or array as the Python value JSON can hold (json.dumps's default for what it cannot)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def read_results(name: str, folder: str | os.PathLike = RESULTS) -> dict:
    """A committed result (bench/results/NAME.json)."""
    return json.loads((Path(folder) / f"{name}.json").read_text(encoding="utf-8"))

"""Batch rendering: one AvatarPipeline job per manifest row, in this process, in worker processes or on Ray.

    from avatar.batch import run_batch

    summary = run_batch("demos/batch/manifest.csv", "out/batch", workers=2)   # or ray=True / ray="host:6379"
    summary["counts"]                                                          # {"ok": 3, "failed": 0, ...}

The manifest is a CSV whose first line names the columns (any order, any case):
  id              the job's folder name under the output folder (letters, digits, '.', '_', '-'); required
  audio | text    the speech: a file (wav, flac, ogg, mp3), or words the offline voice speaks; one per row
  emotion         neutral (default), happiness, anger, sadness, contempt, surprise, fear, disgust, or auto
  intensity       0 to 1 (default 0.8)
  portrait        a photo for the video output (default: the bundled grace_hopper.jpg)
  seed            a whole number (default 0)
  outputs         face, body, preview, video, comma-separated inside quotes (default "face,body")
  transcript      what the audio says (better lip timing; left empty, the words are recognized)
  keyframes       an emotion timeline, "0 s neutral, 2 s anger 0.8" (wins over emotion)
  style_reference another clip whose speaking style drives the motion
  generator       learned (default) or procedural
  verify          true (default) or false: the recognizer in the loop
  max_attempts    attempts per window with verify, 1 to 20 (default avatar.verification.MAX_ATTEMPTS, 5)
  size            the talking-head video's side in pixels, even, 256 to 1024 (default 512)
Empty cells take the defaults; relative paths are read from the manifest's folder. Every row is checked before any
job starts, by the check `avatar render` and the page use (avatar/request.py: the same ranges and messages), all
but its speech, which is decoded and checked when its job runs; a bad row fails alone.

Each job writes `<outdir>/<id>/` (the files of `avatar render`) into a hidden sibling folder first and swaps it
into place when complete (avatar/outputs.py, as `avatar render` does), so a job folder with render.json is always a
finished job; re-running skips those.
`<outdir>/summary.json` and `summary.csv` say, per job, ok / failed / skipped, the error, seconds and files;
summary.json also says which worker process ran it (host, pid, seconds it spent loading the pipeline, its peak
memory) and, on Ray, how many attempts it took. Ray (joining a cluster, the worker pool, lost workers, shipping
files to nodes without a shared file system) is in avatar/batch_ray.py.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import json
import os
import re
import resource
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from avatar.errors import InputError
from avatar.outputs import remove_stale_partials
from generators import DEFAULT_GENERATOR, GENERATORS

# Heavy modules (the pipeline, torch, numba, ray) are imported inside functions: a spawned worker imports this
# module before its initializer can limit threads, and `avatar batch --help` stays fast.

REQUIRED = ("id",)
SPEECH = ("audio", "text")
OPTIONAL = ("emotion", "intensity", "portrait", "seed", "outputs", "transcript", "keyframes", "style_reference",
            "generator", "verify", "max_attempts", "size")
COLUMNS = REQUIRED + SPEECH + OPTIONAL
PATH_COLUMNS = ("audio", "portrait", "style_reference")
SUMMARY_FILES = ("summary.json", "summary.csv")
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
FLAGS = {**dict.fromkeys(("true", "yes", "1", "on"), True), **dict.fromkeys(("false", "no", "0", "off"), False)}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    """One manifest row: its id, where it is in the file, and the pipeline's arguments (or why it cannot run)."""

    id: str
    line: int
    request: dict = field(default_factory=dict)  # check_request's keyword arguments, checked, paths resolved
    generator: str = DEFAULT_GENERATOR
    error: str | None = None  # a bad cell: the job is recorded as failed without running


def read_manifest(path: str | os.PathLike) -> list[Job]:
    """The jobs of a manifest CSV; header and id problems raise InputError, bad cells mark their job failed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest '{path}' does not exist or is not a file; give a CSV whose first line names "
                         f"the columns, e.g. {','.join(COLUMNS[:8])}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often start UTF-8 CSVs with a BOM
    except UnicodeDecodeError as error:
        raise InputError(f"manifest '{path}' is not UTF-8 text ({error.reason} at byte {error.start}); save it "
                         "from your spreadsheet as 'CSV UTF-8'") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(f"manifest '{path}' is empty; its first line must name the columns, e.g. "
                             f"{','.join(COLUMNS[:8])}")
        columns = _check_header(path, [name.strip().lower() for name in header])
        rows, line = [], reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num  # a quoted cell may span lines: report where the row starts
            if any(cell.strip() for cell in cells):  # rows of empty cells are blank lines to a spreadsheet
                rows.append((start, cells))
    except csv.Error as error:
        raise InputError(f"manifest '{path}' line {reader.line_num} is not valid CSV ({error}); quote cells that "
                         "contain commas, quotes or line breaks") from None
    if not rows:
        raise InputError(f"manifest '{path}' has a header but no jobs; add one row per job below it")
    root = path.resolve().parent
    jobs = [_job(path, root, columns, line, cells) for line, cells in rows]
    _check_ids(path, jobs)
    return jobs


def _check_header(path: Path, columns: list[str]) -> list[str]:
    """The header's column names, checked: id and audio or text present, every name known, none twice."""
    for index, name in enumerate(columns):
        if not name:
            raise InputError(f"manifest '{path}' header: column {index + 1} has no name; name it (one of "
                             f"{', '.join(COLUMNS)}) or remove the extra comma")
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise InputError(f"manifest '{path}' header: unknown column '{name}'; {hint}the columns are "
                             f"{', '.join(COLUMNS)} (the first line must be the header)")
        if columns.index(name) != index:
            raise InputError(f"manifest '{path}' header: column '{name}' appears twice; keep one")
    if "id" not in columns:
        raise InputError(f"manifest '{path}' header has no 'id' column; add one (each job's folder name), e.g. "
                         f"{','.join(COLUMNS[:8])}")
    if not set(SPEECH) & set(columns):
        raise InputError(f"manifest '{path}' header has neither an 'audio' nor a 'text' column; add one of them "
                         "(the speech of each job)")
    return columns


def _check_ids(path: Path, jobs: list[Job]) -> None:
    """Every id is a safe folder name and unique (also ignoring case, as macOS and Windows do)."""
    seen: dict[str, Job] = {}
    for job in jobs:
        if not job.id:
            raise InputError(f"manifest '{path}' line {job.line}: the id is empty; give each row an id (its "
                             "output folder's name)")
        if not SAFE_ID.fullmatch(job.id) or job.id.lower() in SUMMARY_FILES:
            fix = re.sub(r"[^A-Za-z0-9._-]+", "_", job.id).lstrip("._-")[:100] or "job1"
            if fix.lower() in SUMMARY_FILES:
                fix = "job_" + fix
            raise InputError(f"manifest '{path}' line {job.line}: id '{job.id}' is not a safe folder name; use "
                             f"letters, digits, '.', '_' and '-' (starting with a letter or digit, at most 100, "
                             f"not summary.json or summary.csv), e.g. '{fix}'")
        other = seen.get(job.id.lower())
        if other is not None:
            same = f"id '{job.id}'" if other.id == job.id else f"ids '{other.id}' and '{job.id}' (one folder " \
                "where case is ignored)"
            raise InputError(f"manifest '{path}' lines {other.line} and {job.line} have the same {same}; give "
                             "each row its own id")
        seen[job.id.lower()] = job


def _job(path: Path, root: Path, columns: list[str], line: int, cells: list[str]) -> Job:
    """One row as a Job; a bad cell becomes the job's error (one line), not an exception."""
    values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}
    job_id = values.get("id", "")
    if len(cells) > len(columns):
        return Job(job_id, line, error=f"the row has {len(cells)} cells but the header {len(columns)}; put "
                   "quotes around cells that contain commas (such as text or outputs)")
    try:
        request, generator = _request(values, root)
    except InputError as error:
        return Job(job_id, line, error=str(error))
    return Job(job_id, line, request, generator)


def _request(values: dict[str, str], root: Path) -> tuple[dict, str]:
    """One row's cells as check_request's keyword arguments, checked by check_arguments, and the generator's name.

    Numbers and true/false are read from the text of their cells; a cell that does not read as one is passed on
    as text, for the shared check to name it and the fix. Empty cells are left out: the defaults apply.
    """
    from avatar.request import check_arguments

    cell = {name: values.get(name) or None for name in COLUMNS}
    for name in PATH_COLUMNS:
        if cell[name] is not None:
            cell[name] = str(root / Path(cell[name]).expanduser())  # an absolute path stays as it is
    generator = (cell["generator"] or DEFAULT_GENERATOR).lower()
    if generator not in GENERATORS:
        raise InputError(f"unknown generator '{cell['generator']}'; choose one of: {', '.join(GENERATORS)}")
    verify = cell["verify"] and FLAGS.get(cell["verify"].lower(), cell["verify"])
    arguments = {"audio": cell["audio"], "text": cell["text"], "transcript": cell["transcript"],
                 "emotion": cell["emotion"], "intensity": _number(cell["intensity"], float),
                 "emotion_keyframes": cell["keyframes"], "style_reference": cell["style_reference"],
                 "portrait": cell["portrait"], "seed": _number(cell["seed"], int), "outputs": cell["outputs"],
                 "verify": verify, "max_attempts": _number(cell["max_attempts"], int),
                 "size": _number(cell["size"], int)}
    return check_arguments(**{name: value for name, value in arguments.items() if value is not None}), generator


def _number(value: str | None, kind: type):
    """A cell as an int or float, or its text when it does not read as one (None when empty)."""
    try:
        return value if value is None else kind(value)
    except ValueError:
        return value


def run_batch(manifest: str | os.PathLike, outdir: str | os.PathLike, workers: int | None = None,
              ray: bool | str | None = None, fps: float = 30.0, voice: str = "joe", progress: bool = True,
              ship_files: bool = False, ship_limit_mb: float | None = None) -> dict:
    """Render every unfinished job of the manifest into outdir/<id>/ and write summary.json/csv; returns it.

    workers: processes (None or 1: this process); with ray, the local Ray's CPUs or the workers on a cluster
    (default: one per CPU). ray: True starts a local Ray, a string is a cluster address ("auto", "host:6379",
    "ray://host:10001"). ship_files: with ray, send each job's input files to its worker and its finished files back
    here (no shared file system needed), at most ship_limit_mb each way (default avatar.batch_ray.SHIP_LIMIT_MB).
    """
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise InputError(f"workers is {workers!r}; give 1 or more worker processes")
    if ship_files and not ray:
        raise InputError("--ship-files is for Ray workers (--ray): local workers read and write this machine's files "
                         "directly; add --ray ADDRESS or leave it out")
    if ship_limit_mb is not None and not ship_files:
        raise InputError("--ship-limit goes with --ship-files (it caps what is shipped per job); add --ship-files "
                         "or leave it out")
    if ship_limit_mb is not None and not ship_limit_mb > 0:
        raise InputError(f"--ship-limit is {ship_limit_mb!r}; give the most megabytes to ship per job, such as 200")
    from rigs.clock import check_fps

    fps = check_fps(fps)
    jobs = read_manifest(manifest)
    out = Path(outdir).resolve()  # absolute: Ray workers do not share this process's working folder
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder '{outdir}' is a file; give a folder (it is created if missing)")
    if ray:
        from avatar import batch_ray

        connect = batch_ray.connect(ray, workers)  # a missing ray fails here, before any work
        ship = (ship_limit_mb or batch_ray.SHIP_LIMIT_MB) if ship_files else None
    else:
        connect, ship = None, None

    started = time.perf_counter()
    results: dict[str, dict] = {}
    todo: list[Job] = []
    for job in jobs:
        done = out / job.id / "render.json"
        if done.is_file():
            results[job.id] = _skipped(job, done)
        elif job.error is not None:
            results[job.id] = _record(job, "failed", job.error)
        else:
            todo.append(job)
    # Ray is joined before anything is written: a wrong address, token or version leaves no output folder.
    connection = connect() if connect is not None and todo else None
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    processes = min(workers or 1, len(todo))
    backend = None
    bar = _progress_bar(len(jobs), len(jobs) - len(todo), progress)
    in_flight = 0
    try:
        def finished(result: dict) -> None:
            results[result["id"]] = result
            bar.update(1)
            bar.set_postfix_str(_counts_text(results.values(), in_flight), refresh=False)

        def running(count: int) -> None:
            nonlocal in_flight
            in_flight = count
            bar.set_postfix_str(_counts_text(results.values(), in_flight))

        bar.set_postfix_str(_counts_text(results.values()), refresh=False)
        if not todo:
            backend = "nothing to run"
        elif connection is not None:
            backend = connection.backend + (", files shipped" if ship else "")
            batch_ray.run_jobs(connection, todo, out, fps, voice, finished, running, ship)
        elif processes == 1:
            backend = "this process"
            for job in todo:
                bar.set_description(f"batch {job.id}")
                finished(render_job(job, str(out), fps, voice))
            bar.set_description("batch")
        else:
            backend = f"{processes} worker processes"
            _run_processes(todo, out, fps, voice, processes, finished)
    finally:
        bar.close()
        # An interrupted run still says what it did: a job whose folder made it into place is ok (a worker can
        # finish one after the interrupt), the others are "not run".
        for job in jobs:
            if job.id not in results:
                done = out / job.id / "render.json"
                results[job.id] = ({**_skipped(job, done), "status": "ok"} if done.is_file() else
                                   _record(job, "not run", "the batch was stopped before this job finished"))
        summary = _summary(manifest, out, backend, jobs, results, time.perf_counter() - started)
        _write_summary(out, summary)
    return summary


def render_job(job: Job, outdir: str, fps: float = 30.0, voice: str = "joe", threads: int | None = None) -> dict:
    """Run one job into outdir/<job.id>/ atomically; returns its summary row and never raises for a job's fault."""
    from rigs.errors import RigInputError

    if threads:
        _limit_threads(threads)
    started = time.perf_counter()
    try:
        from avatar.request import check_request

        request = check_request(**job.request)  # the speech decoded and checked here, where the job runs
        result = _pipeline(job.generator, fps, voice).render(request)
        summary = result.save(Path(outdir) / job.id, replace=True)  # the batch owns the job's folder
        row = _record(job, "ok", None, time.perf_counter() - started, summary["files"], summary["verification"])
    except (InputError, RigInputError) as error:
        row = _record(job, "failed", _one_line(str(error)), time.perf_counter() - started)
    except Exception as error:  # a bug or a broken install: record it with its type, and go on with the others
        row = {**_record(job, "failed", _one_line(f"{type(error).__name__}: {error}"),
                         time.perf_counter() - started), "traceback": traceback.format_exc()}
    return {**row, "worker": _worker()}


_PIPELINES: dict[tuple, object] = {}
_LOAD_SECONDS: dict[tuple, float] = {}


def _pipeline(generator: str, fps: float, voice: str):
    """This process's pipeline for a generator, loaded on first use (models, voice and portraits stay loaded)."""
    key = (generator, fps, voice)
    if key not in _PIPELINES:
        started = time.perf_counter()
        from avatar.pipeline import AvatarPipeline

        _PIPELINES[key] = AvatarPipeline(generator, fps=fps, voice=voice)
        _LOAD_SECONDS[key] = time.perf_counter() - started  # the imports of a fresh worker count too
    return _PIPELINES[key]


def _worker() -> dict:
    """The process that ran a job: host, pid, seconds it spent loading pipelines, its peak memory so far."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "load_seconds": round(sum(_LOAD_SECONDS.values()), 2), "peak_memory_mb": round(peak_kib / 1024)}


def _limit_threads(threads: int) -> None:
    """One worker, `threads` threads: the workers share the cores instead of each taking all of them."""
    for name in THREAD_VARIABLES:
        if name == "NUMBA_NUM_THREADS" and "numba" in sys.modules:
            continue  # numba re-reads it and refuses a new count once its threads run: set_num_threads below
        os.environ[name] = str(threads)  # read when torch, numba and BLAS load, which is later in a fresh worker
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "numba" in sys.modules:
        with contextlib.suppress(ValueError):
            sys.modules["numba"].set_num_threads(threads)


def _run_processes(jobs: list[Job], out: Path, fps: float, voice: str, workers: int, finished) -> None:
    """The jobs on a pool of spawned worker processes, each loading the pipeline once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: a forked copy of a process that already runs torch or onnxruntime threads can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                             initargs=(1,)) as pool:
        futures = {pool.submit(render_job, job, str(out), fps, voice): job for job in jobs}
        try:
            for future in as_completed(futures):
                try:
                    finished(future.result())
                except BrokenProcessPool as error:  # a worker was killed (out of memory, a signal)
                    finished(_record(futures[future], "failed", _one_line(
                        f"BrokenProcessPool: a worker process died while this job ran or waited ({error}); "
                        "try fewer --workers")))
        except BaseException:  # Ctrl-C: stop the workers now, not after the jobs they hold (half-written
            # folders are removed by the next run)
            for future in futures:
                future.cancel()
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _worker_start(threads: int) -> None:
    """A pool worker's set-up: few threads, and Ctrl-C left to the parent (it stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads(threads)


def _record(job: Job, status: str, error: str | None, seconds: float = 0.0, files: list[str] | None = None,
            verification: str | None = None) -> dict:
    """One job's summary row."""
    return {"id": job.id, "line": job.line, "status": status, "error": error, "seconds": round(seconds, 2),
            "files": files or [], "verification": verification}


def _skipped(job: Job, render_json: Path) -> dict:
    """The summary row of a job an earlier run finished, with the files its render.json lists."""
    try:
        done = json.loads(render_json.read_text(encoding="utf-8"))
        files, verification = list(done.get("files", [])), done.get("verification")
    except (OSError, ValueError):  # readable or not, the folder was renamed into place complete
        files, verification = [], None
    return _record(job, "skipped", None, 0.0, files, verification)


def _one_line(text: str) -> str:
    """An error as one readable line."""
    return " ".join(text.split())


def _counts(results) -> dict[str, int]:
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


def _counts_text(results, running: int = 0) -> str:
    counts = {**_counts(results), "running": running}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def _progress_bar(total: int, done: int, show: bool):
    from tqdm import tqdm

    # disable=None: a bar on a terminal, nothing in logs and pipes.
    return tqdm(total=total, initial=done, unit="job", desc="batch", disable=None if show else True,
                dynamic_ncols=True)


def _summary(manifest, out: Path, backend: str | None, jobs: list[Job], results: dict, seconds: float) -> dict:
    """The run's summary: where, how, the counts and one row per job in manifest order."""
    rows = [results[job.id] for job in jobs]
    return {"manifest": str(Path(manifest).resolve()), "outdir": str(out), "backend": backend,
            "seconds": round(seconds, 2), "counts": _counts(rows), "jobs": rows}


def _write_summary(out: Path, summary: dict) -> None:
    """summary.json (everything) and summary.csv (one line per job), each written atomically."""
    from rigs.fileio import write_text_atomic

    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["id", "status", "error", "seconds", "files", "line", "verification"])
    for row in summary["jobs"]:
        writer.writerow([row["id"], row["status"], row["error"] or "", row["seconds"], " ".join(row["files"]),
                         row["line"], row["verification"] or ""])
    write_text_atomic(out / "summary.csv", table.getvalue())

"""Batch jobs on Ray: joining a cluster, a pool of workers that load the pipeline once, lost workers, shipped files.

Joining (`connect`). `--ray` alone starts a local Ray; `--ray ADDRESS` joins a running cluster: host:port (the
address `ray start --head` prints), auto (RAY_ADDRESS, else the cluster `ray start` last started on this machine)
or ray://host:10001 (Ray Client). Ray 2.60's `ray start --head` turns token authentication on when a token exists
(~/.ray/auth_token, which any local `ray.init()` creates), and a driver that joins by address must then run in token
mode, which Ray switches on by itself only for auto. But a driver in token mode turns away the calls that a cluster
without authentication makes back to it (its actors never start). So when RAY_AUTH_MODE is unset and a token is
found (RAY_AUTH_TOKEN, the file RAY_AUTH_TOKEN_PATH names, or ~/.ray/auth_token), the cluster's control store is
asked first without the token and then with it, and this process takes the mode that works. That probe (after a
TCP connection, and followed by a check of the cluster's Ray and Python versions) makes a wrong address, token or
version fail within seconds, in one line that says which and how to fix it; Ray's own retries and gRPC warnings
during the connection are kept off the terminal. A Ray Client address cannot be probed that way: with a token,
token mode is used (the client server accepts it with or without authentication).

Workers (`run_jobs`). One Ray actor per worker (one CPU each: the local Ray's CPUs, or the cluster's unless
--workers says how many), each a process that loads the pipeline on its first job and keeps it. Jobs go to the free
actors one at a time, so a slow job holds up nobody. When an actor's process dies mid-job (killed, out of memory, its
node lost), the job goes back to the front of the queue and runs on another actor, at most MAX_ATTEMPTS times in
all, and a fresh actor takes the lost one's place; the job's summary row says how many attempts it took and what
was lost. A job's folder is written beside its final place and renamed when complete (avatar/outputs.py), so a
killed attempt leaves only a hidden partial folder, removed at the end of the run.

Shipping (`ship_limit_mb`). Without a shared file system the actors cannot read the manifest's files nor write the
output folder: with --ship-files the job's input files travel with it, the actor renders into a scratch folder of
its own and sends the finished files back, and this process writes them (atomically) into the output folder. Each
way is capped at ship_limit_mb per job; a job over it fails with the sizes and the fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from avatar.batch import PATH_COLUMNS, Job, _one_line, _record, render_job
from avatar.errors import InputError

MAX_ATTEMPTS = 3  # a job whose worker is lost runs again elsewhere, twice at most
SHIP_LIMIT_MB = 200.0  # default cap on a job's shipped inputs, and on its returned outputs
CLIENT_ATTEMPTS = 3  # Ray Client sessions whose server process the head failed to start are tried again
CLIENT_SERVER_LOST = "Starting Ray client server failed"
PROBE_SECONDS = 5.0  # how long a cluster address has to answer a TCP connection
GCS_PORT, CLIENT_PORT = 6379, 10001  # Ray's defaults for `ray start --head` and for Ray Client
RAY_INSTALL = "pip install ray==2.60.0 (or `make setup`, which installs the pinned requirements.lock)"
TOKEN_FIX = (
    "set RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` on the head node prints it) or copy "
    "the head node's ~/.ray/auth_token to this machine"
)


@dataclass
class Connection:
    """A Ray this run can use: the module, whether this run connected (and so disconnects), and the pool size."""

    ray: object
    owned: bool
    backend: str
    workers: int


def connect(option: bool | str, workers: int | None):
    """A function that starts or joins Ray; a missing Ray fails now, with the fix, before any work."""
    try:
        import ray
    except ImportError as error:
        raise InputError(
            f"--ray needs Ray, which is not importable here ({error}); install it: {RAY_INSTALL}"
        ) from None
    address = None if option is True or option == "local" else str(option).strip()

    def start_or_join() -> Connection:
        if ray.is_initialized():  # the caller's own ray.init: use it, and leave it running
            return Connection(ray, False, "Ray (initialized by the caller)", workers or _cpus(ray))
        if address is None:
            # A fresh local Ray even when RAY_ADDRESS names a cluster: the user asked for a local one.
            with _quiet_stderr() as log:
                try:
                    ray.init(
                        address="local",
                        num_cpus=workers,
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level=logging.WARNING,
                    )
                except Exception:
                    _replay(log)
                    raise
            cpus = workers or _cpus(ray)
            return Connection(ray, True, f"local Ray ({cpus} CPU{'s' * (cpus != 1)})", cpus)
        found = _join(ray, address)
        size = workers or _cpus(ray)
        where = f"{found}, " if address.lower() == "auto" and found else ""
        return Connection(ray, True, f"Ray cluster at {address} ({where}{size} worker{'s' * (size != 1)})", size)

    return start_or_join


def _cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _join(ray, address: str) -> str | None:
    """ray.init(address) after checking the address, the token and the versions; InputError says what is wrong.

    Returns the address auto stood for, where it could be told."""
    token, where = find_token()
    choose_mode = os.environ.get("RAY_AUTH_MODE") is None and token is not None  # a mode set by the user wins
    client = address.lower().startswith("ray://")
    if client and choose_mode:
        _auth_mode("token")  # a Ray Client server cannot be asked first; in token mode it takes either kind
    target = address if address.lower() != "auto" else os.environ.get("RAY_ADDRESS") or _last_started(ray)
    if target:
        host, port = _host_port(target, address)
        _probe(host, port, address, client)
        if not client:
            _check_cluster(f"{host}:{port}", address, where, choose_mode)
    attempt = 1
    while True:
        with _quiet_stderr() as log:
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
                return target
            except Exception as error:
                said = log.read_text(errors="replace") + str(error)
        # A busy head's client server sometimes loses the process it starts for a session (its log says
        # "SpecificServer startup failed"); a new session gets a new process, so that failure is tried again.
        if not (client and CLIENT_SERVER_LOST in said) or attempt == CLIENT_ATTEMPTS:
            raise InputError(_join_failure(address, said, where, client))
        attempt += 1
        print(f"Ray Client at {address}: the head did not start a session for this run; trying again", file=sys.stderr)


def find_token() -> tuple[str | None, str]:
    """The Ray authentication token this machine has, and where it came from (as Ray looks for it)."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip(), "RAY_AUTH_TOKEN"
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    path = Path(named).expanduser() if named else Path.home() / ".ray" / "auth_token"
    where = f"RAY_AUTH_TOKEN_PATH ({path})" if named else str(path)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None, where
    return token or None, where


def _auth_mode(mode: str) -> None:
    """Run this process's Ray with token authentication ("token") or without ("disabled")."""
    from ray._raylet import Config

    os.environ["RAY_AUTH_MODE"] = mode
    Config.initialize("")  # Ray reads its settings once: read them again with the mode set


def _last_started(ray) -> str | None:
    """The address `ray start` on this machine last wrote, as `ray.init("auto")` finds it."""
    with contextlib.suppress(Exception):
        return ray._private.utils.read_ray_address(None)
    return None


def _host_port(target: str, address: str) -> tuple[str, int]:
    """host and port of an address (its default port when it has none)."""
    client = target.lower().startswith("ray://")
    rest = target[len("ray://") :] if client else target
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    try:
        number = int(port) if port else (CLIENT_PORT if client else GCS_PORT)
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise InputError(
            f"Ray address '{address}' is not host:port, auto or ray://host:port; give the address "
            "`ray start --head` printed, e.g. 10.0.0.5:6379 or ray://10.0.0.5:10001"
        )
    return host.strip("[]"), number


def _probe(host: str, port: int, address: str, client: bool) -> None:
    """A TCP connection to host:port, or an InputError saying nothing answers there."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            return
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
    what = (
        f"the Ray Client server (`ray start --head` opens it on port {CLIENT_PORT})"
        if client
        else "a Ray head node (`ray start --head` prints its address)"
    )
    raise InputError(
        f"Ray address '{address}': nothing answers at {host}:{port} ({reason.lower()}); give the "
        f"address of {what}, check that the cluster is running and that the port is open from here"
    )


def _check_cluster(gcs: str, address: str, where: str, choose_mode: bool) -> None:
    """Ask the cluster's control store for its versions: a wrong token or a version mismatch fails here.

    With choose_mode, this process uses token authentication only if the cluster wants it: a driver in token mode
    turns away the calls a cluster without authentication makes back to it (its actors then never start)."""
    from ray._common.usage.usage_lib import get_cluster_metadata
    from ray._raylet import GcsClient
    from ray.exceptions import AuthenticationError

    with _quiet_stderr():
        try:
            if choose_mode:
                _auth_mode("disabled")
                try:
                    metadata = get_cluster_metadata(GcsClient(address=gcs))
                except AuthenticationError:
                    _auth_mode("token")
                    metadata = get_cluster_metadata(GcsClient(address=gcs))
            else:
                metadata = get_cluster_metadata(GcsClient(address=gcs))
        except AuthenticationError:
            raise InputError(_token_problem(address, where)) from None
        except Exception:  # anything else: ray.init below tries, and says what it finds
            return
    problem = version_mismatch(metadata or {})
    if problem:
        raise InputError(f"Ray cluster at '{address}': {problem}")


def version_mismatch(metadata: dict) -> str | None:
    """What differs between the cluster's Ray and Python and this process's (Ray wants both the same), or None."""
    import ray

    ours = (ray.__version__, ".".join(map(str, sys.version_info[:3])))
    theirs = (metadata.get("ray_version"), metadata.get("python_version"))
    if None in theirs or theirs == ours:
        return None
    return (
        f"it runs Ray {theirs[0]} on Python {theirs[1]}, this machine Ray {ours[0]} on Python {ours[1]}; Ray "
        "needs the same versions on every machine: install this engine with `make setup` (ray==2.60.0) on "
        "each node with the same Python, or run this command on the head node"
    )


def _token_problem(address: str, where: str) -> str:
    token, _ = find_token()
    if token is None:
        return (
            f"Ray cluster at '{address}' wants an authentication token and none was found here "
            f"(RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token); {TOKEN_FIX}"
        )
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return (
            f"Ray cluster at '{address}' wants an authentication token, but RAY_AUTH_MODE=disabled here; "
            "unset RAY_AUTH_MODE (or set it to token)"
        )
    return f"Ray cluster at '{address}' refused the token from {where}; {TOKEN_FIX}"


def _join_failure(address: str, said: str, where: str, client: bool) -> str:
    """One line for a failed ray.init, from what Ray said."""
    if "InvalidAuthToken" in said or "Authentication" in said:
        return _token_problem(address, where)
    if "ersion mismatch" in said or "versions differ" in said or "version mismatch" in said:
        return (
            f"Ray cluster at '{address}': Ray or Python differs between the cluster and this machine; install "
            "this engine with `make setup` (ray==2.60.0) on every node with the same Python"
        )
    last = [line for line in said.splitlines() if line.strip()][-1:] or ["no reason given"]
    if client:
        return (
            f"could not join the Ray cluster at '{address}' through Ray Client (its server answered but no "
            f"session started: {_one_line(last[0])[:200]}); check that the head runs Ray 2.60.0 with "
            f"ray[client], and if it uses token authentication, {TOKEN_FIX}"
        )
    return (
        f"could not join the Ray cluster at '{address}' ({_one_line(last[0])[:200]}); start one with `ray "
        "start --head` and give the address it prints (host:6379, ray://host:10001 or auto), or give --ray "
        "alone to start a local Ray"
    )


@contextlib.contextmanager
def _quiet_stderr():
    """Send what this process writes to stderr (Ray's C++ and gRPC logs included) to a file for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "stderr.txt"
        with open(log, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield log
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)


def _replay(log: Path) -> None:
    sys.stderr.write(log.read_text(errors="replace"))


class RenderWorker:
    """A Ray actor: one process that runs jobs one by one, loading each pipeline on first use."""

    def ready(self) -> dict:
        """Where this worker runs (for the summary when it is lost)."""
        return {"host": socket.gethostname(), "pid": os.getpid()}

    def render(
        self, job: Job, outdir: str | None, fps: float, voice: str, shipped: dict | None, ship_limit_mb: float
    ) -> dict:
        """render_job on this worker; with shipped inputs, in a scratch folder whose files go back in the result."""
        if outdir is not None:
            return render_job(job, outdir, fps, voice, threads=1)
        with tempfile.TemporaryDirectory(prefix="avatar-job-") as scratch:
            job, originals = _unpack_inputs(job, shipped or {}, Path(scratch) / "inputs")
            result = render_job(job, str(Path(scratch) / "out"), fps, voice, threads=1)
            if result["status"] != "ok":
                return result
            folder = Path(scratch) / "out" / job.id
            _restore_input_paths(folder / "render.json", originals)
            files = {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}
            size = sum(map(len, files.values())) / 1e6
            if size > ship_limit_mb:
                return {
                    **result,
                    "status": "failed",
                    "files": [],
                    "error": (
                        f"its outputs are {size:.1f} MB, over the {ship_limit_mb:g} MB --ship-files sends back; ask "
                        "for fewer outputs (the videos are the largest), raise --ship-limit, or write to a folder "
                        "every node shares and run without --ship-files"
                    ),
                }
            return {**result, "shipped_files": files}


def _unpack_inputs(job: Job, shipped: dict[str, bytes], folder: Path) -> tuple[Job, dict[str, str]]:
    """The job with its input paths pointing at the shipped copies in folder, and those copies' original paths."""
    folder.mkdir(parents=True)
    request, originals = dict(job.request), {}
    for index, name in enumerate(PATH_COLUMNS):
        original = request.get(name)
        if original is not None and original in shipped:
            copy = folder / f"{index}-{Path(original).name}"
            copy.write_bytes(shipped[original])
            request[name], originals[str(copy)] = str(copy), original
    return replace(job, request=request), originals


def _restore_input_paths(render_json: Path, originals: dict[str, str]) -> None:
    """render.json names the inputs as the manifest gave them, not the worker's scratch copies."""
    import json

    summary = json.loads(render_json.read_text(encoding="utf-8"))
    summary["inputs"] = {
        key: originals.get(value, value) if isinstance(value, str) else value
        for key, value in summary.get("inputs", {}).items()
    }
    render_json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


def pack_inputs(job: Job, limit_mb: float) -> dict[str, bytes]:
    """The job's input files as {path: bytes}, or an InputError when they are over the limit or unreadable."""
    files = {}
    for name in PATH_COLUMNS:
        path = job.request.get(name)
        if path is not None and path not in files:
            try:
                files[path] = Path(path).read_bytes()
            except OSError as error:
                raise InputError(
                    f"{name} '{path}' could not be read to ship it ({error.strerror}); check the path in the manifest"
                ) from None
    size = sum(map(len, files.values())) / 1e6
    if size > limit_mb:
        raise InputError(
            f"its input files are {size:.1f} MB, over the {limit_mb:g} MB --ship-files sends; raise "
            "--ship-limit, or put them on a file system every node shares and run without "
            "--ship-files"
        )
    return files


def _write_shipped(out: Path, job_id: str, files: dict[str, bytes]) -> None:
    """A shipped job's files into out/<id>/, written whole (beside it, then renamed)."""
    from avatar.outputs import folder_written_whole

    with folder_written_whole(out / job_id) as folder:
        for name, data in files.items():
            (folder / Path(name).name).write_bytes(data)


LOST = (
    "RayActorError",
    "WorkerCrashedError",
    "NodeDiedError",
    "OutOfMemoryError",
    "ObjectLostError",
    "LocalRayletDiedError",
)


def _lost_worker(error: BaseException) -> bool:
    """Whether an error from ray.get means the worker (process or node) was lost, not that the job failed."""
    return any(kind.__name__ in LOST for kind in type(error).__mro__)


def run_jobs(
    connection: Connection,
    jobs: list[Job],
    out: Path,
    fps: float,
    voice: str,
    finished,
    running,
    ship_limit_mb: float | None = None,
) -> None:
    """The jobs on a pool of RenderWorker actors; finished(row) for each job, running(n) as the number changes."""
    ray = connection.ray
    actor_class = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(RenderWorker)
    waiting, attempts, lost = deque(jobs), dict.fromkeys((job.id for job in jobs), 0), {job.id: [] for job in jobs}
    starting, idle, busy, where = {}, [], {}, {}

    def start_worker() -> None:
        actor = actor_class.remote()
        starting[actor.ready.remote()] = actor

    for _ in range(min(connection.workers, len(jobs))):
        start_worker()
    try:
        while waiting or busy:
            while idle and waiting:
                job, actor = waiting.popleft(), idle.pop()
                shipped = None
                if ship_limit_mb is not None:
                    try:
                        shipped = pack_inputs(job, ship_limit_mb)
                    except InputError as error:
                        idle.append(actor)
                        finished(_record(job, "failed", str(error)))
                        continue
                attempts[job.id] += 1
                outdir = None if ship_limit_mb is not None else str(out)
                busy[actor.render.remote(job, outdir, fps, voice, shipped, ship_limit_mb or 0.0)] = (job, actor)
            running(len(busy))
            if not busy and not waiting:
                break
            if not busy and not starting:  # every worker failed to start: nothing will take the waiting jobs
                for job in waiting:
                    finished(_record(job, "failed", "no Ray worker could start (see the errors above)"))
                break
            ref = ray.wait([*starting, *busy], num_returns=1)[0][0]
            if ref in starting:
                actor = starting.pop(ref)
                try:
                    where[actor] = ray.get(ref)
                    idle.append(actor)
                except Exception as error:  # the worker could not start; the others go on
                    print(f"a Ray worker could not start: {_one_line(str(error))[:300]}", file=sys.stderr)
                continue
            job, actor = busy.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as error:
                if not _lost_worker(error):  # our code failed inside Ray: the job fails, the worker goes on
                    idle.append(actor)
                    finished(_record(job, "failed", _one_line(f"{type(error).__name__}: {error}")[:500]))
                    continue
                info = where.pop(actor, {})
                lost[job.id].append(
                    f"attempt {attempts[job.id]}: worker process {info.get('pid', '?')} on "
                    f"{info.get('host', '?')} was lost ({type(error).__name__})"
                )
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                start_worker()
                if attempts[job.id] < MAX_ATTEMPTS:
                    waiting.appendleft(job)
                else:
                    finished(
                        {
                            **_record(
                                job,
                                "failed",
                                f"its worker was lost {MAX_ATTEMPTS} times (last: "
                                f"{type(error).__name__}); see lost_workers in summary.json",
                            ),
                            "attempts": attempts[job.id],
                            "lost_workers": lost[job.id],
                        }
                    )
                continue
            idle.append(actor)
            files = result.pop("shipped_files", None)
            if files is not None:
                try:
                    _write_shipped(out, job.id, files)
                except OSError as error:
                    result = {
                        **result,
                        "status": "failed",
                        "files": [],
                        "error": f"the shipped files could not be written into '{out / job.id}' ({error})",
                    }
            finished({**result, "attempts": attempts[job.id], "lost_workers": lost[job.id]})
    finally:
        running(0)
        for actor in [*starting.values(), *idle, *(actor for _, actor in busy.values())]:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        if connection.owned:
            ray.shutdown()
        from avatar.outputs import remove_stale_partials

        remove_stale_partials(out)  # what lost workers left half-written (their processes are gone)

"""`avatar batch --ray ADDRESS` against a real Ray head started here with `ray start --head` (token authentication on,
as Ray 2.60 sets it up), joined as a user would: by 127.0.0.1:PORT, by the node address `ray start` prints, by auto
and by ray://; a worker process killed mid-job; files shipped; and what a wrong address, token or version says.

Each head is `ray start --head --block` in its own temporary folder with 2 CPUs and a small object store, stopped
by signalling that process (avatar/evaluation/ray_head.py, which bench/batch_scale.py uses too). Deselect with
-m "not ray_cluster".
"""

from __future__ import annotations

import csv
import filecmp
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from avatar.batch import read_manifest, run_batch
from avatar.batch_ray import RenderWorker, version_mismatch
from avatar.evaluation.ray_head import command_line, descendants, free_port, start_head, stop_head
from avatar.frontend.audio import save_wav

pytestmark = pytest.mark.ray_cluster

BIN = Path(sys.executable).parent
SHORT = "Good morning to you."  # about 1.5 s of speech
FAST = {"generator": "procedural", "verify": "false"}  # the runs that test joining, not the models, stay quick
COMPARED = ("face.csv", "face.json", "body.bvh")  # render.json differs in its timings


@pytest.fixture(scope="module")
def head():
    """A head node with token authentication, in a short temporary folder (Ray's socket paths are length-limited)."""
    folder = Path(tempfile.mkdtemp(prefix="rayt", dir="/tmp"))
    node = start_head(folder, secrets.token_hex(16))
    try:
        yield node
    finally:
        stop_head(node.process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with a short speech file; manifests written into it use relative paths."""
    from avatar.frontend.tts import get_voice

    folder = tmp_path_factory.mktemp("cluster-inputs")
    save_wav(get_voice().synthesize(SHORT, seed=0), folder / "speech.wav")
    return folder


def manifest(folder: Path, name: str, rows: list[dict]) -> Path:
    header = sorted({column for row in rows for column in row}, key=lambda c: (c != "id", c))
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def rows(count: int, **cells) -> list[dict]:
    emotions = ("happiness", "anger", "sadness", "fear")
    return [
        {
            "id": f"job{k}",
            "audio": "speech.wav",
            "transcript": SHORT,
            "emotion": emotions[k % 4],
            "seed": str(k),
            **cells,
        }
        for k in range(count)
    ]


def environment(**changes) -> dict[str, str]:
    """This process's environment without Ray's variables, with `changes` (None removes a name)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env.update({key: value for key, value in changes.items() if value is not None})
    return env


def batch(path: Path, out: Path, *options: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "avatar"), "batch", str(path), "-o", str(out), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary_of(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def same_files(a: Path, b: Path, job_ids) -> bool:
    return all(filecmp.cmp(a / job / name, b / job / name, shallow=False) for job in job_ids for name in COMPARED)


@pytest.fixture(scope="module")
def fast_jobs(inputs, tmp_path_factory):
    """A 4-job manifest of quick jobs and the files a run in this process makes of it (the reference)."""
    path = manifest(inputs, "fast.csv", rows(4, **FAST))
    here = tmp_path_factory.mktemp("here") / "out"
    assert run_batch(path, here, progress=False)["counts"]["ok"] == 4
    return path, here


def test_join_by_address_with_the_token_each_worker_loads_the_models_once(head, inputs, tmp_path):
    path = manifest(inputs, "defaults.csv", rows(4))  # the default generator, verification and outputs
    out = tmp_path / "out"
    done = batch(path, out, "--ray", f"127.0.0.1:{head.port}", env=environment(RAY_AUTH_TOKEN=head.token))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = summary_of(out)
    assert summary["counts"] == {"ok": 4, "failed": 0, "skipped": 0}
    assert summary["backend"] == f"Ray cluster at 127.0.0.1:{head.port} (2 workers)"
    assert "InvalidAuthToken" not in done.stderr
    workers: dict[int, set] = {}
    for job in summary["jobs"]:
        assert job["attempts"] == 1 and job["lost_workers"] == []
        assert (out / job["id"] / "face.csv").is_file() and (out / job["id"] / "body.bvh").is_file()
        assert json.loads((out / job["id"] / "render.json").read_text())["generator"] == "learned"
        workers.setdefault(job["worker"]["pid"], set()).add(job["worker"]["load_seconds"])
    assert 1 <= len(workers) <= 2 and all(pid != os.getpid() for pid in workers)
    # Loaded once per worker: the seconds a worker spent loading pipelines did not grow from one job to the next.
    assert all(len(seconds) == 1 and min(seconds) > 0 for seconds in workers.values())


def test_join_by_the_node_address_with_the_token_file_kill_the_driver_and_resume_with_auto(head, fast_jobs, tmp_path):
    path, here = fast_jobs
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(head.token)  # where `ray start` keeps it; RAY_AUTH_TOKEN unset
    out = tmp_path / "out"
    driver = subprocess.Popen(
        [str(BIN / "avatar"), "batch", str(path), "-o", str(out), "--ray", head.node_address],
        env=environment(HOME=str(home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("*/render.json")) and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        driver.kill()  # the driver dies after its first finished job: its workers go with it
        stderr = driver.communicate(timeout=60)[1].decode()
    finally:
        if driver.poll() is None:
            driver.kill()
    deadline = time.monotonic() + 60  # Ray stops the workers of a dead driver; wait for that before looking
    while any(command_line(pid).startswith("ray::RenderWorker") for pid in descendants(head.process.pid)):
        assert time.monotonic() < deadline, "the dead driver's workers are still running"
        time.sleep(0.1)
    finished = {p.parent.name for p in out.glob("*/render.json")}
    assert finished, f"no job finished before the driver was killed:\n{stderr}"

    again = batch(
        path, out, "--ray", "auto", env=environment(RAY_ADDRESS=f"127.0.0.1:{head.port}", RAY_AUTH_TOKEN=head.token)
    )
    assert again.returncode == 0, again.stdout + again.stderr
    summary = summary_of(out)
    assert summary["backend"] == f"Ray cluster at auto (127.0.0.1:{head.port}, 2 workers)"
    assert {job["id"] for job in summary["jobs"] if job["status"] == "skipped"} == finished
    assert summary["counts"] == {"ok": 4 - len(finished), "failed": 0, "skipped": len(finished)}
    assert same_files(out, here, ["job0", "job1", "job2", "job3"])
    assert sorted(p.name for p in out.iterdir()) == ["job0", "job1", "job2", "job3", "summary.csv", "summary.json"]


def test_a_worker_killed_mid_job_is_replaced_and_its_job_retried(head, fast_jobs, tmp_path):
    path, here = fast_jobs
    out = tmp_path / "out"
    run = subprocess.Popen(
        [str(BIN / "avatar"), "batch", str(path), "-o", str(out), "--ray", f"127.0.0.1:{head.port}"],
        env=environment(RAY_AUTH_TOKEN=head.token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    try:
        deadline = time.monotonic() + 240
        while killed is None and run.poll() is None and time.monotonic() < deadline:
            # Ray names a worker's process after what it runs: RenderWorker.render is a job in progress.
            busy = [
                pid for pid in descendants(head.process.pid) if command_line(pid).startswith("ray::RenderWorker.render")
            ]
            if busy:
                killed = busy[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        stdout, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert killed is not None, "no worker was caught running a job"
    assert run.returncode == 0, stdout + stderr
    summary = summary_of(out)
    assert summary["counts"] == {"ok": 4, "failed": 0, "skipped": 0}
    retried = [job for job in summary["jobs"] if job["attempts"] > 1]
    assert len(retried) == 1 and retried[0]["attempts"] == 2
    assert retried[0]["lost_workers"][0].startswith(f"attempt 1: worker process {killed} on ")
    assert retried[0]["worker"]["pid"] != killed
    assert f"retried {retried[0]['id']} (line" in stderr
    assert same_files(out, here, ["job0", "job1", "job2", "job3"])
    assert sorted(p.name for p in out.iterdir()) == ["job0", "job1", "job2", "job3", "summary.csv", "summary.json"]


def test_ship_files_over_ray_client_sends_the_inputs_and_brings_the_files_back(head, fast_jobs, tmp_path):
    path, here = fast_jobs
    out = tmp_path / "out"
    env = environment(RAY_AUTH_TOKEN=head.token)
    done = batch(path, out, "--ray", f"ray://127.0.0.1:{head.client_port}", "--ship-files", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = summary_of(out)
    assert summary["counts"]["ok"] == 4 and summary["backend"].endswith("files shipped")
    assert same_files(out, here, ["job0", "job1", "job2", "job3"])
    # render.json names the manifest's file, not the worker's scratch copy
    audio = json.loads((out / "job0" / "render.json").read_text())["inputs"]["audio"]
    assert audio == str(path.parent / "speech.wav")

    small = batch(
        path, tmp_path / "small", "--ray", f"127.0.0.1:{head.port}", "--ship-files", "--ship-limit", "0.01", env=env
    )
    assert small.returncode == 1
    errors = {job["error"] for job in summary_of(tmp_path / "small")["jobs"]}
    assert len(errors) == 1 and re.fullmatch(
        r"its input files are 0\.\d MB, over the 0\.01 MB --ship-files sends; "
        r"raise --ship-limit, .*",
        errors.pop(),
    )


def test_render_worker_returns_shipped_outputs_within_the_limit(inputs, fast_jobs, tmp_path):
    job = read_manifest(fast_jobs[0])[0]
    speech = str(inputs / "speech.wav")
    shipped = {speech: (inputs / "speech.wav").read_bytes()}
    result = RenderWorker().render(job, None, 30.0, "joe", shipped, 200.0)
    assert result["status"] == "ok" and set(result["shipped_files"]) == set(result["files"])
    assert result["shipped_files"]["face.csv"] == (fast_jobs[1] / "job0" / "face.csv").read_bytes()
    tight = RenderWorker().render(job, None, 30.0, "joe", shipped, 0.05)
    assert tight["status"] == "failed" and "shipped_files" not in tight
    assert re.match(r"its outputs are \d+\.\d MB, over the 0\.05 MB --ship-files sends back; ", tight["error"])


@pytest.mark.parametrize(
    "case", ["no token", "wrong token", "auth disabled here", "nothing there", "ray:// nothing", "no port"]
)
def test_join_failures_say_what_is_wrong_in_one_line(head, fast_jobs, tmp_path, case):
    home = tmp_path / "home"  # no ~/.ray/auth_token
    home.mkdir()
    address = {
        "nothing there": f"127.0.0.1:{free_port()}",
        "ray:// nothing": f"ray://127.0.0.1:{free_port()}",
        "no port": "127.0.0.1:head",
    }.get(case, f"127.0.0.1:{head.port}")
    env = environment(
        HOME=str(home),
        RAY_AUTH_TOKEN={"wrong token": "0" * 32, "auth disabled here": head.token}.get(case),
        RAY_AUTH_MODE="disabled" if case == "auth disabled here" else None,
    )
    done = batch(fast_jobs[0], tmp_path / "out", "--ray", address, env=env)
    expected = {
        "no token": f"Ray cluster at '{address}' wants an authentication token and none was found here",
        "wrong token": f"Ray cluster at '{address}' refused the token from RAY_AUTH_TOKEN; set RAY_AUTH_TOKEN",
        "auth disabled here": "but RAY_AUTH_MODE=disabled here; unset RAY_AUTH_MODE",
        "nothing there": f"Ray address '{address}': nothing answers at {address} (connection refused)",
        "ray:// nothing": f"nothing answers at {address[6:]} (connection refused); give the address of the Ray "
        "Client server",
        "no port": "Ray address '127.0.0.1:head' is not host:port, auto or ray://host:port; give the address",
    }[case]
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout.strip(), done.stderr  # no Ray log lines
    assert not (tmp_path / "out").exists()  # nothing written before Ray is joined


def test_a_cluster_without_token_auth_is_joined_by_a_driver_that_has_a_token(fast_jobs, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="rayo", dir="/tmp"))
    try:
        node = start_head(folder, None)
        path, here = fast_jobs
        out = tmp_path / "out"
        done = batch(
            path,
            out,
            "--ray",
            f"127.0.0.1:{node.port}",
            "--workers",
            "1",
            env=environment(RAY_AUTH_TOKEN=secrets.token_hex(16)),
        )
        assert done.returncode == 0, done.stdout + done.stderr
        summary = summary_of(out)
        assert summary["counts"]["ok"] == 4 and summary["backend"].endswith("(1 worker)")
        assert len({job["worker"]["pid"] for job in summary["jobs"]}) == 1
        assert same_files(out, here, ["job0", "job1", "job2", "job3"])
    finally:
        if "node" in locals():
            stop_head(node.process)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_version_mismatch_names_both_versions_and_the_fix():
    import ray

    python = ".".join(map(str, sys.version_info[:3]))
    assert version_mismatch({"ray_version": ray.__version__, "python_version": python}) is None
    message = version_mismatch({"ray_version": "2.9.3", "python_version": "3.10.4"})
    assert message.startswith(
        f"it runs Ray 2.9.3 on Python 3.10.4, this machine Ray {ray.__version__} on Python "
        f"{python}; Ray needs the same versions on every machine"
    )


class FlakyClientRay:
    """Stands in for `ray` where a Ray Client head fails to start the session's server `failures` times."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def init(self, **_):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("Starting Ray client server failed. See ray_client_server_23000.err for detailed logs.")


@pytest.mark.parametrize("failures, joins", [(2, True), (3, False)])
def test_a_client_session_the_head_failed_to_start_is_tried_again(failures, joins, monkeypatch, capsys):
    from avatar.batch_ray import CLIENT_ATTEMPTS, _join
    from avatar.errors import InputError

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with socket.create_server(("127.0.0.1", 0)) as server:  # the client server's port answers
        address = f"ray://127.0.0.1:{server.getsockname()[1]}"
        ray = FlakyClientRay(failures)
        if joins:
            assert _join(ray, address) == address
        else:
            with pytest.raises(InputError, match="no session started: Starting Ray client server failed"):
                _join(ray, address)
    assert ray.calls == min(failures + 1, CLIENT_ATTEMPTS)
    assert capsys.readouterr().err.count("trying again") == min(failures, CLIENT_ATTEMPTS - 1)

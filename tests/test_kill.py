"""`avatar render` killed (SIGKILL) or interrupted (SIGINT) while it makes the motion, writes the files, the preview
and the video: the output folder is left as it was, and the same command run again leaves it complete and the same
as an uninterrupted run's. A short clip, the procedural generator and no verification keep each run to seconds.
Deselect with -m "not kill".

The save stages are seen on disk (the files appear in the hidden folder the render writes); the motion, which leaves
nothing on disk, is reached between the aligner's loading and the first saved file (Linux: /proc/PID/maps)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from avatar.frontend.audio import save_wav

pytestmark = pytest.mark.kill

SAID = "Good morning to you."
COMMAND = [
    "render",
    "speech.wav",
    "--transcript",
    SAID,
    "-o",
    "out",
    "--outputs",
    "face,body,preview,video",
    "--generator",
    "procedural",
    "--no-verify",
    "--seed",
    "4",
]


def analysing(pid: int) -> bool:
    """Whether the render `pid` has loaded the aligner (pocketsphinx), which it does once its checks are done."""
    try:
        return "pocketsphinx" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def partial_files(cwd: Path, pid: int, pattern: str) -> bool:
    """Whether a file matching `pattern` is in the hidden folder the render `pid` is still writing. Once the render
    swaps its folder in, the hidden name holds the earlier render (render.json and all) until it is deleted: a
    signal sent then comes after the work (on a busy machine the poll can miss the writing and see only that)."""
    return any(
        any(folder.glob(pattern)) and not (folder / "render.json").exists()
        for folder in cwd.glob(f".out.partial-{pid}-*")
    )


# Where to stop the render, given its folder, its pid and the seconds since it started: what it has begun to write.
POINTS = {
    "files": lambda cwd, pid, elapsed: partial_files(cwd, pid, "*face*"),
    "preview": lambda cwd, pid, elapsed: partial_files(cwd, pid, ".preview.*"),
    "video": lambda cwd, pid, elapsed: partial_files(cwd, pid, ".video.*"),
}


def as_from_a_terminal() -> None:
    """The child's Ctrl-C as a terminal gives it: delivered and not ignored, whatever the test process inherited or
    what an earlier test left in its signal mask (both survive fork and exec)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(cwd: Path, stop_at=None, sig=None, timeout: float = 180.0) -> tuple[int, str, bool]:
    """Run the render; send `sig` once `stop_at(cwd, pid, elapsed)` holds. Returns the exit status, its stderr and
    whether the signal was sent."""
    process = subprocess.Popen(
        [Path(sys.executable).with_name("avatar"), *COMMAND],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=as_from_a_terminal,
    )
    started, sent, written = time.monotonic(), False, set()
    try:
        while process.poll() is None and time.monotonic() - started < timeout:
            elapsed = time.monotonic() - started
            written.update(p.name for p in cwd.glob(f".out.partial-{process.pid}-*/*"))
            if not sent and stop_at is not None and stop_at(cwd, process.pid, elapsed):
                process.send_signal(sig)
                sent = True
            time.sleep(0.005)
        stderr = process.communicate(timeout=60)[1].decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
    run.written = (sorted(written), round(time.monotonic() - started, 2))  # what it was seen writing, for messages
    return process.returncode, stderr, sent


def contents(folder: Path) -> dict[str, object]:
    """Every file's bytes; render.json without its timings, the one part that differs between runs."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == "render.json":
            summary = json.loads(path.read_text())
            summary.pop("timings_s")
            files[path.name] = summary
        else:
            files[path.name] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    from avatar.frontend.tts import get_voice

    folder = tmp_path_factory.mktemp("kill")
    save_wav(get_voice().synthesize(SAID, seed=0), folder / "speech.wav")
    return folder


def test_killed_or_interrupted_renders_leave_the_folder_as_it_was_and_a_rerun_completes(workdir):
    status, printed, _ = run(workdir)  # the first run also fits the portrait (cached for the later ones)
    assert status == 0, printed
    uninterrupted = contents(workdir / "out")
    status, printed, _ = run(workdir)  # the same command over a complete folder: the same folder
    assert status == 0 and contents(workdir / "out") == uninterrupted, printed
    # The motion has nothing to show on disk: stop after the aligner has loaded and before saving begins (the
    # speech analysis, emotion, style and motion stages).
    points = {
        **POINTS,
        "motion": lambda cwd, pid, elapsed: analysing(pid) and not any(cwd.glob(f".out.partial-{pid}-*")),
    }
    assert set(uninterrupted) == {
        "face.csv",
        "face.json",
        "face.glb",
        "body.bvh",
        "body.glb",
        "preview.mp4",
        "video.mp4",
        "render.json",
    }

    # The folder holds the complete earlier render: every interrupted run must leave it exactly so.
    for point, sig in [
        ("motion", signal.SIGKILL),
        ("files", signal.SIGINT),
        ("preview", signal.SIGKILL),
        ("video", signal.SIGINT),
        ("motion", signal.SIGINT),
        ("files", signal.SIGKILL),
        ("preview", signal.SIGINT),
        ("video", signal.SIGKILL),
    ]:
        for _ in range(3):  # a busy machine can deliver the signal only after the render has finished: try again
            status, printed, sent = run(workdir, points[point], sig)
            if status != 0:
                break
            assert contents(workdir / "out") == uninterrupted, f"{point}: a finished render changed the folder"
        assert sent, f"the render ended (status {status}) before reaching {point}: {printed} {run.written}"
        assert status != 0, (f"the render finished before {sig.name} at {point} took effect, three times: {printed} "
                             f"{run.written}")
        if sig == signal.SIGINT:
            assert status == 130 and printed == (
                "error: interrupted (Ctrl-C); the outputs are as they were before the command\n"
            ), (point, status, printed)
            left = [str(p.relative_to(workdir)) for p in workdir.glob(".out.partial-*/**/*")]
            assert not list(workdir.glob(".out.partial-*")), (point, left)  # Ctrl-C cleans up after itself
        else:
            assert status == -signal.SIGKILL, (point, status, printed)
        assert contents(workdir / "out") == uninterrupted, f"{point} {sig.name} changed the folder"

    status, printed, _ = run(workdir)  # the same command again: complete, the same, and no hidden folder left
    assert status == 0 and contents(workdir / "out") == uninterrupted, printed

    # A fresh folder: killed while writing, it does not appear at all; the same command then completes it.
    fresh = workdir / "fresh"
    fresh.mkdir()
    (fresh / "speech.wav").write_bytes((workdir / "speech.wav").read_bytes())
    for _ in range(3):
        status, printed, sent = run(fresh, POINTS["video"], signal.SIGKILL)
        if status != 0:
            break
        shutil.rmtree(fresh / "out")  # finished before the kill landed (a busy machine): try again
    assert sent and status == -signal.SIGKILL and not (fresh / "out").exists()
    status, printed, _ = run(fresh)
    assert status == 0, printed
    assert contents(fresh / "out") == uninterrupted
    assert not list(fresh.glob(".out.partial-*")) and not list(workdir.glob(".out.partial-*"))

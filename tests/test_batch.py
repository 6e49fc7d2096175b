"""`avatar batch`: a manifest of jobs in this process, in worker processes and on a local Ray; resumable."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avatar.batch import COLUMNS, read_manifest, run_batch
from avatar.cli import app
from avatar.errors import InputError
from avatar.frontend.audio import save_wav
from avatar.verification import MAX_ATTEMPTS

SHORT = "Good morning to you."  # about 1.5 s of speech: the jobs stay quick
HEADER = ["id", "audio", "text", "emotion", "intensity", "portrait", "seed", "outputs", "transcript", "verify"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with a short speech file and a corrupt one; manifests written into it use relative paths."""
    from avatar.frontend.tts import get_voice

    folder = tmp_path_factory.mktemp("batch-inputs")
    save_wav(get_voice().synthesize(SHORT, seed=0), folder / "speech.wav")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64))
    return folder


def manifest(folder, name: str, rows: list[dict], header=HEADER):
    """Write rows (dicts of the header's columns, missing ones empty) as a manifest CSV; returns its path."""
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return path


def audio_row(job_id: str, **cells) -> dict:
    return {"id": job_id, "audio": "speech.wav", "transcript": SHORT, "verify": "false", **cells}


def by_id(summary: dict) -> dict[str, dict]:
    return {job["id"]: job for job in summary["jobs"]}


def test_good_rows_finish_broken_ones_are_reported_and_a_rerun_resumes(tmp_path, inputs):
    rows = [
        {"id": "greet", "text": "Hello there.", "emotion": "happiness", "outputs": "face,body"},  # verified
        audio_row("speech", emotion="anger", intensity="0.6", seed="3"),
        audio_row("late", audio="arrives_later.wav"),
        {"id": "joy", "text": "Hi there.", "emotion": "joy"},
        audio_row("corrupt", audio="corrupt.wav"),
        {"id": "empty"},
        {"id": "loud", "text": "Hi there.", "intensity": "loud"},
    ]
    path = manifest(inputs, "mixed.csv", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(out)])
    assert result.exit_code == 1, result.output  # 1: some jobs failed
    assert "2 ok, 5 failed, 0 skipped" in result.output
    assert "failed joy (line 5): unknown emotion 'joy'" in result.output

    summary = json.loads((out / "summary.json").read_text())
    jobs = by_id(summary)
    assert summary["counts"] == {"ok": 2, "failed": 5, "skipped": 0} and summary["backend"] == "this process"
    assert [job["id"] for job in summary["jobs"]] == [row["id"] for row in rows]  # manifest order
    assert jobs["greet"]["status"] == jobs["speech"]["status"] == "ok"
    errors = {job_id: jobs[job_id]["error"] for job_id in ("late", "joy", "corrupt", "empty", "loud")}
    assert "arrives_later.wav' does not exist" in errors["late"]
    assert "unknown emotion 'joy'; choose one of" in errors["joy"]
    assert "corrupt.wav' could not be decoded" in errors["corrupt"]
    assert "give the speech once: audio (a file or Audio) or text, not both and not neither" in errors["empty"]
    assert errors["loud"] == "intensity is str 'loud'; give a number from 0 to 1, such as 0.8"
    assert all("\n" not in error for error in errors.values())
    # Only finished jobs have folders: nothing half-written, no folder for a failed job.
    assert {p.name for p in out.iterdir()} == {"greet", "speech", "summary.json", "summary.csv"}

    greet = json.loads((out / "greet" / "render.json").read_text())
    speech = json.loads((out / "speech" / "render.json").read_text())
    assert greet["verification"].startswith("emotion verified") and (out / "greet" / "report.json").is_file()
    assert speech["verification"] == "off" and not (out / "speech" / "report.json").exists()
    assert speech["emotion"] == {"label": "anger", "intensity": 0.6} and speech["seed"] == 3
    assert speech["inputs"]["audio"] == str(inputs / "speech.wav")  # relative to the manifest's folder
    assert set(jobs["speech"]["files"]) == {p.name for p in (out / "speech").iterdir()}
    table = list(csv.DictReader(open(out / "summary.csv", encoding="utf-8")))
    assert [(r["id"], r["status"], r["error"]) for r in table] == [
        (job["id"], job["status"], job["error"] or "") for job in summary["jobs"]]

    # Second run: the finished jobs are skipped untouched, the failed ones retried (one now has its file).
    done = {job_id: (out / job_id / "render.json").stat().st_mtime_ns for job_id in ("greet", "speech")}
    shutil.copy(inputs / "speech.wav", inputs / "arrives_later.wav")
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(out)])
    assert result.exit_code == 1, result.output
    again = json.loads((out / "summary.json").read_text())
    jobs = by_id(again)
    assert again["counts"] == {"ok": 1, "failed": 4, "skipped": 2}
    assert jobs["greet"]["status"] == jobs["speech"]["status"] == "skipped"
    assert jobs["speech"]["files"] == speech["files"]  # from the finished job's render.json
    assert {job_id: (out / job_id / "render.json").stat().st_mtime_ns for job_id in done} == done
    assert jobs["late"]["status"] == "ok" and (out / "late" / "render.json").is_file()
    assert jobs["joy"]["status"] == "failed"


@pytest.mark.parametrize("text, message", [
    ("id,txt\na,Hello\n", "unknown column 'txt'; did you mean 'text'?"),
    ("text,emotion\nHello,anger\n", "no 'id' column"),
    ("id,emotion\na,anger\n", "neither an 'audio' nor a 'text' column"),
    ("id,text,text\na,Hi,Hi\n", "column 'text' appears twice"),
    ("id,text\na,Hello\nb,Hi\na,Bye\n", "lines 2 and 4 have the same id 'a'"),
    ("id,text\nGreet,Hello\ngreet,Hi\n", "one folder where case is ignored"),
    ("id,text\n../escape,Hello\n", "line 2: id '../escape' is not a safe folder name"),
    ("id,text\nmy job,Hello\n", "e.g. 'my_job'"),
    ("id,text\nsummary.json,Hello\n", "not summary.json or summary.csv"),
    ("id,text\n,Hello\n", "line 2: the id is empty"),
    ("id,text\n", "has a header but no jobs"),
    ("", "is empty; its first line must name the columns"),
])
def test_manifest_errors_name_the_row_and_the_fix_before_any_work(tmp_path, text, message):
    path = tmp_path / "manifest.csv"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "manifest.csv" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_read_manifest_defaults_and_paths(inputs):
    path = inputs / "defaults.csv"
    path.write_text("ID,Audio,Text,Portrait\nplain,speech.wav,,\nwide,,\"Hi, there\",/abs/photo.jpg,extra\n"
                    ",,,\n", encoding="utf-8")  # the last row is all empty cells: a blank line, not a job
    plain, wide = read_manifest(path)
    assert plain.error is None and plain.line == 2 and plain.generator == "learned"
    assert plain.request == {"audio": str(inputs / "speech.wav"), "text": None, "transcript": None,
                             "emotion": "neutral", "intensity": 0.8, "vad": None, "emotion_keyframes": None,
                             "style_reference": None, "portrait": None, "seed": 0, "outputs": ("face", "body"),
                             "verify": True, "max_attempts": MAX_ATTEMPTS, "size": 512}
    assert wide.id == "wide" and "has 5 cells but the header 4" in wide.error


@pytest.mark.parametrize("cells, arguments", [
    ({"intensity": "1.5"}, {"intensity": 1.5}),
    ({"intensity": "loud"}, {"intensity": "loud"}),
    ({"seed": "-1"}, {"seed": -1}),
    ({"seed": "3.5"}, {"seed": "3.5"}),
    ({"max_attempts": "50"}, {"max_attempts": 50}),  # past the range of render and the page
    ({"size": "2000"}, {"size": 2000}),
    ({"size": "big"}, {"size": "big"}),
    ({"verify": "maybe"}, {"verify": "maybe"}),
    ({"outputs": "face,sound"}, {"outputs": "face,sound"}),
    ({"emotion": "joy"}, {"emotion": "joy"}),
    ({"keyframes": "0 s anger, 2 s rage"}, {"emotion_keyframes": "0 s anger, 2 s rage"}),
    ({"transcript": "Hi."}, {"transcript": "Hi."}),  # a transcript with text
    ({"audio": "speech.wav"}, {"audio": "speech.wav"}),  # audio and text
])
def test_rows_are_checked_as_render_checks_its_arguments(tmp_path, cells, arguments):
    from avatar.request import check_request

    path = manifest(tmp_path, "m.csv", [{"id": "a", "text": "Hello there.", **cells}], header=list(COLUMNS))
    (job,) = read_manifest(path)
    with pytest.raises(InputError) as expected:  # what `avatar render`, the page and AvatarPipeline say
        check_request(text="Hello there.", **arguments)
    assert job.error == str(expected.value)


def test_jobs_are_atomic_and_leftovers_of_a_crash_are_cleared(tmp_path, inputs, monkeypatch):
    from avatar.pipeline import AvatarResult

    out = tmp_path / "out"
    (out / ".old.partial-dead").mkdir(parents=True)  # a job folder a killed run left half-written
    (out / "stale").mkdir()  # a folder without render.json is not a finished job
    (out / "stale" / "junk.txt").write_text("not ours")
    path = manifest(inputs, "atomic.csv", [audio_row("crash"), audio_row("stale")])
    real_write = AvatarResult._write  # what save() does inside the fresh folder it swaps in

    def write_then_crash(self, out_dir, *args, **kwargs):
        if Path(out_dir).name.startswith(".crash."):
            (out_dir / "face.csv").parent.mkdir(parents=True, exist_ok=True)
            (out_dir / "face.csv").write_text("half")
            raise RuntimeError("disk full")
        return real_write(self, out_dir, *args, **kwargs)

    monkeypatch.setattr(AvatarResult, "_write", write_then_crash)
    jobs = by_id(run_batch(path, out, progress=False))
    assert jobs["crash"]["status"] == "failed" and jobs["crash"]["error"] == "RuntimeError: disk full"
    assert "write_then_crash" in json.loads((out / "summary.json").read_text())["jobs"][0]["traceback"]
    assert jobs["stale"]["status"] == "ok"
    assert {p.name for p in out.iterdir()} == {"stale", "summary.json", "summary.csv"}
    assert not (out / "stale" / "junk.txt").exists() and (out / "stale" / "render.json").is_file()


def test_workers_render_the_same_files_in_parallel(tmp_path, inputs):
    rows = [audio_row("calm", emotion="sadness", seed="1"), audio_row("angry", emotion="anger", seed="2"),
            audio_row("broken", emotion="rage")]
    path = manifest(inputs, "workers.csv", rows)
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out"), "--workers", "2"])
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["backend"] == "2 worker processes" and summary["counts"] == {"ok": 2, "failed": 1, "skipped": 0}
    assert "unknown emotion 'rage'" in by_id(summary)["broken"]["error"]
    # The same job in this process writes the same bytes: the workers run the one pipeline, deterministically.
    here = run_batch(manifest(inputs, "one.csv", rows[:1]), tmp_path / "here", progress=False)
    assert here["counts"]["ok"] == 1
    for name in ("face.csv", "body.bvh"):
        assert (tmp_path / "out" / "calm" / name).read_bytes() == (tmp_path / "here" / "calm" / name).read_bytes()


@pytest.fixture
def no_ray_left_running():
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()


@pytest.mark.ray
def test_ray_runs_the_jobs_on_a_pool_of_workers_on_a_local_ray(tmp_path, inputs, no_ray_left_running):
    import ray

    rows = [audio_row("one", emotion="happiness"), audio_row("two", emotion="fear", seed="5"),
            audio_row("bad", audio="corrupt.wav")]
    path = manifest(inputs, "ray.csv", rows)
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out"), "--ray", "--workers", "2"])
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    jobs = by_id(summary)
    assert summary["backend"] == "local Ray (2 CPUs)" and summary["counts"] == {"ok": 2, "failed": 1, "skipped": 0}
    assert "corrupt.wav' could not be decoded" in jobs["bad"]["error"]  # an InputError raised inside a Ray task
    assert json.loads((tmp_path / "out" / "two" / "render.json").read_text())["seed"] == 5
    assert all(job["attempts"] == 1 and job["lost_workers"] == [] for job in summary["jobs"])
    assert len({job["worker"]["pid"] for job in summary["jobs"]}) <= 2  # at most one worker per CPU
    assert not ray.is_initialized()  # the Ray it started is shut down


def test_ray_missing_or_misplaced_address_is_a_clear_error(tmp_path, inputs, monkeypatch):
    path = manifest(inputs, "noray.csv", [audio_row("one")])
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out"), "--ray"])
    assert result.exit_code == 2 and "pip install ray==2.60.0" in result.output, result.output
    result = CliRunner().invoke(app, ["batch", str(path), "10.0.0.5:6379", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "goes after --ray" in result.output, result.output
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out"), "--ship-files"])
    assert result.exit_code == 2 and "--ship-files is for Ray workers (--ray)" in result.output, result.output
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(tmp_path / "out"), "--ship-limit", "5"])
    assert result.exit_code == 2 and "--ship-limit goes with --ship-files" in result.output, result.output
    assert not (tmp_path / "out").exists()

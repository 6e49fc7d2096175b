"""A non-editable install of the engine, in a fresh environment and run outside the repository, renders with the
checkpoints it installed (the learned generator and the speech emotion recognizer are found as package data) and
has its page: `avatar serve --help` runs and the page's Blocks build, offline.

About 40 s (an install from a copy of the sources, one short render, the page built); deselect with -m "not install".
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "avatar", "generators", "rigs", "checkpoints")

# Runs first inside the installed engine, before RENDER or PAGE: every file or folder opened inside the repository
# (other than the virtual environment lending the dependencies) fails.
REFUSE_REPOSITORY = """
import json, sys
from pathlib import Path

repository, dependencies = Path(sys.argv[1]), Path(sys.argv[2])

def refuse_repository(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, Path)):
        path = Path(args[0].decode() if isinstance(args[0], bytes) else args[0]).absolute()
        if path.is_relative_to(repository) and not path.is_relative_to(dependencies):
            raise PermissionError(f"the installed engine read the repository: {path}")

sys.addaudithook(refuse_repository)
"""
# `avatar render` runs and says where its code and checkpoints came from.
RENDER = """
import avatar, generators.learned.animate as animate, avatar.recognizers.speech_emotion as ser
from avatar.cli import app
try:
    app(sys.argv[3:])
except SystemExit as stop:
    if stop.code:
        raise
print(json.dumps({"avatar": avatar.__file__, "motion": str(animate.DEFAULT_CHECKPOINT),
                  "ser": str(ser.DEFAULT_CHECKPOINT)}))
"""
# `avatar serve --help` runs, and the page it serves builds (without serving: no port, no network).
PAGE = """
from avatar.cli import app
try:
    app(["serve", "--help"])
except SystemExit as stop:
    if stop.code:
        raise
import avatar.page as page
blocks = page.build()
print(json.dumps({"page": page.__file__, "blocks": type(blocks).__name__}))
"""


def copy_sources(to: Path) -> None:
    """The files a source distribution holds, without caches, build leftovers or a training run's resume state."""
    # "checkpoints" inside a folder: a training run's resume state (the top folder's own name is not matched).
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "checkpoints")
    for name in SOURCES:
        source = REPOSITORY / name
        if source.is_file():
            shutil.copy2(source, to / name)
        else:
            shutil.copytree(source, to / name, ignore=skip)


def test_installed_engine_renders_with_its_own_checkpoints(tmp_path):
    sources, venv, work = tmp_path / "sources", tmp_path / "venv", tmp_path / "work"
    sources.mkdir()
    work.mkdir()
    copy_sources(sources)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The fresh environment borrows this one's installed dependencies (offline) through a plain path in a .pth
    # file; the engine's own editable install here is a .pth finder in this environment's site folder, which a
    # path added that way does not run.
    dependencies = Path(sysconfig.get_paths()["purelib"])
    (site / "dependencies.pth").write_text(f"{dependencies}\n")
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--ignore-installed",
            str(sources),
        ],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    shutil.rmtree(sources)  # the install must stand alone

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AVATAR_DATA")}
    command = [
        python,
        "-c",
        REFUSE_REPOSITORY + RENDER,
        str(REPOSITORY),
        str(dependencies),
        "render",
        "--text",
        "Hello there, nice to meet you.",
        "--emotion",
        "auto",
        "--outputs",
        "face,body",
        "--seed",
        "0",
        "-o",
        "out",
    ]
    render = subprocess.run(command, capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert render.returncode == 0, render.stderr[-3000:]
    origins = json.loads(render.stdout.strip().splitlines()[-1])
    for path in origins.values():
        assert Path(path).is_relative_to(site), origins
    report = json.loads((work / "out" / "render.json").read_text())
    assert report["generator"] == "learned"
    assert "speech" in report["emotion"]["sources"]  # the speech emotion recognizer read the voice
    assert {"face.csv", "body.bvh"} <= {p.name for p in (work / "out").iterdir()}

    page = subprocess.run(
        [python, "-c", REFUSE_REPOSITORY + PAGE, str(REPOSITORY), str(dependencies)],
        capture_output=True,
        text=True,
        cwd=work,
        env=env | {"GRADIO_ANALYTICS_ENABLED": "False"},
        timeout=300,
    )
    assert page.returncode == 0, page.stderr[-3000:]
    assert "--port" in page.stdout  # the help of `avatar serve`
    built = json.loads(page.stdout.strip().splitlines()[-1])
    assert Path(built["page"]).is_relative_to(site) and built["blocks"] == "Blocks", built


def test_serve_without_gradio_says_what_to_install(monkeypatch):
    from typer.testing import CliRunner

    import avatar
    from avatar.cli import app

    monkeypatch.setitem(sys.modules, "gradio", None)  # as if it were not installed: importing it fails
    monkeypatch.delitem(sys.modules, "avatar.page", raising=False)  # and the page not yet imported
    monkeypatch.delattr(avatar, "page", raising=False)
    with socket.socket() as probe:  # a port free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert "avatar serve needs gradio" in result.output and "Traceback" not in result.output

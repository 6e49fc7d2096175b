"""The `avatar` command: help, the front-end commands end to end, and bad input as readable errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from avatar.cli import app
from avatar.frontend.textgrid import load_alignment_textgrid
from tests.conftest import EXAMPLE_TEXT

runner = CliRunner()


def test_console_script_help_lists_the_commands():
    avatar = Path(sys.executable).with_name("avatar")
    result = subprocess.run([avatar, "--help"], capture_output=True, text=True, check=True)
    for command in ("say", "align", "features"):
        assert command in result.stdout


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "example.wav"
    result = runner.invoke(app, ["say", EXAMPLE_TEXT, "-o", str(path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    return path


def test_say_align_features_end_to_end(spoken, tmp_path):
    grid = tmp_path / "example.TextGrid"
    result = runner.invoke(app, ["align", str(spoken), "--text", EXAMPLE_TEXT, "-o", str(grid)])
    assert result.exit_code == 0, result.output
    assert "transcript given" in result.output
    alignment = load_alignment_textgrid(grid)
    assert alignment.words[0].label == "hello"

    npz, png = tmp_path / "f.npz", tmp_path / "f.png"
    result = runner.invoke(app, ["features", str(spoken), "--alignment", str(grid), "--fps", "25",
                                 "-o", str(npz), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    with np.load(npz) as data:
        n = int(np.ceil(alignment.duration * 25 - 1e-9))
        assert data["log_mel"].shape == (n, 80) and data["visemes"].shape == (n, 15)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_align_without_text_says_it_recognized(spoken, tmp_path):
    out = tmp_path / "rec.json"
    result = runner.invoke(app, ["align", str(spoken), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "transcript recognized" in result.output
    assert '"transcript_source": "recognized"' in out.read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["align", "missing.wav", "--text", "hi", "-o", "{tmp}/x.TextGrid"], "does not exist"),
     (["align", "{wav}", "--text", "hi", "-o", "{tmp}/x.txt"], "must end in .TextGrid or .json"),
     (["features", "{wav}", "--fps", "0", "-o", "{tmp}/x.npz"], "fps"),
     (["say", "", "-o", "{tmp}/x.wav"], "no words"),
     (["say", "hello", "--rate", "9", "-o", "{tmp}/x.wav"], "rate=9")],
)
def test_bad_input_is_one_readable_line_and_no_output(spoken, tmp_path, args, expected):
    args = [a.format(tmp=tmp_path, wav=spoken) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []

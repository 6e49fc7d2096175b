"""Hostile-but-realistic input through the `avatar` command: every case fails with exit code 2, exactly one line on
stderr (no traceback) that names the problem, and an output folder left as it was. The checks come before any model
loads, so no case renders; a few run the installed command in a subprocess, where the exit code and stderr are
the process's own."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from typer.testing import CliRunner

from avatar.cli import app
from avatar.frontend.audio import MAX_DURATION_S, save_wav

runner = CliRunner()
SAID = "Good morning to you."
SR = 16_000


def _tone(seconds: float = 2.0) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Speech and every kind of broken input, written once."""
    from avatar.frontend.tts import get_voice

    folder = tmp_path_factory.mktemp("fuzz-inputs")
    speech = get_voice().synthesize(SAID, seed=0)
    save_wav(speech, folder / "speech.wav")
    t = _tone()
    rng = np.random.default_rng(0)
    sf.write(folder / "sweep.wav", 0.3 * np.sin(2 * np.pi * (200 * t + 450 * t**2)), SR)
    sf.write(folder / "sine.wav", 0.3 * np.sin(2 * np.pi * 440 * t), SR)
    sf.write(folder / "noise.wav", 0.1 * rng.standard_normal(len(t)), SR)
    sf.write(folder / "dc.wav", np.full(len(t), 0.3), SR, subtype="PCM_16")
    sf.write(folder / "hum.wav", 0.2 * np.sin(2 * np.pi * 50 * t) + 0.05 * np.sin(2 * np.pi * 100 * t), SR)
    brown = np.cumsum(rng.standard_normal(len(t)))
    sf.write(folder / "brown.wav", 0.3 * (brown - brown.mean()) / np.abs(brown - brown.mean()).max(), SR)
    sf.write(folder / "buzz.wav", 0.05 * sum(np.sin(2 * np.pi * 100 * k * t) / k for k in range(1, 30)), SR)
    sf.write(folder / "long.wav", np.zeros(int((MAX_DURATION_S + 1) * 8000), np.int16), 8000)  # 9.6 MB
    sf.write(folder / "silent.wav", np.zeros(len(t)), SR)
    sf.write(folder / "short.wav", speech.samples[: int(0.1 * speech.sample_rate)], speech.sample_rate)
    sf.write(folder / "nan.wav", np.r_[speech.samples, np.nan].astype(np.float32), speech.sample_rate, subtype="FLOAT")
    sf.write(folder / "hz100.wav", (0.3 * rng.standard_normal(20_000)).astype(np.float32), 100, subtype="PCM_16")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64))
    (folder / "text.wav").write_text("this is not audio\n" * 100)
    (folder / "folder.wav").mkdir()
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "words.txt").write_text(SAID + "\n")
    (folder / "nul.txt").write_text("Good\x00 morning.")
    Image.new("RGB", (10, 10)).save(folder / "tiny.png")
    Image.new("1", (12_000, 12_000)).save(folder / "huge.png")  # 144 megapixels, a small file
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.png").write_text("not an image")
    return folder


@pytest.fixture
def work(tmp_path) -> Path:
    """A folder with an earlier render in out/ (which every failure must leave as it was) and a file."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "render.json").write_text('{"earlier": true}\n')
    (tmp_path / "out" / "face.csv").write_text("earlier\n")
    (tmp_path / "file.txt").write_text("a file, not a folder\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's own file\n")
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def expand(args: list[str], inputs: Path, work: Path) -> list[str]:
    return [a.format(i=inputs, w=work) for a in args]


def assert_one_line_error(result, expected: str, code: int = 2) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert expected.lower() in lines[0].lower(), lines[0]


def check_case(args, expected, inputs, work, monkeypatch):
    monkeypatch.chdir(work)
    before = snapshot(work)
    result = runner.invoke(app, expand(args, inputs, work))
    assert_one_line_error(result, expected)
    assert snapshot(work) == before  # nothing written, nothing half-written, nothing removed


RENDER = ["render", "-o", "{w}/out", "--outputs", "face"]
BAD_AUDIO = [  # (file, what the message says)
    ("{i}/missing.wav", "does not exist"),
    ("{i}/folder.wav", "not a file"),
    ("{i}/empty.wav", "could not be decoded"),
    ("{i}/corrupt.wav", "could not be decoded"),
    ("{i}/text.wav", "could not be decoded"),
    ("{i}/hz100.wav", "sample rate is 100 Hz"),
    ("{i}/nan.wav", "NaN"),
    ("{i}/silent.wav", "silent"),
    ("{i}/short.wav", "at least 0.3 s"),
    ("{i}/long.wav", "10.0 minutes long; at most 10 minutes are read at once: split it"),
]
NO_SPEECH = ["sweep", "sine", "noise", "dc", "hum", "brown", "buzz"]


@pytest.mark.parametrize(("audio", "expected"), BAD_AUDIO)
@pytest.mark.parametrize("command", ["render", "align", "features", "analyze", "stream"])
def test_bad_audio_files(command, audio, expected, inputs, work, monkeypatch):
    args = {
        "render": [*RENDER, audio],
        "align": ["align", audio, "-o", "{w}/out/a.json"],
        "features": ["features", audio, "-o", "{w}/out/f.npz"],
        "analyze": ["analyze", audio],
        "stream": ["stream", audio, "--livelink", "127.0.0.1:9"],
    }[command]
    check_case(args, expected, inputs, work, monkeypatch)


@pytest.mark.parametrize("sound", NO_SPEECH)
@pytest.mark.parametrize("option", ["audio", "--style-reference"])
def test_render_refuses_audio_without_speech(sound, option, inputs, work, monkeypatch):
    audio = f"{{i}}/{sound}.wav"
    args = [*RENDER, audio] if option == "audio" else [*RENDER, "{i}/speech.wav", "--style-reference", audio]
    check_case(args, "has no speech in it", inputs, work, monkeypatch)


BAD_TEXT = [  # (text, what the message says)
    ("Good\x00 morning", "U+0000 (NUL)"),
    ("Good \x01morning", "control character U+0001"),
    ("Bell\x07 rings", "U+0007"),
    ("Escape \x1b[31m red", "U+001B"),
    ("Delete\x7f this", "U+007F"),
    ("你好，世界", "voice cannot speak: 你 好"),
    ("مرحبا بالعالم", "(Arabic)"),
    ("Привет мир", "(Cyrillic)"),
    ("Καλημέρα", "(Greek)"),
    ("a" * 1001, "1001 characters"),
    ("word " * 4000, "20000 characters"),
    ("x" * 2000, "at most 1000"),
    ("y" * 80 + " please", "word of 80 letters"),
    (" ".join(str(1000 + n) for n in range(180)), "words when spoken"),
    ("?! ... ,", "no words"),
    ("", "no words"),
    ("   ", "no words"),
    ("<speak><break time='1s'/></speak>", "markup with no words"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_TEXT)
@pytest.mark.parametrize("command", ["render", "say"])
def test_bad_text_to_speak(command, text, expected, inputs, work, monkeypatch):
    args = [*RENDER, "--text", text] if command == "render" else ["say", text, "-o", "{w}/out/x.wav"]
    check_case(args, expected, inputs, work, monkeypatch)


TRANSCRIPTS = [("Good\x00 morning", "U+0000"), ("你好", "aligner cannot read"), ("z" * 90, "word of 90 letters")]


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        *(("render", text, expected) for text, expected in TRANSCRIPTS),
        *(("align", text, expected) for text, expected in TRANSCRIPTS),
        ("render", " ".join(["hello"] * 200), "200 words for"),  # 1.4 s of speech cannot hold 200 words
    ],
)
def test_bad_transcripts(command, text, expected, inputs, work, monkeypatch):
    args = (
        [*RENDER, "{i}/speech.wav", "--transcript", text]
        if command == "render"
        else ["align", "{i}/speech.wav", "--text", text, "-o", "{w}/out/a.json"]
    )
    check_case(args, expected, inputs, work, monkeypatch)


@pytest.mark.parametrize(
    ("file", "expected"), [("binary.txt", "not UTF-8 text"), ("nul.txt", "U+0000"), ("missing.txt", "does not exist")]
)
def test_bad_transcript_files(file, expected, inputs, work, monkeypatch):
    check_case(
        ["align", "{i}/speech.wav", "--text-file", f"{{i}}/{file}", "-o", "{w}/out/a.json"],
        expected,
        inputs,
        work,
        monkeypatch,
    )


BAD_OPTIONS = [  # render options: (extra arguments, what the message says)
    (["--seed", str(2**70)], "seed 1180591620717411303424"),
    (["--seed", "-1"], "0 to 4294967295"),
    (["--seed", str(2**32)], "0 to 4294967295"),
    (["--fps", "0"], "fps=0"),
    (["--fps", "240"], "from 1 to 200"),
    (["--fps", "-5"], "fps=-5"),
    (["--fps", "nan"], "fps=nan"),
    (["--fps", "inf"], "fps=inf"),
    (["--intensity", "1.5"], "outside [0, 1]"),
    (["--intensity", "-0.1"], "outside [0, 1]"),
    (["--intensity", "nan"], "outside [0, 1]"),
    (["--emotion", "joy"], "unknown emotion 'joy'"),
    (["--emotion", ""], "unknown emotion"),
    (["--outputs", "hologram"], "unknown output"),
    (["--outputs", ",,"], "(none given)"),
    (["--max-attempts", "0"], "max_attempts"),
    (["--max-attempts", "1000000"], "1 (check only) to 20"),
    (["--size", "100"], "size 100 is not an even whole number of pixels from 256 to 1024"),
    (["--size", "511"], "give e.g. 512"),
    (["--voice", "bob"], "Unknown voice 'bob'"),
    (["--generator", "neural"], "unknown generator"),
    (["--keyframes", "soon angry"], "cannot read emotion keyframe"),
    (["--keyframes", "0 s joy"], "unknown emotion"),
    (["--keyframes", ""], "keyframes are empty"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_OPTIONS)
def test_bad_render_options(extra, expected, inputs, work, monkeypatch):
    check_case([*RENDER, "{i}/speech.wav", *extra], expected, inputs, work, monkeypatch)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--rate", "9"], "rate=9"),
        (["--rate", "0"], "rate=0"),
        (["--pitch", "99"], "pitch_semitones=99"),
        (["--expressiveness", "-1"], "expressiveness=-1"),
        (["--seed", str(2**70)], "--seed"),
        (["--voice", "bob"], "Unknown voice"),
    ],
)
def test_bad_say_options(extra, expected, inputs, work, monkeypatch):
    check_case(["say", SAID, "-o", "{w}/out/x.wav", *extra], expected, inputs, work, monkeypatch)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--seed", str(2**70)], "--seed"),
        (["--fps", "500"], "from 1 to 200"),
        (["--livelink", "nowhere:port"], "port"),
        (["--emotion", "joy"], "unknown emotion"),
    ],
)
def test_bad_stream_options(extra, expected, inputs, work, monkeypatch):
    check_case(["stream", "--text", SAID, "--livelink", "127.0.0.1", *extra], expected, inputs, work, monkeypatch)


BAD_OUTPUTS = [  # (arguments, what the message says)
    ([*RENDER, "{i}/speech.wav", "-o", "{w}/file.txt"], "is a file"),
    ([*RENDER, "{i}/speech.wav", "-o", "{w}/mine"], "holds files a render does not write (notes.txt)"),
    ([*RENDER, "{i}/speech.wav", "-o", "."], "the folder you are in"),
    ([*RENDER, "{w}/out/face.csv", "-o", "{w}/out"], "inside -o"),
    ([*RENDER, "{i}/speech.wav", "-o", "{w}/file.txt/sub"], "is a file, not a folder"),
    (["say", SAID, "-o", "{w}/out"], "must end in .wav"),
    (["say", SAID, "-o", "{w}/x.txt"], "must end in .wav"),
    (["say", SAID, "-o", "{w}/mine"], "must end in"),
    (["analyze", "--text", "I am happy", "--json", "{w}/out"], "must end in .json"),
    (["analyze", "--text", "I am happy", "--json", "{w}/e.txt"], "must end in .json"),
    (["analyze", "--text", "I am happy", "--plot", "{w}/e.txt"], "must end in .png"),
    (["features", "{i}/speech.wav", "-o", "{w}/f.txt"], "must end in .npz"),
    (["features", "{i}/speech.wav", "-o", "{w}/f.npz", "--plot", "{w}/f.jpg"], "must end in .png"),
    (["align", "{i}/speech.wav", "-o", "{w}/a.txt"], "must end in .TextGrid or .json"),
    (["export", "{w}/out/face.csv", "-o", "{w}/file.txt"], "is a file"),
    (["batch", "{w}/m.csv", "-o", "{w}/file.txt"], "is a file"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_OUTPUTS)
def test_bad_output_paths(args, expected, inputs, work, monkeypatch):
    check_case(args, expected, inputs, work, monkeypatch)


@pytest.mark.parametrize(
    ("portrait", "expected"),
    [
        ("{i}/missing.jpg", "does not exist"),
        ("{i}/folder.wav", "not a file"),
        ("{i}/tiny.png", "only 10x10"),
        ("{i}/huge.png", "144 megapixels"),
        ("{i}/photo.jpg", "could not be read as an image"),
        ("{i}/notes.png", "could not be read as an image"),
    ],
)
def test_bad_portraits(portrait, expected, inputs, work, monkeypatch):
    check_case([*RENDER[:-1], "video", "{i}/speech.wav", "--portrait", portrait], expected, inputs, work, monkeypatch)


def write_manifest(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (None, "does not exist"),
        ([], "is empty"),
        ([["id", "text"]], "no jobs"),
        ([["id", "txt"], ["a", "hi"]], "did you mean 'text'"),
        ([["id", "text"], ["a", "hi"], ["a", "ho"]], "same id 'a'"),
        ([["id", "text"], ["../up", "hi"]], "not a safe folder name"),
        ([["text"], ["hi"]], "no 'id' column"),
        ([["id", "emotion"], ["a", "anger"]], "neither an 'audio' nor"),
    ],
)
def test_bad_manifests(rows, expected, inputs, work, monkeypatch):
    if rows is not None:
        write_manifest(work / "m.csv", rows)
    check_case(["batch", "{w}/m.csv", "-o", "{w}/batch"], expected, inputs, work, monkeypatch)


def test_binary_manifest(inputs, work, monkeypatch):
    (work / "m.csv").write_bytes(bytes(range(256)))
    check_case(["batch", "{w}/m.csv", "-o", "{w}/batch"], "not UTF-8 text", inputs, work, monkeypatch)


def test_bad_cells_fail_their_own_job_in_one_line(inputs, work, monkeypatch):
    """Broken rows are isolated: each is a failed job with a one-line error (no traceback in summary.json)."""
    import json

    rows = [
        ["id", "text", "seed", "audio", "generator"],
        ["nul", "Good\x00 morning", "", "", ""],
        ["big", "Hello.", str(2**70), "", ""],
        ["han", "你好", "", "", ""],
        ["sweep", "", "", str(inputs / "sweep.wav"), "procedural"],
    ]
    write_manifest(work / "m.csv", rows)
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["batch", "m.csv", "-o", "batch"])
    assert result.exit_code == 1, result.output
    summary = json.loads((work / "batch" / "summary.json").read_text())
    errors = {job["id"]: job["error"] for job in summary["jobs"]}
    assert summary["counts"]["failed"] == 4 and not any("traceback" in job for job in summary["jobs"])
    assert "U+0000" in errors["nul"] and "4294967295" in errors["big"] and "cannot speak" in errors["han"]
    assert "has no speech in it" in errors["sweep"]
    assert {p.name for p in (work / "batch").iterdir()} == {"summary.json", "summary.csv"}


def test_warnings_are_one_line_each(inputs, work, monkeypatch):
    """A truncated WAV is used with a warning that gives both lengths; markup in text is removed with a warning."""
    data = (inputs / "speech.wav").read_bytes()
    cut = work / "cut.wav"
    cut.write_bytes(data[: len(data) // 3])
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["features", str(cut), "-o", "f.npz"])
    assert result.exit_code == 0, result.output
    declared = sf.info(inputs / "speech.wav").duration  # the cut copy keeps the whole file's header
    assert result.stderr.count("\n") == 1 and f"its header says {declared:.2f} s" in result.stderr
    result = runner.invoke(app, ["say", "<speak>Good <break time='1s'/> morning.</speak>", "-o", "s.mp3"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1 and "SSML is not supported" in result.stderr
    assert sf.info(work / "s.mp3").format == "MP3"  # the format the name asks for, not WAV bytes


def test_analyze_warns_of_no_speech(inputs, work, monkeypatch):
    import json

    monkeypatch.chdir(work)
    result = runner.invoke(app, ["analyze", str(inputs / "noise.wav"), "--json", "e.json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1 and "no speech detected" in result.stderr
    assert json.loads((work / "e.json").read_text())["speech"] == "none detected"


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (root only): yields a function mount(size, read_only) -> Path."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = []

    def mount(size: str, read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)]).returncode:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)])


@pytest.mark.parametrize(
    "args",
    [
        [*RENDER, "{i}/speech.wav", "-o", "{m}/out"],
        ["say", SAID, "-o", "{m}/x.wav"],
        ["align", "{i}/speech.wav", "-o", "{m}/a.json"],
        ["analyze", "--text", "I am glad", "--json", "{m}/e.json"],
        ["features", "{i}/speech.wav", "-o", "{m}/f.npz"],
        ["export", "{i}/missing.csv", "-o", "{m}/x"],
    ],
)
@pytest.mark.parametrize("trouble", ["read-only", "full"])
def test_read_only_and_full_disks_are_found_before_work(args, trouble, inputs, tmpfs):
    mount = tmpfs("1m", read_only=trouble == "read-only")
    if trouble == "full":
        with open(mount / "filler", "wb", buffering=0) as f, pytest.raises(OSError):
            while True:
                f.write(b"\0" * 65536)
    before = snapshot(mount)
    result = runner.invoke(app, [a.format(i=inputs, m=mount, w=mount) for a in args])
    assert_one_line_error(result, "not writable" if trouble == "read-only" else "the disk is full")
    assert snapshot(mount) == before


def test_a_disk_that_fills_during_the_render_leaves_the_folder_as_it_was(inputs, tmpfs):
    """The check passes (there is room for a probe), the files do not fit: one line, the earlier render intact."""
    mount = tmpfs("600k")
    (mount / "out").mkdir()
    (mount / "out" / "render.json").write_text('{"earlier": true}\n')
    before = snapshot(mount)
    result = runner.invoke(
        app,
        [
            "render",
            str(inputs / "speech.wav"),
            "--transcript",
            SAID,
            "-o",
            str(mount / "out"),
            "--outputs",
            "face,body",
            "--generator",
            "procedural",
            "--no-verify",
        ],
    )
    assert_one_line_error(result, "the disk is full")
    assert snapshot(mount) == before  # no half-written face.csv, no hidden folder


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["render", "{i}/noise.wav", "-o", "{w}/out"], "has no speech in it"),
        (["say", "Good\x01 morning", "-o", "{w}/x.wav"], "U+0001"),
        (["render", "{i}/speech.wav", "-o", "{w}/file.txt"], "is a file"),
        (["render", "{i}/speech.wav", "--seed", str(2**70), "-o", "{w}/out"], "4294967295"),
    ],
)
def test_the_installed_command(args, expected, inputs, work):
    """The console script itself: its exit code, and stderr as the terminal shows it (one line)."""
    before = snapshot(work)
    avatar = Path(sys.executable).with_name("avatar")
    done = subprocess.run([avatar, *expand(args, inputs, work)], capture_output=True, text=True, cwd=work, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr
    assert snapshot(work) == before


def test_an_encoder_that_fails_leaves_no_video(tmpfs):
    """ffmpeg runs out of disk: write_video raises ENOSPC, and no truncated video is left under any name."""
    import errno

    from generators.render.encode import write_video

    mount = tmpfs("200k")
    frames = (np.random.default_rng(i).integers(0, 256, (128, 128, 3), np.uint8) for i in range(60))
    with pytest.raises(OSError) as caught:
        write_video(mount / "video.mp4", frames, 30.0)
    assert caught.value.errno == errno.ENOSPC and str(mount) in caught.value.filename
    assert list(mount.iterdir()) == []

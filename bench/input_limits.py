"""Peak memory and time of `avatar render` on the largest inputs it accepts, and on inputs past its limits.

The issue's target: memory stays under 2 GB for any input the command line accepts. Each case runs `avatar render`
in a fresh process with an empty cache (no portrait fit kept; default generator, verification on, every output:
face, body, preview and video) and reports its exit status, wall time, the peak resident memory of its largest
process (`/usr/bin/time`'s maximum RSS) and the peak of the whole process tree (the render and its ffmpeg
encoders: their proportional set size, PSS, sampled every 0.2 s from /proc). Inputs at a limit are exactly at it
(the longest text, the most spoken words, the longest words, the longest audio, the largest photo); inputs past it
must be refused at once, with little memory.

Usage: .venv/bin/python bench/input_limits.py [--cases text_cap,audio_cap,...] [--json out.json]
Long: the audio case renders MAX_DURATION_S of speech (about as long as rendering takes on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avatar.frontend.audio import MAX_DURATION_S, Audio, save_wav
from avatar.frontend.tts import MAX_SPOKEN_WORDS, MAX_TEXT_CHARS, MAX_WORD_LETTERS, check_text, get_voice
from generators.talking_head.portrait import MAX_PIXELS, default_portrait_path

AVATAR = str(Path(sys.executable).with_name("avatar"))
OUTPUTS = ["--outputs", "face,body,preview,video"]
PROSE = (
    "The committee met on Tuesday to talk about the budget for next year. Most of the money will go to the new "
    "library, and the rest will pay for repairs to the old school roof. Some members wanted a park instead, but "
    "after a long discussion they agreed to wait until the spring. "
)
SYLLABLES = ["ba", "ko", "ri", "mun", "de", "la", "tor", "vi", "sen", "pa"]


def prose_at_cap() -> str:
    """Ordinary sentences, as many whole words as fit in MAX_TEXT_CHARS."""
    text = (PROSE * (MAX_TEXT_CHARS // len(PROSE) + 1))[:MAX_TEXT_CHARS]
    return text.rsplit(" ", 1)[0]


def numbers_at_cap() -> str:
    """Seven-digit numbers (nine spoken words each), as many as the spoken-word and character caps allow."""
    from avatar.frontend.pronounce import normalize_transcript

    numbers: list[str] = []
    while True:
        longer = " ".join([*numbers, str(7_777_777 - len(numbers))])
        if len(longer) > MAX_TEXT_CHARS or len(normalize_transcript(longer)) > MAX_SPOKEN_WORDS:
            return " ".join(numbers)
        numbers.append(longer.rsplit(" ", 1)[-1])


def long_words_at_cap() -> str:
    """Made-up words of exactly MAX_WORD_LETTERS letters, as many as fit in MAX_TEXT_CHARS."""
    rng = np.random.default_rng(0)
    words = []
    while len(" ".join(words)) + MAX_WORD_LETTERS + 1 <= MAX_TEXT_CHARS:
        word = ""
        while len(word) < MAX_WORD_LETTERS:
            word += SYLLABLES[rng.integers(len(SYLLABLES))]
        words.append(word[:MAX_WORD_LETTERS])
    return " ".join(words)


def speech_file(folder: Path, seconds: float) -> Path:
    """`seconds` of real synthesized sentences with short pauses, as a 16-bit WAV."""
    said = get_voice().synthesize(PROSE, seed=0)
    pause = np.zeros(int(0.4 * said.sample_rate), np.float32)
    unit = np.concatenate([said.samples, pause])
    samples = np.resize(unit, int(round(seconds * said.sample_rate)))
    return save_wav(Audio(samples, said.sample_rate), folder / f"speech_{seconds:g}s.wav")


def photo(folder: Path, side: int) -> Path:
    """The default portrait scaled up to side x side pixels (a camera-sized photo of a face)."""
    from PIL import Image

    path = folder / f"photo_{side}.jpg"
    with Image.open(default_portrait_path()) as image:
        image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def cases(folder: Path) -> dict[str, tuple[str, Callable[[], list[str]], int]]:
    """name: (what it is, a function making the render's arguments after `avatar render`, the exit status wanted)."""
    text_cap, numbers, long_words = prose_at_cap(), numbers_at_cap(), long_words_at_cap()
    for text in (text_cap, numbers, long_words):
        check_text(text)  # each is at a limit, not past it
    side = int(MAX_PIXELS**0.5)
    return {
        "text_cap": (f"--text of {len(text_cap)} characters of prose (the cap)", lambda: ["--text", text_cap], 0),
        "numbers_cap": (
            f"--text of {len(numbers.split())} seven-digit numbers ({MAX_SPOKEN_WORDS} spoken words at most)",
            lambda: ["--text", numbers],
            0,
        ),
        "long_words_cap": (
            f"--text of {len(long_words.split())} made-up words of {MAX_WORD_LETTERS} letters",
            lambda: ["--text", long_words],
            0,
        ),
        "audio_cap": (
            f"{MAX_DURATION_S:g} s of speech, no transcript (the cap)",
            lambda: [str(speech_file(folder, MAX_DURATION_S))],
            0,
        ),
        "photo_cap": (
            f"a {side}x{side} photo ({side * side / 1e6:.0f} MP), 3 s of speech",
            lambda: [str(speech_file(folder, 3.0)), "--portrait", str(photo(folder, side))],
            0,
        ),
        "text_20000": ("--text of 20,000 characters (refused)", lambda: ["--text", ("word " * 4000)[:20000]], 2),
        "numbers_500": ("--text of 500 numbers (refused)", lambda: ["--text", " ".join(map(str, range(500)))], 2),
        "word_2000": ("--text holding a 2,000-letter word (refused)", lambda: ["--text", "hello " + "a" * 2000], 2),
        "audio_over_cap": (
            f"{MAX_DURATION_S + 60:g} s of speech (refused)",
            lambda: [str(speech_file(folder, MAX_DURATION_S + 60))],
            2,
        ),
        "photo_12000": (
            "a 12000x12000 photo (refused)",
            lambda: [str(speech_file(folder, 3.0)), "--portrait", str(photo(folder, 12000))],
            2,
        ),
    }


def tree_pss(root: int) -> int:
    """Proportional resident bytes of `root` and all its descendants (from /proc): pages shared between processes
    (a child between fork and exec shares all of its parent's) are counted once, split between them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:  # ended meanwhile
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total


def measure(arguments: list[str], folder: Path) -> dict:
    """Run `avatar render ARGUMENTS -o OUT` with every output; exit status, seconds, peak memory, last stderr line.

    The render runs under /usr/bin/time, a small process: a child forked from this one would count this
    process's memory (its state before exec) in its own peak.
    """
    out, timing = folder / "out", folder / "time.txt"
    started = time.monotonic()
    with open(folder / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", str(timing), AVATAR, "render", *arguments, "-o", str(out), *OUTPUTS],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "AVATAR_CACHE_DIR": str(folder / f"cache-{time.monotonic_ns()}")},  # cold: no fit kept
        )
        tree_peak = 0
        while process.poll() is None:
            tree_peak = max(tree_peak, tree_pss(process.pid))
            time.sleep(0.2)
    peak = int(timing.read_text().split()[-1]) * 1024  # kB: the largest process's maximum resident set
    lines = (folder / "stderr.txt").read_text(errors="replace").strip().splitlines()
    return {
        "exit": process.returncode,
        "wall_s": round(time.monotonic() - started, 1),
        "peak_rss_gb": round(peak / 1e9, 3),
        "peak_tree_gb": round(tree_peak / 1e9, 3),
        "stderr": lines[-1] if lines else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="input-limits-") as tmp:
        folder = Path(tmp)
        every = cases(folder)
        chosen = args.cases.split(",") if args.cases else list(every)
        for name in chosen:
            what, arguments, wanted = every[name]
            result = measure(arguments(), folder)
            results[name] = {"input": what, "wanted_exit": wanted, **result}
            print(
                f"{name:<15} exit {result['exit']:>3} (want {wanted})  {result['wall_s']:>7.1f} s  "
                f"peak {result['peak_rss_gb']:.2f} GB (tree {result['peak_tree_gb']:.2f} GB)  {what}",
                flush=True,
            )
            if result["exit"] != wanted:
                print(f"    stderr: {result['stderr']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

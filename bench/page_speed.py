"""The page's speed as a visitor feels it: 2 s of speech to every output, first after start-up and later.

Run: .venv/bin/python bench/page_speed.py [--port 7871] [--later 3] [--runs 3] [--json bench/results/page_speed.json]

`avatar serve` starts in a fresh process; as soon as the page answers, a client (gradio_client, through the page's
own API, as the Generate button does) sends the first 2 s of BEAT take 2_scott_0_1_1 with its transcript, emotion
happiness 0.8 and every other control at its default (learned generator, verification on, the default portrait),
and waits for the talking head, the preview, the report and the downloads. Printed: seconds from the command to
a page that answers, the first generation (which waits for the background warm-up if it has not finished), and
the median of the later ones. Targets on this 2-core machine: first <= 10 s, later <= 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from avatar.evaluation.beat import BEAT
from avatar.evaluation.results import run_conditions, write_results

BIN = Path(sys.executable).parent
TAKE, SECONDS = "2_scott_0_1_1", 2.0


def clip(folder: Path) -> tuple[Path, str]:
    """The first SECONDS of the take as a wav, and the words said in it."""
    from avatar.frontend.audio import Audio, load_audio, save_wav
    from avatar.frontend.textgrid import load_alignment_textgrid

    audio = load_audio(BEAT / "wav" / f"{TAKE}.wav")
    words = load_alignment_textgrid(BEAT / "textgrid" / f"{TAKE}.TextGrid").words
    path = save_wav(Audio(audio.samples[: int(SECONDS * audio.sample_rate)], audio.sample_rate), folder / "clip.wav")
    return path, " ".join(w.label for w in words if w.end <= SECONDS)


def wait_for(url: str, server: subprocess.Popen, limit_s: float = 120.0) -> None:
    """Poll until the page answers (or fail if the server died or took too long)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"avatar serve exited with {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the page did not answer at {url} within {limit_s:.0f} s")


def start_and_generate(port: int, later: int, wav: Path, words: str) -> dict:
    """`avatar serve` in a fresh process; seconds until the page answers, the first generation and the later ones."""
    from gradio_client import Client, handle_file

    from generators.talking_head.portrait import default_portrait_path

    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    server = subprocess.Popen([str(BIN / "avatar"), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(url, server)
        up = time.perf_counter() - started
        client = Client(url, verbose=False)
        request = dict(audio=handle_file(str(wav)), text="", transcript=words, emotion="happiness",
                       intensity=0.8, keyframes="", use_vad=False, valence=0.5, arousal=0.3, dominance=0.2,
                       style_reference=None, portrait=handle_file(str(default_portrait_path())), seed=0,
                       generator="learned", verify=True, max_attempts=5, api_name="/generate")
        times = []
        for _ in range(1 + later):
            began = time.perf_counter()
            client.predict(**request)
            times.append(time.perf_counter() - began)
    finally:
        server.terminate()
        server.wait(30)
    return {"answers_s": round(up, 2), "first_s": round(times[0], 2), "later_s": [round(t, 2) for t in times[1:]]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--later", type=int, default=3, help="how many generations to time after the first")
    parser.add_argument("--runs", type=int, default=1, help="how many times to start the page (medians reported)")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/page_speed.json)")
    args = parser.parse_args(argv)
    if not (BEAT / "wav" / f"{TAKE}.wav").is_file():
        sys.exit(f"the BEAT take {TAKE} is not at {BEAT}: this benchmark needs ../shared/data")
    conditions = run_conditions()
    print(f"{SECONDS:g} s of speech ({TAKE}), happiness 0.8, every output, verification on")
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        wav, words = clip(Path(scratch))
        for _ in range(args.runs):
            run = start_and_generate(args.port, args.later, wav, words)
            runs.append(run)
            print(f"page answers {run['answers_s']:.1f} s after `avatar serve`; first generation "
                  f"{run['first_s']:.1f} s; later ones {statistics.median(run['later_s']):.1f} s "
                  f"(median of {args.later}: {', '.join(f'{t:.1f}' for t in run['later_s'])})")
    if args.json:
        write_results(args.json, {"seconds_of_speech": SECONDS, "take": TAKE, "runs": runs}, conditions)


if __name__ == "__main__":
    main()

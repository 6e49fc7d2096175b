"""The files `avatar render` writes for one bundled sentence, seed 0, as arrays: made once into a fixture, compared
by tests/test_fixture_render.py so that a redesign keeps what a seed renders.

The committed fixture (tests/data/render_fixture.npz) was made from commit da8bb87, before the redesign of issue 22:

    git archive da8bb87 | tar -x -C /tmp/before      # that commit's code and checkpoints
    .venv/bin/python tests/render_fixture.py --engine /tmp/before

Three arrays were re-made since, on purpose, by this script's render of the same input: `procedural_body` when the
teacher's torso, neck and clavicles were calibrated against the real BEAT capture (issue 21), and `learned_face` and
`learned_body` when the shipped checkpoint was fine-tuned on that teacher's corpus; both bodies again (the faces
kept, unchanged) when the pipeline began to stand every body on its feet (weight shifts over planted feet,
generators/procedural/standing.py); `learned_face` and `learned_body` again when the shipped denoiser was fine-tuned
with the whitened body loss (its model card's commands 5 and 6). The procedural face, checked unchanged within the
tolerances, is still da8bb87's.

It renders tests/data/render_speech.flac (spoken by `avatar say`, made by this script when missing) with each
generator in RENDERS, face and body only, no verification, and keeps the numbers of face.csv and body.bvh as
written (float32) with the CSV header and a hash of the BVH hierarchy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPOSITORY = Path(__file__).resolve().parents[1]
DATA = REPOSITORY / "tests" / "data"
SPEECH = DATA / "render_speech.flac"
FIXTURE = DATA / "render_fixture.npz"
SENTENCE = "Hello there, nice to meet you."
RENDERS = {"learned": ("happiness", "0.8"), "procedural": ("anger", "0.7")}  # generator: (emotion, intensity)

# Runs in the engine under test (its folder first on the path): each render in one process, so the engine is
# imported once.
DRIVER = """
import json, os, sys
import avatar
from avatar.cli import app
if not os.path.abspath(avatar.__file__).startswith(os.getcwd() + os.sep):
    raise SystemExit(f"rendering with {avatar.__file__}, not the engine in {os.getcwd()}")
for args in json.loads(sys.argv[1]):
    try:
        app(args)
    except SystemExit as stop:
        if stop.code:
            raise
"""


def make_speech(engine: Path) -> None:
    """The bundled input: the sentence spoken by the engine's offline voice, seed 0, as 16-bit FLAC."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        say = [sys.executable, "-m", "avatar.cli", "say", SENTENCE, "-o", str(wav), "--seed", "0"]
        subprocess.run(say, cwd=engine, check=True, capture_output=True)
        audio, rate = sf.read(wav, dtype="float32")
        sf.write(SPEECH, audio, rate, subtype="PCM_16")


def csv_numbers(path: Path) -> tuple[str, np.ndarray]:
    """The header of a Live Link CSV and its numbers (every column after Timecode and BlendShapeCount)."""
    lines = path.read_text().splitlines()
    rows = [line.split(",")[2:] for line in lines[1:]]
    return lines[0], np.asarray(rows, dtype=np.float32)


def bvh_numbers(path: Path) -> tuple[str, np.ndarray]:
    """The hash of a BVH's HIERARCHY section (the text up to MOTION) and its motion rows."""
    text = path.read_text()
    hierarchy, motion = text.split("MOTION", 1)
    rows = [line.split() for line in motion.splitlines()[3:] if line.strip()]
    return hashlib.sha256(hierarchy.encode()).hexdigest(), np.asarray(rows, dtype=np.float32)


def render(engine: Path, folder: Path) -> dict[str, np.ndarray]:
    """Render the bundled speech with every generator of RENDERS into `folder`; the files' numbers, by name."""
    jobs = [
        [
            "render",
            str(SPEECH),
            "--transcript",
            SENTENCE,
            "--emotion",
            emotion,
            "--intensity",
            intensity,
            "--seed",
            "0",
            "--outputs",
            "face,body",
            "--no-verify",
            "--generator",
            generator,
            "-o",
            str(folder / generator),
        ]
        for generator, (emotion, intensity) in RENDERS.items()
    ]
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs)], cwd=engine, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"avatar render failed in {engine}:\n{done.stderr[-3000:]}")
    arrays = {}
    for generator in RENDERS:
        header, face = csv_numbers(folder / generator / "face.csv")
        hierarchy, body = bvh_numbers(folder / generator / "body.bvh")
        arrays |= {
            f"{generator}_face": face,
            f"{generator}_body": body,
            f"{generator}_face_header": np.array(header),
            f"{generator}_bvh_hierarchy": np.array(hierarchy),
        }
    return arrays


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engine",
        type=Path,
        default=REPOSITORY,
        help="the engine's source folder to render with (default: this repository)",
    )
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)
    if not SPEECH.is_file():
        make_speech(args.engine)
    with tempfile.TemporaryDirectory() as tmp:
        arrays = render(args.engine.resolve(), Path(tmp))
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


if __name__ == "__main__":
    main()

"""The speech detector (avatar/frontend/voice_activity.py) on real speech and on synthetic non-speech.

Prints, per set, how many clips it calls speech and the smallest and median speech-like seconds. Real speech
(../shared/data: the BEAT takes, EmoDB, every STEP-th clip of the SER corpora) must all pass; the non-speech must
all fail. Usage: .venv/bin/python bench/voice_activity.py [--step 10]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from avatar.frontend.audio import SAMPLE_RATE, Audio, load_audio
from avatar.frontend.voice_activity import MIN_SPEECH_S, voice_activity

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def non_speech(seconds: float = 3.0) -> dict[str, np.ndarray]:
    """Tones, sweeps, noises, hum and offsets that a speech recognizer might still read words into."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE

    def sweep(f0, f1):
        return np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * seconds) * t**2))

    white = rng.standard_normal(len(t))
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(len(t), 1 / SAMPLE_RATE)
    pink = np.fft.irfft(spectrum / np.sqrt(np.maximum(freqs, 1.0)), len(t))
    brown = np.cumsum(white)
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3))
    clips = {
        "sine 440 Hz": np.sin(2 * np.pi * 440 * t),
        "sine 150 Hz": np.sin(2 * np.pi * 150 * t),
        "sweep 200-2000 Hz": sweep(200, 2000),
        "sweep 100-400 Hz": sweep(100, 400),
        "sweep 20-8000 Hz": sweep(20, 7900),
        "white noise": white,
        "pink noise": pink,
        "brown noise": brown - brown.mean(),
        "mains hum 50 Hz": hum,
        "DC offset": np.ones_like(t),
        "DC offset + faint noise": 1 + 1e-3 * white,
        "clicks": (np.arange(len(t)) % 1600 == 0) * 1.0,
        "sine with vibrato": np.sin(2 * np.pi * (300 * t + 3 * np.sin(2 * np.pi * 5 * t))),
    }
    return {name: (0.3 * x / np.max(np.abs(x))).astype(np.float32) for name, x in clips.items()}


def report(name: str, seconds: list[float], expect_speech: bool) -> None:
    passed = sum(s >= MIN_SPEECH_S for s in seconds)
    print(
        f"{name:<28} {passed:>5}/{len(seconds):<5} called speech (want {'all' if expect_speech else 'none'}); "
        f"speech-like s: min {min(seconds):.2f}, median {np.median(seconds):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=10, help="take every STEP-th clip of the SER manifest")
    args = parser.parse_args()
    for name, clip in non_speech().items():
        report(name, [voice_activity(Audio(clip)).speech_s], expect_speech=False)
    beat = sorted((DATA / "beat" / "wav").glob("*.wav"))
    if beat:
        report("BEAT takes", [voice_activity(load_audio(p)).speech_s for p in beat], True)
    emodb = sorted((DATA / "emodb" / "wav").glob("*.wav"))
    if emodb:
        report("EmoDB (2-s cuts)", [voice_activity(load_audio(p)).speech_s for p in emodb], True)
    manifest = DATA / "ser" / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))[:: args.step]
        by_corpus: dict[str, list[float]] = {}
        worst = []
        for row in rows:
            speech_s = voice_activity(load_audio(DATA / "ser" / row["path"])).speech_s
            by_corpus.setdefault(row["corpus"], []).append(speech_s)
            worst.append((speech_s, row["path"]))
        for corpus, values in sorted(by_corpus.items()):
            report(f"SER {corpus}", values, True)
        print("least speech-like SER clips:", ", ".join(f"{p} {s:.2f} s" for s, p in sorted(worst)[:5]))


if __name__ == "__main__":
    main()

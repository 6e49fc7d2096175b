"""The speech detector (avatar/frontend/voice_activity.py) on real speech and on synthetic non-speech.

Real speech (../shared/data: the three BEAT takes, the EmoDB 2-s cuts, every STEP-th clip of the SER corpora), each
as recorded, at -40 dBFS, telephone-band (300-3400 Hz) and with white, pink or brown noise at 10 dB SNR: every clip
should pass (a false reject refuses a user's recording). Synthetic non-speech of 3 s and 30 s: none should pass (a
false accept lip-syncs words into a tone or a noise). Prints the counts per set and the least speech-like clips;
--json writes them too. Usage: .venv/bin/python bench/voice_activity.py [--step 40]
[--json bench/results/voice_activity.json]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from avatar.evaluation.results import run_conditions, write_results
from avatar.frontend.audio import SAMPLE_RATE, Audio, load_audio
from avatar.frontend.voice_activity import MIN_SPEECH_S, voice_activity
from rigs.paths import shared_data

DATA = shared_data()
SNR_DB = 10.0


def _band_limited(x: np.ndarray, low: float, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, len(x))


def _noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    if colour == "brown":
        return np.cumsum(white) - np.cumsum(white).mean()
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    return np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.maximum(freqs, 1.0)), n)  # pink: power falls as 1/f


def _melody(t: np.ndarray, harmonics: int) -> np.ndarray:
    """Notes of 0.3 s (a scale up and down), each with `harmonics` harmonics falling as 1/k, faded in and out."""
    note = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    fade = np.clip(np.minimum(note / 0.02, (0.25 - note) / 0.02), 0, 1)
    pitches = [220, 247, 262, 294, 330, 294, 262, 196]
    notes = [fade * sum(np.sin(2 * np.pi * f * k * note) / k for k in range(1, harmonics + 1)) for f in pitches]
    return np.resize(np.concatenate(notes), len(t))


def non_speech(seconds: float = 3.0) -> dict[str, np.ndarray]:
    """Tones, sweeps, melodies, noises, hum, buzz, clicks and offsets that a speech recognizer might read words into."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE

    def sweep(f0, f1):
        return np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * seconds) * t**2))

    white = rng.standard_normal(len(t))
    clips = {
        "sine 440 Hz": np.sin(2 * np.pi * 440 * t),
        "sine 150 Hz": np.sin(2 * np.pi * 150 * t),
        "sweep 200-2000 Hz": sweep(200, 2000),
        "sweep 100-400 Hz": sweep(100, 400),
        "sweep 20-8000 Hz": sweep(20, 7900),
        "sine with vibrato": np.sin(2 * np.pi * (300 * t + 3 * np.sin(2 * np.pi * 5 * t))),
        "melody of sines": _melody(t, 1),
        "melody of harmonic notes": _melody(t, 8),
        "white noise": white,
        "pink noise": _noise("pink", len(t), rng),
        "brown noise": _noise("brown", len(t), rng),
        "telephone-band noise": _band_limited(white, 300, 3400),
        "mains hum 50 Hz": sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3)),
        "mains hum 60 Hz, 5 harmonics": sum(np.sin(2 * np.pi * 60 * k * t) / k for k in range(1, 6)),
        "buzz 100 Hz, 29 harmonics": sum(np.sin(2 * np.pi * 100 * k * t) / k for k in range(1, 30)),
        "DC offset": np.ones_like(t),
        "DC offset + faint noise": 1 + 1e-3 * white,
        "clicks 10 a second": (np.arange(len(t)) % 1600 == 0) * 1.0,
    }
    return {name: (0.3 * x / np.max(np.abs(x))).astype(np.float32) for name, x in clips.items()}


def degraded(samples: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The clip as recorded, quiet, through a telephone and in noise."""
    x = samples.astype(np.float64)
    rms = np.sqrt(np.mean(x**2))
    versions = {
        "as recorded": x,
        "-40 dBFS peak": x * 10 ** (-40 / 20) / np.max(np.abs(x)),
        "telephone band": _band_limited(x, 300, 3400),
    }
    for colour in ("white", "pink", "brown"):
        noise = _noise(colour, len(x), rng)
        versions[f"{colour} noise {SNR_DB:g} dB"] = x + noise * rms / np.sqrt(np.mean(noise**2)) / 10 ** (SNR_DB / 20)
    peak = max(1.0, *(np.max(np.abs(v)) for v in versions.values()))
    return {name: (v / peak if name != "-40 dBFS peak" else v).astype(np.float32) for name, v in versions.items()}


def real_clips(step: int) -> dict[str, list[Path]]:
    """The real speech sets that are here (../shared/data)."""
    sets = {
        "BEAT takes": sorted((DATA / "beat" / "wav").glob("*.wav")),
        "EmoDB 2-s cuts": sorted((DATA / "emodb" / "wav").glob("*.wav")),
    }
    manifest = DATA / "ser" / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="", encoding="utf-8") as f:
            for row in list(csv.DictReader(f))[::step]:
                sets.setdefault(f"SER {row['corpus']}", []).append(DATA / "ser" / row["path"])
    return {name: paths for name, paths in sets.items() if paths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=40, help="take every STEP-th clip of the SER manifest")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    started = run_conditions()
    figures: dict = {"min_speech_s": MIN_SPEECH_S, "false_accepts": {}, "false_rejects": {}, "least_speech_like": {}}
    print("non-speech (speech-like seconds; want all below", MIN_SPEECH_S, "s):")
    for seconds in (3.0, 30.0):
        for name, clip in non_speech(seconds).items():
            activity = voice_activity(Audio(clip))
            figures["false_accepts"][f"{name}, {seconds:g} s"] = round(activity.speech_s, 2)
            mark = "  FALSE ACCEPT" if activity.has_speech else ""
            print(f"  {name + f', {seconds:g} s':<36} {activity.speech_s:6.2f} s  ({activity.describe()}){mark}")
    rng = np.random.default_rng(0)
    totals: dict[str, list[int]] = {}
    for set_name, paths in real_clips(args.step).items():
        least: list[tuple[float, str]] = []
        for path in paths:
            for version, samples in degraded(load_audio(path).samples, rng).items():
                speech_s = voice_activity(Audio(samples)).speech_s
                key = f"{set_name} | {version}"
                figures["false_rejects"].setdefault(key, [0, 0])
                figures["false_rejects"][key][0] += speech_s < MIN_SPEECH_S
                figures["false_rejects"][key][1] += 1
                totals.setdefault(version, [0, 0])
                totals[version][0] += speech_s < MIN_SPEECH_S
                totals[version][1] += 1
                least.append((speech_s, f"{path.name} ({version})"))
        figures["least_speech_like"][set_name] = [f"{name} {s:.2f} s" for s, name in sorted(least)[:3]]
    print("real speech (false rejects / clips):")
    for key, (rejected, count) in figures["false_rejects"].items():
        print(f"  {key:<48} {rejected:>4} / {count}")
    for version, (rejected, count) in totals.items():
        print(f"  all sets | {version:<37} {rejected:>4} / {count} ({100 * rejected / count:.1f} %)")
    figures["false_rejects_by_version"] = totals
    for set_name, clips in figures["least_speech_like"].items():
        print(f"  least speech-like, {set_name}: {', '.join(clips)}")
    if args.json:
        write_results(args.json, figures, started)


if __name__ == "__main__":
    main()

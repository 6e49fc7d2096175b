"""The speech detector: a voice passes, as recorded, quiet, through a telephone or in noise; what is not a voice
(tones, notes, noises of every colour, hum, buzz, clicks) does not. bench/voice_activity.py measures the same on
hundreds of real clips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from avatar.frontend.audio import SAMPLE_RATE, Audio, load_audio
from avatar.frontend.voice_activity import voice_activity
from rigs.paths import shared_data

DATA = shared_data()
SECONDS = 3.0
t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
rng = np.random.default_rng(0)
white = rng.standard_normal(len(t))


def band_limited(x: np.ndarray, low: float, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, len(x))


def melody(harmonics: int) -> np.ndarray:
    """Notes of 0.3 s up and down a scale, each with harmonics falling as 1/k (an organ or a synthesizer)."""
    note = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    fade = np.clip(np.minimum(note / 0.02, (0.25 - note) / 0.02), 0, 1)
    notes = [fade * sum(np.sin(2 * np.pi * f * k * note) / k for k in range(1, harmonics + 1)) for f in (220, 262, 330)]
    return np.resize(np.concatenate(notes), len(t))


brown = np.cumsum(white)
NON_SPEECH = {
    "brown noise": brown - brown.mean(),
    "pink noise": np.fft.irfft(
        np.fft.rfft(white) / np.sqrt(np.maximum(np.fft.rfftfreq(len(t), 1 / SAMPLE_RATE), 1)), len(t)
    ),
    "white noise": white,
    "telephone-band noise": band_limited(white, 300, 3400),
    "hum 50 Hz": sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3)),
    "hum 60 Hz, 5 harmonics": sum(np.sin(2 * np.pi * 60 * k * t) / k for k in range(1, 6)),
    "buzz 100 Hz, 29 harmonics": sum(np.sin(2 * np.pi * 100 * k * t) / k for k in range(1, 30)),
    "melody of harmonic notes": melody(8),
    "melody of sines": melody(1),
    "sweep": np.sin(2 * np.pi * (100 * t + 50 * t**2)),
    "clicks": (np.arange(len(t)) % 1600 == 0) * 1.0,
}


@pytest.mark.parametrize("name", NON_SPEECH)
def test_what_is_not_a_voice_is_not_speech(name):
    clip = NON_SPEECH[name]
    activity = voice_activity(Audio((0.3 * clip / np.max(np.abs(clip))).astype(np.float32)))
    assert not activity.has_speech, (name, activity)


def test_messages_say_what_it_sounds_like():
    def described(clip):
        return voice_activity(Audio((0.3 * clip / np.max(np.abs(clip))).astype(np.float32))).describe()

    assert "hum, a buzz or music" in described(NON_SPEECH["buzz 100 Hz, 29 harmonics"])
    assert "hum, a buzz or music" in described(NON_SPEECH["melody of harmonic notes"])
    assert "rumbling noise" in described(NON_SPEECH["brown noise"])
    assert "no voice's pitch" in described(NON_SPEECH["white noise"])


@pytest.fixture(scope="module")
def sentence() -> np.ndarray:
    from avatar.frontend.tts import get_voice

    return get_voice().synthesize("Good morning to you, and welcome to the meeting.", seed=0).resampled().samples


def in_noise(x: np.ndarray, noise: np.ndarray, snr_db: float = 10.0) -> np.ndarray:
    noise = np.resize(noise, len(x))
    scale = np.sqrt(np.mean(x**2) / np.mean(noise**2)) / 10 ** (snr_db / 20)
    mixed = x + scale * noise
    return mixed / max(1.0, np.max(np.abs(mixed)))


@pytest.mark.parametrize(
    "version",
    ["as spoken", "-40 dBFS", "telephone band", "white noise 10 dB", "brown noise 10 dB", "pink noise 10 dB"],
)
def test_a_voice_is_speech_quiet_through_a_telephone_or_in_noise(sentence, version):
    x = sentence.astype(np.float64)
    versions = {
        "as spoken": lambda: x,
        "-40 dBFS": lambda: x * 0.01 / np.max(np.abs(x)),
        "telephone band": lambda: band_limited(x, 300, 3400),
        "white noise 10 dB": lambda: in_noise(x, white),
        "brown noise 10 dB": lambda: in_noise(x, NON_SPEECH["brown noise"]),
        "pink noise 10 dB": lambda: in_noise(x, NON_SPEECH["pink noise"]),
    }
    activity = voice_activity(Audio(versions[version]().astype(np.float32)))
    assert activity.has_speech, (version, activity)


def real_clips() -> list[Path]:
    """A spread of corpora and speakers (every 500th SER clip), and the clips bench/voice_activity.py found least
    speech-like (as recorded: the bench also runs them in noise and through a telephone)."""
    with open(DATA / "ser" / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    least = ["crema_d/1001_DFA_SAD_XX.ogg", "crema_d/1088_TIE_SAD_XX.ogg", "tess/OAF_sub_sad.ogg", "emodb/13a02Ad.ogg"]
    emodb_cuts = [DATA / "emodb" / "wav" / name for name in ("16b01Tb.wav", "10a01Ac.wav")]
    return [DATA / "ser" / path for path in [row["path"] for row in rows[::500]] + least] + emodb_cuts


@pytest.mark.skipif(not (DATA / "ser" / "manifest.csv").is_file(), reason="needs ../shared/data/ser and emodb")
def test_real_recordings_are_speech():
    missed = [path.name for path in real_clips() if not voice_activity(load_audio(path)).has_speech]
    assert not missed, missed

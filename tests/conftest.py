"""Shared fixtures: where the real data lives, and one spoken example reused across tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from avatar.frontend.audio import Audio
from rigs.paths import shared_data

SHARED_DATA = shared_data()
EXAMPLE_TEXT = (Path(__file__).resolve().parents[1] / "demos" / "example" / "sentence.txt").read_text().strip()


@pytest.fixture(scope="session", autouse=True)
def _portrait_cache(tmp_path_factory):
    """The suite's own portrait cache (shared by its tests and the commands they run), never the user's."""
    os.environ["AVATAR_CACHE_DIR"] = str(tmp_path_factory.mktemp("avatar-cache"))


@pytest.fixture(scope="session")
def beat_dir() -> Path:
    """The real BEAT takes, or a clean skip when ../shared/data is absent."""
    path = SHARED_DATA / "beat"
    if not path.is_dir():
        pytest.skip(f"real BEAT data not found at {path}")
    return path


@pytest.fixture(scope="session")
def spoken_example() -> Audio:
    """The bundled example sentence spoken by the default voice (seed 0)."""
    from avatar.frontend.tts import get_voice

    return get_voice().synthesize(EXAMPLE_TEXT, seed=0)


def tone(freq: float = 220.0, seconds: float = 1.0, sample_rate: int = 16_000, amplitude: float = 0.3) -> np.ndarray:
    """A harmonic tone (three partials), float32."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    return (amplitude * wave / np.max(np.abs(wave))).astype(np.float32)

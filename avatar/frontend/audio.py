"""Audio in: any common file, any rate, any channel count, to checked 16 kHz mono float32."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from avatar.errors import InputError
from rigs.fileio import atomic_path

SAMPLE_RATE = 16_000
MIN_DURATION_S = 0.3
# Peak below -80 dBFS: nothing a microphone would pick up as speech.
SILENCE_PEAK = 1e-4
# Decode this many input frames at a time, so a long file never sits in memory at its own rate and width.
_BLOCK_FRAMES = 1 << 18
SUPPORTED = ".wav, .flac, .ogg or .mp3"


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] with their sample rate."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE
    source: str = "<memory>"

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def resampled(self, sample_rate: int = SAMPLE_RATE) -> Audio:
        """The same audio at another sample rate."""
        if sample_rate == self.sample_rate:
            return self
        samples = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return Audio(samples.astype(np.float32, copy=False), sample_rate, self.source)

    def int16_bytes(self) -> bytes:
        """Little-endian 16-bit PCM, as speech recognizers want it."""
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Read a wav/flac/ogg/mp3 file as checked mono float32 at `sample_rate` (16 kHz by default)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"Audio file '{path}' does not exist. Check the path and try again.")
    if not path.is_file():
        raise InputError(f"Audio path '{path}' is not a file. Give the path of a {SUPPORTED} file.")
    try:
        samples = _decode_resampled(path, sample_rate)
    except (sf.LibsndfileError, RuntimeError, ValueError) as error:
        raise InputError(
            f"Audio file '{path}' could not be decoded ({error}). It may be corrupt or in an unsupported "
            f"format: convert it to {SUPPORTED}."
        ) from None
    return check_audio(Audio(samples, sample_rate, str(path)))


def check_audio(audio: Audio) -> Audio:
    """Return `audio` if it is usable speech input, else raise an InputError saying why and what to do."""
    name = f"Audio '{audio.source}'"
    samples = audio.samples
    if samples.size == 0:
        raise InputError(f"{name} has zero length: it contains no samples. Record or export it again.")
    # Sums and extremes need no sample-sized temporaries (long inputs); NaN or inf makes the sum non-finite.
    if not np.isfinite(np.sum(samples, dtype=np.float64)):
        first_bad = int(np.argmin(np.isfinite(samples))) / audio.sample_rate
        raise InputError(
            f"{name} contains NaN or infinite samples (first at {first_bad:.2f} s). Re-export it from your "
            "editor as 16-bit or float PCM."
        )
    if audio.duration < MIN_DURATION_S:
        raise InputError(
            f"{name} is {audio.duration:.2f} s long; at least {MIN_DURATION_S} s of speech is needed. "
            "Give a longer clip."
        )
    peak = max(float(samples.max()), -float(samples.min()))
    if peak < SILENCE_PEAK:
        level = "-inf" if peak == 0 else f"{20 * np.log10(peak):.0f}"
        raise InputError(
            f"{name} is silent (peak level {level} dBFS). Check that the right file or microphone was "
            "used and that it is not muted."
        )
    return audio


def save_wav(audio: Audio, path: str | os.PathLike) -> Path:
    """Write `audio` as 16-bit PCM WAV, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, audio.samples, audio.sample_rate, subtype="PCM_16", format="WAV")
    return path


def _decode_resampled(path: Path, sample_rate: int) -> np.ndarray:
    """Decode block by block, mixing down and resampling as we go (memory ~ the 16 kHz output only)."""
    with sf.SoundFile(path) as f:
        stream = soxr.ResampleStream(f.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        expected = int(np.ceil(max(f.frames, 0) * sample_rate / f.samplerate)) + 64
        out = np.empty(expected, dtype=np.float32)
        n = 0
        while True:
            block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
            last = len(block) < _BLOCK_FRAMES
            mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            chunk = stream.resample_chunk(np.ascontiguousarray(mono), last=last)
            if n + len(chunk) > len(out):  # frame counts of compressed files are estimates
                out = np.resize(out, max(2 * len(out), n + len(chunk)))
            out[n : n + len(chunk)] = chunk
            n += len(chunk)
            if last:
                break
    return out[:n].copy() if n < len(out) // 2 else out[:n]

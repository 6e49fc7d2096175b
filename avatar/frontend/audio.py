"""Audio in: any common file, any rate, any channel count, to checked 16 kHz mono float32."""

from __future__ import annotations

import numbers
import os
import warnings
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
SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
# Speech needs 8 kHz (telephone) at least; a file that claims less has a broken header (100 Hz would read a 4 s
# clip as 15 minutes). Above the highest studio rate a rate is as implausible.
MIN_RATE, MAX_RATE = 8_000, 768_000
# Longer speech is refused: a render's time and memory grow with its length (bench/input_limits.py measures the
# render at this cap), and a recording this long is better split and rendered in parts (one job each in a batch).
MAX_DURATION_S = 600.0
# Integer PCM arrays are read at their full scale.
_PCM_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}
# Float samples live in [-1, 1]; a peak far above means integer PCM values stored as floats.
MAX_FLOAT_PEAK = 4.0
# Recognizers hear quiet recordings as well as loud ones once raised to this peak (quiet: below 0.1, -20 dBFS).
_RECOGNIZER_PEAK, _QUIET_PEAK = 0.9, 0.1


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] with their sample rate."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE
    source: str = "<memory>"

    def __post_init__(self):
        rate = self.sample_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not np.isfinite(rate) or rate % 1:
            raise InputError(f"Audio '{self.source}': sample rate {rate!r} is not a whole number of Hz; give e.g. "
                             "16000")
        if not MIN_RATE <= rate <= MAX_RATE:
            raise InputError(f"Audio '{self.source}': sample rate {rate:g} Hz is not a speech rate; give the real "
                             f"rate ({MIN_RATE} to {MAX_RATE} Hz, such as 16000 or 44100)")
        samples = self.samples
        if not isinstance(samples, np.ndarray):
            raise InputError(f"Audio '{self.source}': samples are a {type(samples).__name__}; give a 1-D numpy "
                             "array of floats in [-1, 1] (np.asarray(samples, np.float32))")
        if samples.ndim != 1:
            raise InputError(f"Audio '{self.source}': samples have shape {samples.shape}; give mono samples of "
                             "shape (N,), e.g. a stereo array's mean over its channel axis")
        if samples.dtype in _PCM_SCALE:
            samples = (samples / _PCM_SCALE[samples.dtype]).astype(np.float32)
        elif not np.issubdtype(samples.dtype, np.floating):
            raise InputError(f"Audio '{self.source}': samples are {samples.dtype}; give float32 samples in [-1, 1] "
                             "(or int16/int32 PCM)")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(rate))

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
        """Little-endian 16-bit PCM, as speech recognizers want it; a quiet recording is raised to a usable level
        (at -70 dBFS its words would be a few steps of 16-bit PCM: 2 of 13 recognized, all of them once raised)."""
        peak = float(np.max(np.abs(self.samples), initial=0.0))
        gain = _RECOGNIZER_PEAK / peak if 0.0 < peak < _QUIET_PEAK else 1.0
        return (np.clip(self.samples * gain, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Read a wav/flac/ogg/mp3 file as checked mono float32 at `sample_rate` (16 kHz by default).

    The last file read is kept, so a command that checks its input before loading its models decodes it once.
    """
    path = Path(path)
    if path.is_file():
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, sample_rate)
        if _last_decoded[0] != key:
            _last_decoded[:] = [None, None]  # the old one goes before the new one is decoded
            _last_decoded[:] = [key, _load_audio(path, sample_rate)]
        return _last_decoded[1]
    return _load_audio(path, sample_rate)


_last_decoded: list = [None, None]  # [key, Audio] of the last file load_audio read


def _load_audio(path: Path, sample_rate: int) -> Audio:
    if not path.exists():
        raise InputError(f"Audio file '{path}' does not exist. Check the path and try again.")
    if not path.is_file():
        raise InputError(f"Audio path '{path}' is not a file. Give the path of a {SUPPORTED} file.")
    try:
        samples = _decode_resampled(path, sample_rate)
    except InputError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError) as error:
        raise InputError(
            f"Audio file '{path}' could not be decoded ({error}). It may be corrupt or in an unsupported "
            f"format: convert it to {SUPPORTED}."
        ) from None
    return check_audio(Audio(samples, sample_rate, str(path)))


def as_audio(source) -> Audio:
    """Checked Audio from a file path, an Audio, or a (samples, sample_rate) pair in either order."""
    if isinstance(source, str | os.PathLike):
        return load_audio(source)
    if isinstance(source, tuple | list) and len(source) == 2:
        first, second = source
        samples, rate = (second, first) if np.ndim(first) == 0 else (first, second)
        if np.ndim(rate) == 0 and np.ndim(samples) >= 1:
            return check_audio(Audio(np.asarray(samples), rate))
    if isinstance(source, Audio):
        return check_audio(source)
    if isinstance(source, np.ndarray):
        raise InputError(f"audio is a bare array of shape {source.shape}; give it with its sample rate: "
                         "(samples, sample_rate), e.g. (samples, 16000)")
    raise InputError(f"audio is {type(source).__name__} {source!r:.40}; give a file path ({SUPPORTED}), an "
                     "Audio, or (samples, sample_rate)")


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
    if audio.duration > MAX_DURATION_S:
        raise InputError(_too_long(name, audio.duration))
    if audio.duration < MIN_DURATION_S:
        raise InputError(
            f"{name} is {audio.duration:.2f} s long; at least {MIN_DURATION_S} s of speech is needed. "
            "Give a longer clip."
        )
    peak = max(float(samples.max()), -float(samples.min()))
    if peak > MAX_FLOAT_PEAK:
        raise InputError(
            f"{name} has samples up to {peak:g}; float samples lie in [-1, 1]: integer PCM stored as floats must "
            "be divided by its full scale (32768 for 16-bit)"
        )
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


# What each audio suffix is written as: the format its name promises.
_WRITERS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
            ".mp3": ("MP3", "MPEG_LAYER_III")}


def save_audio(audio: Audio, path: str | os.PathLike) -> Path:
    """Write `audio` in the format its suffix names (.wav, .flac, .ogg, .mp3), atomically."""
    path = Path(path)
    if path.suffix.lower() not in _WRITERS:
        raise InputError(f"'{path}' must end in {SUPPORTED}: the name says which format is written")
    container, subtype = _WRITERS[path.suffix.lower()]
    with atomic_path(path) as tmp:
        sf.write(tmp, np.clip(audio.samples, -1.0, 1.0), audio.sample_rate, subtype=subtype, format=container)
    return path


def _decode_resampled(path: Path, sample_rate: int) -> np.ndarray:
    """Decode block by block, mixing down and resampling as we go (memory ~ the 16 kHz output only)."""
    with sf.SoundFile(path) as f:
        if not MIN_RATE <= f.samplerate <= MAX_RATE:
            raise InputError(f"Audio file '{path}' says its sample rate is {f.samplerate} Hz, which no speech "
                             f"recording has ({MIN_RATE} Hz at least): its header is probably wrong; re-export it "
                             f"as {SUPPORTED} at its real rate")
        if f.frames / f.samplerate > MAX_DURATION_S:  # the length its header gives (compressed files: an estimate)
            raise InputError(_too_long(f"Audio file '{path}'", f.frames / f.samplerate))
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
            if n > (MAX_DURATION_S + 1.0) * sample_rate:  # a header that understated the length
                raise InputError(_too_long(f"Audio file '{path}'", n / sample_rate, at_least=True))
            if last:
                break
        _warn_if_truncated(path, f, n / sample_rate)
    return out[:n].copy() if n < len(out) // 2 else out[:n]


def _too_long(name: str, seconds: float, at_least: bool = False) -> str:
    return (f"{name} is {'over ' if at_least else ''}{seconds / 60:.1f} minutes long; at most {MAX_DURATION_S / 60:g} "
            "minutes are read at once: split it into parts (e.g. ffmpeg -i IN -f segment -segment_time 300 "
            "part%03d.wav) and render each, one by one or as rows of an `avatar batch` manifest")


def _warn_if_truncated(path: Path, f: sf.SoundFile, read_s: float) -> None:
    """Warn when a file holds less audio than its header promises (a copy or download cut short)."""
    # libsndfile quietly shortens a WAV's length to what the file holds, so its header is read here; compressed
    # formats only estimate their length, so they are not judged.
    promised_s = _wav_header_seconds(path, f.samplerate) if f.format in ("WAV", "WAVEX") else (
        None if f.format in ("MPEG", "OGG") else f.frames / f.samplerate)
    if promised_s is not None and promised_s - read_s > max(0.05, 0.01 * promised_s):
        warnings.warn(f"audio file '{path}' is cut short: its header says {promised_s:.2f} s, but only "
                      f"{read_s:.2f} s could be read; using what is there (re-export or copy it again for the rest)",
                      stacklevel=3)


def _wav_header_seconds(path: Path, sample_rate: int) -> float | None:
    """The length a RIFF/WAVE header's data chunk declares, or None when it declares none (streamed files)."""
    import struct

    with open(path, "rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            chunk, size = head[:4], struct.unpack("<I", head[4:])[0]
            if chunk == b"fmt ":
                fmt = f.read(size)
                if len(fmt) < 14:
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0]
                f.seek(size % 2, 1)
            elif chunk == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size / block_align / sample_rate
            else:
                f.seek(size + size % 2, 1)

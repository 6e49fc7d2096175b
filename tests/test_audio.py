"""Audio in: formats, rates, channels, and a clear error for every kind of bad file."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from avatar.errors import InputError
from avatar.frontend.audio import Audio, check_audio, load_audio, save_wav
from tests.conftest import tone


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype", "rate"),
    [(".wav", "WAV", "PCM_16", 44_100), (".wav", "WAV", "FLOAT", 8_000), (".flac", "FLAC", "PCM_24", 48_000),
     (".ogg", "OGG", "VORBIS", 22_050), (".mp3", "MP3", "MPEG_LAYER_III", 44_100)],
)
def test_formats_and_rates_become_16k_mono(tmp_path, suffix, fmt, subtype, rate):
    left, right = tone(220, 1.5, rate), tone(330, 1.5, rate)
    path = tmp_path / f"clip{suffix}"
    sf.write(path, np.stack([left, right], axis=1), rate, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == 16_000 and audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    # Lossy codecs may pad a few ms at the edges; the duration is otherwise kept.
    assert audio.duration == pytest.approx(1.5, abs=0.06)
    # Stereo is mixed down: both channels' pitches are present.
    spectrum = np.abs(np.fft.rfft(audio.samples[:16_000]))
    freqs = np.fft.rfftfreq(16_000, 1 / 16_000)
    assert spectrum[np.argmin(np.abs(freqs - 220))] > 0.2 * spectrum.max()
    assert spectrum[np.argmin(np.abs(freqs - 330))] > 0.2 * spectrum.max()


def test_resampling_keeps_pitch(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(440, 1.0, 44_100), 44_100)
    audio = load_audio(path)
    peak = np.argmax(np.abs(np.fft.rfft(audio.samples))) * 16_000 / len(audio.samples)
    assert peak == pytest.approx(440, abs=2)


def _error_for(path) -> str:
    with pytest.raises(InputError) as caught:
        load_audio(path)
    message = str(caught.value)
    assert str(path) in message  # every message names the file
    return message


def test_missing_file(tmp_path):
    assert "does not exist" in _error_for(tmp_path / "nope.wav")


def test_directory_is_not_audio(tmp_path):
    assert "not a file" in _error_for(tmp_path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is not audio at all")
    message = _error_for(path)
    assert "could not be decoded" in message and ".mp3" in message


def test_text_file_renamed_as_mp3(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are my notes, not audio\n" * 50)
    assert "could not be decoded" in _error_for(path)


def test_zero_length(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 16_000)
    assert "zero length" in _error_for(path)


def test_pure_silence(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(16_000, np.float32), 16_000)
    assert "silent" in _error_for(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_samples(tmp_path, bad):
    samples = tone(220, 1.0)
    samples[8000] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, samples, 16_000, subtype="FLOAT")
    assert "NaN or infinite" in _error_for(path)


def test_too_short(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, tone(220, 0.2), 16_000)
    message = _error_for(path)
    assert "0.20 s" in message and "0.3 s" in message


def test_in_memory_audio_is_checked_too():
    with pytest.raises(InputError, match="silent"):
        check_audio(Audio(np.zeros(16_000, np.float32)))


def test_save_wav_round_trip_and_atomic(tmp_path):
    audio = Audio(tone(200, 1.0))
    path = save_wav(audio, tmp_path / "sub" / "x.wav")
    back = load_audio(path)
    assert np.max(np.abs(back.samples - audio.samples)) < 1e-3
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.wav"]  # no temporary left behind


def test_long_file_loads_with_bounded_memory(tmp_path):
    """A 10-minute (the longest accepted) 48 kHz stereo file: peak memory stays near the 16 kHz mono result, not the
    input."""
    rate, minutes = 48_000, 10
    path = tmp_path / "long.wav"
    block = np.stack([tone(150, 10.0, rate), tone(190, 10.0, rate)], axis=1)
    with sf.SoundFile(path, "w", rate, 2, subtype="PCM_16") as f:
        for _ in range(minutes * 6):
            f.write(block)
    tracemalloc.start()
    try:
        audio = load_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    output_bytes = audio.samples.nbytes
    decoded_at_input_rate = minutes * 60 * rate * 2 * 4
    assert audio.duration == pytest.approx(minutes * 60, abs=0.01)
    assert peak < 1.5 * output_bytes + 16e6, (peak, output_bytes)
    assert peak < decoded_at_input_rate / 4

"""Frame clock, resampling, frame features and their plot."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from avatar.errors import InputError
from avatar.frontend import features as feats
from avatar.frontend.alignment import Alignment, Interval
from avatar.frontend.audio import Audio, load_audio
from avatar.frontend.features import (
    FrameFeatures,
    extract_features,
    resample_to_clock,
)
from avatar.frontend.plot import plot_features
from avatar.frontend.textgrid import load_alignment_textgrid
from rigs.clock import frame_count, frame_times

SR = 16_000
BEAT_TAKE = "2_scott_0_1_1"


def tone(f0: float, seconds: float, amplitude: float = 0.3, sr: int = SR) -> np.ndarray:
    """A harmonic tone (10 harmonics falling as 1/k), like a sustained vowel."""
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 11))
    return (amplitude * wave / np.max(np.abs(wave))).astype(np.float32)


def noise(seconds: float, amplitude: float, seed: int = 0) -> np.ndarray:
    return (amplitude * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def burst_at(t_s: float, seconds: float = 3.0, length_s: float = 0.01) -> np.ndarray:
    """Quiet noise with a loud noise burst starting at t_s."""
    y = noise(seconds, 1e-3)
    start = int(t_s * SR)
    y[start : start + int(length_s * SR)] += noise(length_s, 0.5, seed=1)
    return y


@pytest.mark.parametrize(
    ("duration", "fps", "expected"),
    [(2.0, 30, 60), (2.0, 60, 120), (2.0, 25, 50), (2.01, 30, 61), (1 / 30, 30, 1), (0.0, 30, 1)]
    + [(0.1, 25, 3), (0.3, 200, 60)],
)
def test_frame_count(duration: float, fps: float, expected: int) -> None:
    assert frame_count(duration, fps) == expected


def test_frame_times() -> None:
    np.testing.assert_allclose(frame_times(4, 25), [0.0, 0.04, 0.08, 0.12])


@pytest.mark.parametrize("fps", [0, -30, 201, float("nan"), float("inf"), "30"])
def test_bad_fps_is_an_input_error(fps: object) -> None:
    with pytest.raises(InputError, match=re.escape(repr(fps))):
        extract_features(Audio(noise(1.0, 0.1)), fps=fps)  # type: ignore[arg-type]


def test_resample_constant_stays_constant() -> None:
    values = np.full((100, 3), 2.5, dtype=np.float32)
    for fps in (25, 30, 60, 100, 200):
        out = resample_to_clock(values, 100, fps, frame_count(1.0, fps))
        assert out.dtype == np.float32 and out.shape == (frame_count(1.0, fps), 3)
        np.testing.assert_allclose(out, 2.5, rtol=1e-6)


def test_resample_averages_a_step_by_area() -> None:
    # 100 Hz source, 0 before frame 50 and 1 from it: the step is at 0.495 s, between frames 49 and 50.
    values = (np.arange(100) >= 50).astype(np.float32)[:, None]
    out = resample_to_clock(values, 100, 10, 10)[:, 0]
    # Frame 5 at 10 fps spans [0.45, 0.55) s, of which 0.055 s is after the step.
    np.testing.assert_allclose(out, [0, 0, 0, 0, 0, 0.55, 1, 1, 1, 1], atol=1e-6)


def test_resample_upsampling_holds_and_mixes_at_edges() -> None:
    values = np.array([[0.0], [1.0], [2.0]], dtype=np.float32)  # 10 Hz: frame j spans [j - 0.5, j + 0.5) / 10
    out = resample_to_clock(values, 10, 40, 12)[:, 0]
    # 40 fps frames of 25 ms: wholly inside a source frame they hold its value, across an edge they mix.
    np.testing.assert_allclose(out, [0, 0, 0.5, 1, 1, 1, 1.5, 2, 2, 2, 2, 2], atol=1e-6)


def test_resample_identity_at_the_same_rate() -> None:
    values = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    np.testing.assert_allclose(resample_to_clock(values, 100, 100, 50), values, atol=1e-5)


@pytest.mark.parametrize(("fps", "expected"), [(30, 60), (60, 120), (25, 50)])
def test_feature_shapes_and_dtypes(fps: float, expected: int) -> None:
    features = extract_features(Audio(noise(2.0, 0.1)), fps=fps)
    assert features.n_frames == expected and features.fps == fps
    assert features.duration == pytest.approx(2.0)
    widths = {"log_mel": 80, "rms": 1, "f0_hz": 1, "voiced_prob": 1, "onset": 1}
    for name, width in widths.items():
        array = getattr(features, name)
        assert array.shape == (expected, width) and array.dtype == np.float32, name
        assert np.isfinite(array).all(), name
    stacked = features.stacked()
    assert stacked.shape == (expected, 84) and stacked.dtype == np.float32
    assert len(FrameFeatures.COLUMNS) == 84 and FrameFeatures.COLUMNS[80:] == (
        "rms",
        "f0_hz",
        "voiced_prob",
        "onset",
    )


def test_other_sample_rates_are_resampled() -> None:
    features = extract_features(Audio(tone(150, 1.0, sr=44_100), 44_100), fps=30)
    assert features.n_frames == 30
    assert np.median(features.f0_hz[5:-5]) == pytest.approx(150, rel=0.02)


@pytest.mark.parametrize("f0", [150.0, 220.0])
def test_f0_of_a_harmonic_tone(f0: float) -> None:
    features = extract_features(Audio(tone(f0, 1.5)), fps=30)
    middle = slice(3, -3)
    assert np.all(features.voiced_prob[middle] > 0.9)
    np.testing.assert_allclose(features.f0_hz[middle], f0, rtol=0.02)


def test_noise_and_silence_are_unvoiced() -> None:
    y = np.concatenate([noise(1.0, 1e-4), tone(180, 1.0), noise(1.0, 1e-4), noise(1.0, 0.2)])
    features = extract_features(Audio(y), fps=30)
    silence, voiced, white = slice(3, 27), slice(33, 57), slice(93, 117)
    assert features.voiced_prob[silence].max() < 0.1 and np.all(features.f0_hz[silence] == 0)
    assert features.voiced_prob[voiced].min() > 0.9 and np.all(features.f0_hz[voiced] > 0)
    assert features.voiced_prob[white].mean() < 0.1 and np.mean(features.f0_hz[white] > 0) < 0.1


def test_rms_follows_loudness() -> None:
    quiet = extract_features(Audio(noise(1.0, 0.01)), fps=30).rms
    loud = extract_features(Audio(noise(1.0, 0.1)), fps=30).rms
    np.testing.assert_allclose(np.median(loud / quiet), 10, rtol=0.05)
    assert np.median(loud) == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize("fps", [30, 60])
def test_a_burst_at_one_second_lands_on_its_frame(fps: float) -> None:
    features = extract_features(Audio(burst_at(1.0)), fps=fps)
    frame = round(1.0 * fps)
    assert int(np.argmax(features.rms)) in (frame, frame + 1)
    assert abs(int(np.argmax(features.onset)) - frame) <= 1
    assert abs(int(np.argmax(features.log_mel.mean(axis=1))) - frame) <= 1


def test_blocks_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = Audio(np.concatenate([tone(200, 1.0), burst_at(0.5, seconds=1.5)]))
    whole = extract_features(audio, fps=30)
    monkeypatch.setattr(feats, "_BLOCK", 37)
    blocked = extract_features(audio, fps=30)
    np.testing.assert_allclose(blocked.stacked(), whole.stacked(), rtol=1e-5, atol=1e-6)


def test_deterministic() -> None:
    audio = Audio(np.concatenate([tone(130, 0.7), noise(0.7, 0.05)]))
    assert np.array_equal(extract_features(audio).stacked(), extract_features(audio).stacked())


def test_npz_round_trip(tmp_path: Path) -> None:
    features = extract_features(Audio(tone(160, 1.0)), fps=25)
    path = features.save_npz(tmp_path / "features.npz")
    loaded = FrameFeatures.load_npz(path)
    assert loaded.fps == 25 and np.array_equal(loaded.stacked(), features.stacked())
    assert [p.name for p in tmp_path.iterdir()] == ["features.npz"]  # no temporary left behind


def test_load_npz_of_another_file_is_an_input_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="save_npz"):
        FrameFeatures.load_npz(tmp_path / "other.npz")


def test_plot_writes_a_png(tmp_path: Path) -> None:
    features = extract_features(Audio(np.concatenate([tone(150, 0.6), noise(0.4, 0.05)])), fps=30)
    phones = (Interval(0.1, 0.3, "HH"), Interval(0.3, 0.6, "OW"))
    alignment = Alignment((Interval(0.1, 0.6, "hello"),), phones, 1.0, "hello")
    path = plot_features(features, tmp_path / "f.png", alignment, title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_features(features, tmp_path / "bare.png")
    assert (tmp_path / "bare.png").stat().st_size > 10_000


def test_real_speech(tmp_path: Path, beat_dir: Path) -> None:
    audio = load_audio(beat_dir / "wav" / f"{BEAT_TAKE}.wav")
    features = extract_features(audio, fps=30)
    assert features.n_frames == frame_count(audio.duration, 30)
    voiced = features.f0_hz[:, 0] > 0
    assert 0.4 < voiced.mean() < 0.85
    assert 100 < np.median(features.f0_hz[voiced]) < 250  # an adult male speaker
    alignment = load_alignment_textgrid(beat_dir / "textgrid" / f"{BEAT_TAKE}.TextGrid")
    # Silence between words (the aligner's empty labels) is mostly unvoiced; vowels are mostly voiced.
    times = frame_times(features.n_frames, 30)

    def share_voiced(intervals) -> float:
        inside = np.zeros(features.n_frames, dtype=bool)
        for i in intervals:
            inside |= (times >= i.start + 0.02) & (times < i.end - 0.02)
        return float(voiced[inside].mean())

    assert share_voiced(alignment.pauses()) < 0.15
    assert share_voiced([p for p in alignment.phones if p.label[:2] in {"AA", "AE", "IY", "OW", "EH"}]) > 0.75
    path = plot_features(features, tmp_path / "beat.png", alignment, title=BEAT_TAKE, span=(1.0, 9.0))
    assert path.stat().st_size > 50_000


def test_window_mel_bank_and_onsets_are_scipys_and_librosas_without_importing_them():
    # The window, the filter bank and the onset strength are written out (scipy.signal's and librosa's imports cost
    # every process about 3 s); the learned generator was trained on theirs, so they must stay the same numbers.
    import librosa

    reference = librosa.filters.mel(sr=16000, n_fft=feats.N_FFT, n_mels=feats.N_MELS, fmin=feats.F_MIN,
                                    fmax=feats.F_MAX)
    np.testing.assert_allclose(feats._mel_basis(), reference, atol=1e-8)
    # The speech emotion recognizer's bank (64 bands, 50-8000 Hz, 512-point FFT) from the same function.
    ser_bank = librosa.filters.mel(sr=16000, n_fft=512, n_mels=64, fmin=50.0, fmax=8000.0)
    np.testing.assert_allclose(feats.mel_filter_bank(16000, 512, 64, 50.0, 8000.0), ser_bank, atol=1e-8)
    from scipy.signal import get_window

    np.testing.assert_allclose(feats._stft_window()[56:456], get_window("hann", feats.WIN), atol=1e-7)
    np.testing.assert_allclose(feats.mel_band_edges(), librosa.mel_frequencies(feats.N_MELS + 2, fmin=feats.F_MIN,
                                                                           fmax=feats.F_MAX), rtol=1e-9)
    audio = Audio(np.random.default_rng(1).normal(0, 0.1, 16000).astype(np.float32), 16000)
    analysed = feats.extract_features(audio, fps=100.0)
    db = analysed.log_mel.T * (10 / np.log(10))
    onsets = librosa.onset.onset_strength(S=db, lag=1, max_size=1, center=False)
    np.testing.assert_allclose(analysed.onset[1:, 0], onsets[1:], rtol=1e-4, atol=1e-4)

"""Augmentation for speech emotion training, so the recognizer holds on real recordings, not just studio takes.

Two stages. On the waveform, once per augmented copy of a clip (`degrade`): speed perturbation (resampling moves
pitch, formants and tempo together, like another voice), then one channel of gain with clipping, an mp3 or
low-quality Ogg round trip, or telephone band-limiting (8 kHz, with mu-law). On mel power, per batch
(`MelAugmenter`): a tempo change (which, with the speed perturbation, makes pitch and tempo vary independently),
additive noise at 0-30 dB SNR (babble from other speakers' clips in the batch, hum, music-like tones, coloured
noise), synthetic room reverberation, gain and band-limiting. Noise and reverberation
are applied to mel power, where they add: cross terms between speech and noise average out over a mel band.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr
import torch

from avatar.recognizers.ser_logmel import FPS, N_MELS, POWER_FLOOR, SAMPLE_RATE, mel_power

SPEED_RANGE = (0.88, 1.12)
SNR_DB = (0.0, 30.0)
RT60_S = (0.2, 1.0)


def degrade(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A speed-perturbed copy of 16 kHz samples through one random channel (clipping, codec, telephone or clean)."""
    factor = rng.uniform(*SPEED_RANGE)
    y = soxr.resample(samples, round(SAMPLE_RATE * factor), SAMPLE_RATE).astype(np.float32)
    y /= max(float(np.abs(y).max()), 1e-6)
    channel = rng.choice(["clip", "mp3", "ogg", "telephone", "clean"], p=[0.2, 0.2, 0.15, 0.2, 0.25])
    if channel == "clip":  # driven 3-15 dB over full scale
        y = np.clip(y * 10 ** (rng.uniform(3, 15) / 20), -1, 1)
    elif channel in ("mp3", "ogg"):
        buffer = io.BytesIO()
        options = {"format": "MP3"} if channel == "mp3" else {"format": "OGG", "subtype": "VORBIS"}
        sf.write(buffer, y * 0.9, SAMPLE_RATE, compression_level=rng.uniform(0.4, 0.9), **options)
        buffer.seek(0)
        decoded = sf.read(buffer, dtype="float32")[0]
        y = np.zeros_like(y)
        y[: min(len(y), len(decoded))] = decoded[: len(y)]
    elif channel == "telephone":
        narrow = soxr.resample(y, SAMPLE_RATE, 8000)
        mu = 255.0  # G.711 mu-law companding at 8 bits
        companded = np.round(np.sign(narrow) * np.log1p(mu * np.abs(narrow)) / np.log1p(mu) * 127) / 127
        narrow = np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(mu)) / mu
        y = soxr.resample(narrow.astype(np.float32), 8000, SAMPLE_RATE)
    return (y * 10 ** (rng.uniform(-25, 0) / 20)).astype(np.float32)


def noise_bank(rng: np.random.Generator, n_each: int = 40, seconds: float = 6.0) -> np.ndarray:
    """(3 * n_each, T, N_MELS) mel power of hum, music-like tones and coloured noise clips, each of unit power."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    clips = []
    for _ in range(n_each):  # mains hum: 50 or 60 Hz with odd and even harmonics, a little buzz
        base = rng.choice([50.0, 60.0])
        clips.append(
            sum(rng.uniform(0.1, 1) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3)) for k in range(1, 12))
        )
    for _ in range(n_each):  # music-like: notes of 0.15-0.6 s, harmonic, decaying, sometimes two voices
        y = np.zeros_like(t)
        for _voice in range(rng.integers(1, 3)):
            start = 0.0
            while start < seconds:
                length = rng.uniform(0.15, 0.6)
                f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
                idx = (t >= start) & (t < start + length)
                tt = t[idx] - start
                note = sum(0.6**k * np.sin(2 * np.pi * f0 * (k + 1) * tt) for k in range(6))
                y[idx] += note * np.exp(-tt * rng.uniform(2, 8))
                start += length
        clips.append(y)
    for _ in range(n_each):  # white, pink or brown noise with slow level changes
        spectrum = np.fft.rfft(rng.standard_normal(len(t)))
        freqs = np.maximum(np.fft.rfftfreq(len(t), 1 / SAMPLE_RATE), 20.0)
        y = np.fft.irfft(spectrum / freqs ** rng.choice([0.0, 0.5, 1.0]), len(t))
        clips.append(y * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 1) * t)))
    powers = [mel_power((c / np.sqrt(np.mean(c**2))).astype(np.float32) * 0.1) for c in clips]
    return np.stack([p / p.sum(1).mean() for p in powers]).astype(np.float32)


class MelAugmenter:
    """Batch augmentation of (B, T, N_MELS) log-mel crops (with a frame mask), returning augmented log-mel."""

    def __init__(self, bank: np.ndarray, seed: int = 0):
        self.bank = torch.from_numpy(bank)
        self.generator = torch.Generator().manual_seed(seed)

    def _uniform(self, lo: float, hi: float, size: int = 1) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(size, generator=self.generator)

    def _chance(self, p: float, size: int) -> torch.Tensor:
        return torch.rand(size, generator=self.generator) < p

    def __call__(self, logmel: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augmented (log-mel, mask); the mask marks real frames (crops shorter than the batch are padded)."""
        b, t, _ = logmel.shape
        power = torch.exp(logmel) * mask[..., None]
        if self._chance(0.4, 1).item():  # tempo: one factor for the batch
            size = max(int(round(t * self._uniform(0.88, 1.12).item())), 8)
            power = torch.nn.functional.interpolate(power.transpose(1, 2), size=size, mode="linear").transpose(1, 2)
            mask = torch.nn.functional.interpolate(mask[:, None].float(), size=size, mode="nearest")[:, 0] > 0.5
            t = size
        power = self._reverb(power, self._chance(0.3, b))
        power = power + self._noise(power, mask, self._chance(0.6, b))
        gain = torch.where(self._chance(0.3, b), 10 ** (self._uniform(-30, 10, b) / 10), torch.ones(b))
        power = power * gain[:, None, None]
        cutoff = torch.randint(28, N_MELS, (b,), generator=self.generator)  # 28 bands: about 2.4 kHz
        limited = self._chance(0.1, b)[:, None] & (torch.arange(N_MELS)[None] >= cutoff[:, None])
        power = power.masked_fill(limited[:, None, :], 0.0)
        out = torch.log(power + POWER_FLOOR)
        return out, mask

    def _noise(self, power: torch.Tensor, mask: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """Noise power at a random SNR for the chosen rows: babble (half), else a clip of the bank."""
        b, t, _ = power.shape
        noise = torch.zeros_like(power)
        for i in chosen.nonzero()[:, 0].tolist():
            if self._chance(0.5, 1).item() and b > 3:  # babble: 3-6 other clips of the batch, shifted in time
                count = int(torch.randint(3, 7, (1,), generator=self.generator).item())
                others = torch.randperm(b, generator=self.generator)[:count]
                others = others[others != i]
                shifts = torch.randint(0, t, (len(others),), generator=self.generator).tolist()
                layer = sum(
                    torch.roll(power[j], s, 0) / power[j].sum(1).mean().clamp_min(1e-10)
                    for j, s in zip(others.tolist(), shifts, strict=True)
                )
            else:
                clip = self.bank[int(torch.randint(len(self.bank), (1,), generator=self.generator))]
                start = int(torch.randint(max(len(clip) - t, 1), (1,), generator=self.generator))
                layer = clip[start : start + t]
                if len(layer) < t:
                    layer = layer.repeat((t // len(layer)) + 1, 1)[:t]
            speech = (power[i].sum(1) * mask[i]).sum() / mask[i].sum().clamp_min(1)
            snr = 10 ** (self._uniform(*SNR_DB).item() / 10)
            noise[i] = layer / layer.sum(1).mean().clamp_min(1e-10) * speech / snr
        return noise

    def _reverb(self, power: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """Room reverberation on mel power: an exponential energy decay (RT60 0.2-1 s, faster in the high bands)
        after a direct path, with a direct-to-reverberant ratio of -3 to 10 dB."""
        if not chosen.any():
            return power
        rows = chosen.nonzero()[:, 0]
        n = len(rows)
        rt60 = self._uniform(*RT60_S, n)[:, None] * torch.linspace(1.0, 0.6, N_MELS)[None]  # (n, bands)
        lags = torch.arange(1, int(RT60_S[1] * FPS) + 1, dtype=torch.float32) / FPS
        tail = torch.exp(-13.8 * lags[None, None] / rt60[..., None])  # energy falls 60 dB (ln 10^6) in rt60
        tail = tail / tail.sum(-1, keepdim=True) * 10 ** (-self._uniform(-3, 10, n)[:, None, None] / 10)
        kernel = torch.cat([torch.ones(n, N_MELS, 1), tail], -1).flip(-1)  # direct path at lag 0
        x = power[rows].transpose(1, 2).reshape(1, n * N_MELS, -1)
        x = torch.nn.functional.pad(x, (kernel.shape[-1] - 1, 0))
        wet = torch.nn.functional.conv1d(x, kernel.reshape(n * N_MELS, 1, -1), groups=n * N_MELS)
        out = power.clone()
        out[rows] = wet.reshape(n, N_MELS, -1).transpose(1, 2)
        return out

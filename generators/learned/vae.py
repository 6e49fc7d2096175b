"""A temporal motion VAE: Conv1d residual blocks, 4x downsampling in time, a Gaussian latent.

One instance encodes the face (59 dims), another the body (306 dims). Inputs are raw features (B, T, D) with T a
multiple of 4; the model normalises them with per-dim statistics it stores (buffers, set from the training data),
and its latents are normalised to unit scale with latent statistics it also stores, so the denoiser sees
zero-mean, unit-variance tokens whatever the modality.

With `condition_dim` > 0 the decoder also reads frame-level features (the speech content) at the full frame rate,
added after its last upsampling. A 4x latent holds a token per 133 ms, too coarse for a lip closure of two or three
frames; the audio says exactly when the lips meet, so the decoder takes the timing from it and the latent carries
what the audio does not say (emotion, style, the variation between seeds).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from generators.learned.modeling import ConfiguredModule

DOWNSAMPLE = 4


class FrameNorm(nn.LayerNorm):
    """LayerNorm over the channels of each frame: unlike GroupNorm it pools nothing over time, so the network stays
    local (a frame depends on its neighbours only), which makes window-by-window and streamed decoding exact."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T) -> (B, C, T)."""
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class PaddedConv1d(nn.Conv1d):
    """Conv1d with replicate padding (sequence ends see no phantom zeros); causal pads only the past."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, causal: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride)
        total = kernel_size - stride
        self.pad = (total, 0) if causal else (total // 2, total - total // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T) -> (B, C_out, T / stride)."""
        return super().forward(F.pad(x, self.pad, mode="replicate"))


class ResBlock1d(nn.Module):
    """Norm-SiLU-Conv twice, with a skip."""

    def __init__(self, channels: int, out_channels: int | None = None, causal: bool = False):
        super().__init__()
        out_channels = out_channels or channels
        self.norm1 = FrameNorm(channels)
        self.conv1 = PaddedConv1d(channels, out_channels, 3, causal=causal)
        self.norm2 = FrameNorm(out_channels)
        self.conv2 = PaddedConv1d(out_channels, out_channels, 3, causal=causal)
        self.skip = nn.Conv1d(channels, out_channels, 1) if out_channels != channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T) -> (B, C_out, T)."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class MotionVAE(ConfiguredModule):
    """Motion (B, T, input_dim) <-> latent (B, T/4, latent_dim); widths are the channels at 1x, 1/2x and 1/4x.

    The decoder is causal by default (a frame depends on its own and earlier latent tokens only, about 10 back), so
    a stream can emit frames as soon as their token exists and they never change afterwards.
    """

    def __init__(self, input_dim: int = 59, latent_dim: int = 32, widths: tuple[int, ...] = (96, 192, 192),
                 std_floor: float = 1e-2, causal_decoder: bool = True, condition_dim: int = 0):
        super().__init__()
        w0, w1, w2 = tuple(widths)
        self.encoder = nn.Sequential(
            PaddedConv1d(input_dim, w0, 3),
            ResBlock1d(w0), PaddedConv1d(w0, w1, 4, stride=2),
            ResBlock1d(w1), PaddedConv1d(w1, w2, 4, stride=2),
            ResBlock1d(w2), FrameNorm(w2), nn.SiLU(), PaddedConv1d(w2, 2 * latent_dim, 3))
        # Nearest upsampling + conv instead of transposed convs: no checkerboard ripple in the decoded motion. A
        # causal decoder still steps at token boundaries, as it cannot see the next token: the pipeline averages the
        # body over one token (pipeline.token_average).
        c = causal_decoder
        self.decoder = nn.Sequential(
            PaddedConv1d(latent_dim, w2, 3, causal=c), ResBlock1d(w2, causal=c),
            nn.Upsample(scale_factor=2, mode="nearest"), ResBlock1d(w2, w1, causal=c),
            nn.Upsample(scale_factor=2, mode="nearest"), ResBlock1d(w1, w0, causal=c),
            FrameNorm(w0), nn.SiLU(), PaddedConv1d(w0, input_dim, 3, causal=c))
        # Frame features enter after the last upsampling (decoder[4]), where the decoder runs at the frame rate.
        self.condition = nn.Sequential(
            PaddedConv1d(condition_dim, w1, 3, causal=c), nn.SiLU(),
            PaddedConv1d(w1, w1, 3, causal=c)) if condition_dim else None
        self.register_buffer("feature_mean", torch.zeros(input_dim))
        self.register_buffer("feature_std", torch.ones(input_dim))
        self.register_buffer("latent_mean", torch.zeros(latent_dim))
        self.register_buffer("latent_std", torch.ones(latent_dim))

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training data's per-dim mean and std (std floored so constant dims do not blow up)."""
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feature_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(self.config.std_floor))

    def set_latent_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the per-dim mean and std of the encoder's posterior means over the training data."""
        self.latent_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.latent_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-4))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw features -> standardised features."""
        return (x - self.feature_mean) / self.feature_std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised features -> raw features."""
        return x * self.feature_std + self.feature_mean

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw motion (B, T, D) -> posterior mean and log-variance, each (B, T/4, latent_dim)."""
        if x.shape[1] % DOWNSAMPLE:
            raise ValueError(f"MotionVAE.encode: length {x.shape[1]} is not a multiple of {DOWNSAMPLE}; pad it")
        h = self.encoder(self.normalize(x).transpose(1, 2)).transpose(1, 2)
        mean, logvar = h.chunk(2, dim=-1)
        return mean, logvar.clamp(-30.0, 10.0)

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Latent (B, N, latent_dim) and, if the VAE takes them, frame features (B, 4N, C) -> raw motion (B, 4N, D)."""
        return self.denormalize(self._decode_norm(z, condition))

    def _decode_norm(self, z: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        """Latent -> standardised motion."""
        if (condition is None) != (self.condition is None):
            raise ValueError(f"MotionVAE.decode: this VAE takes condition_dim={self.config.condition_dim} frame "
                             f"features; {'give' if condition is None else 'do not give'} a condition")
        h = z.transpose(1, 2)
        for index, layer in enumerate(self.decoder):
            h = layer(h)
            if index == 4 and condition is not None:
                if condition.shape[1] != h.shape[2]:
                    raise ValueError(f"MotionVAE.decode: condition has {condition.shape[1]} frames, the latent "
                                     f"decodes to {h.shape[2]}")
                h = h + self.condition(condition.transpose(1, 2))
        return h.transpose(1, 2)

    def to_unit(self, z: torch.Tensor) -> torch.Tensor:
        """Latent -> the unit-scale latent the denoiser works in."""
        return (z - self.latent_mean) / self.latent_std

    def from_unit(self, z: torch.Tensor) -> torch.Tensor:
        """Unit-scale latent -> latent."""
        return z * self.latent_std + self.latent_mean

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None, generator: torch.Generator | None = None,
                sample: bool = True) -> dict:
        """Reconstruct raw motion; returns recon (raw), recon_norm, mean, logvar and kl (per latent element)."""
        mean, logvar = self.encode(x)
        z = mean
        if sample:
            z = mean + torch.randn(mean.shape, generator=generator, device=mean.device) * torch.exp(0.5 * logvar)
        recon_norm = self._decode_norm(z, condition)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)
        return {"recon": self.denormalize(recon_norm), "recon_norm": recon_norm, "mean": mean, "logvar": logvar,
                "kl": kl}

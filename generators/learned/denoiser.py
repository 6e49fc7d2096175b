"""A transformer that denoises motion latents, conditioned on content, emotion, style and the diffusion step.

Each latent token is [face latent | body latent] for 4 frames, so face and body share one timing and one emotion.
How each condition gets in, and why:
- content (B, 4N, 114): a small conv stack (two stride-2 convs) turns frame features into one token per latent
  frame, added to the input tokens; it is what is said and when, so it belongs in the token stream itself.
- context (B, N, L) with a mask (B, N): clean latents already known (the previous window's tail, or the frames a
  stream has emitted), fed beside the noisy sample like an in-painting model's masked image, so the model learns
  to continue motion rather than only being overwritten (the sampler also replaces those tokens, RePaint-style).
- diffusion step, style (global) and emotion (per token, averaged to the latent rate) are summed into one
  per-token condition vector that drives adaLN-Zero modulation (shift, scale, gate) of every block. Modulation
  reaches every layer, which keeps emotion strong under guidance; per-token lets an emotion curve change mid-take.
  Zero-initialised gates make each block start as the identity, the stable DiT initialisation.
Emotion and style each have a learned null embedding: dropping them in training gives classifier-free guidance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from generators.learned.modeling import ConfiguredModule


def sinusoidal(values: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding (..., dim) of real values (timesteps or positions)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=values.device) / half)
    angles = values.float()[..., None] * freqs
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


def _mlp(in_dim: int, d_model: int) -> nn.Sequential:
    """Linear-SiLU-Linear embedding."""
    return nn.Sequential(nn.Linear(in_dim, d_model), nn.SiLU(), nn.Linear(d_model, d_model))


class DenoiserBlock(nn.Module):
    """Pre-norm self-attention and MLP, each modulated (shift, scale, gate) by the per-token condition."""

    def __init__(self, d_model: int, n_heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.n_heads, self.dropout = n_heads, dropout
        self.norm1 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(d_model, ff_mult * d_model), nn.GELU(approximate="tanh"),
                                 nn.Dropout(dropout), nn.Linear(ff_mult * d_model, d_model))
        self.modulation = nn.Linear(d_model, 6 * d_model)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x, cond (B, N, d) -> (B, N, d)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(cond)).chunk(6, dim=-1)
        b, n, d = x.shape
        h = self.norm1(x) * (1 + scale1) + shift1
        q, k, v = self.qkv(h).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        x = x + gate1 * self.proj(attn.transpose(1, 2).reshape(b, n, d))
        h = self.norm2(x) * (1 + scale2) + shift2
        return x + gate2 * self.mlp(h)


class MotionDenoiser(ConfiguredModule):
    """Predicts the diffusion target (v) for a noisy latent sequence (B, N, latent_dim) given its conditions."""

    def __init__(self, latent_dim: int = 64, content_dim: int = 114, emotion_dim: int = 11, style_dim: int = 6,
                 d_model: int = 256, n_layers: int = 4, n_heads: int = 4, ff_mult: int = 2, dropout: float = 0.1):
        super().__init__()
        self.input = nn.Linear(2 * latent_dim + 1, d_model)
        # Frame rate -> latent rate (4x), with a little temporal context per token.
        width = d_model // 2
        self.content = nn.Sequential(
            nn.Conv1d(content_dim, width, 3, padding=1, padding_mode="replicate"), nn.SiLU(),
            nn.Conv1d(width, width, 4, stride=2, padding=1, padding_mode="replicate"), nn.SiLU(),
            nn.Conv1d(width, d_model, 4, stride=2, padding=1, padding_mode="replicate"))
        self.emotion = _mlp(emotion_dim, d_model)
        self.style = _mlp(style_dim, d_model)
        self.time = _mlp(d_model, d_model)
        self.null_emotion = nn.Parameter(torch.randn(d_model) * 0.02)
        self.null_style = nn.Parameter(torch.randn(d_model) * 0.02)
        self.blocks = nn.ModuleList(DenoiserBlock(d_model, n_heads, ff_mult, dropout) for _ in range(n_layers))
        self.final_norm = nn.LayerNorm(d_model, elementwise_affine=False)
        self.final_modulation = nn.Linear(d_model, 2 * d_model)
        self.output = nn.Linear(d_model, latent_dim)
        for layer in (self.final_modulation, self.output):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | int, content: torch.Tensor,
                emotion: torch.Tensor, style: torch.Tensor, context: torch.Tensor | None = None,
                context_mask: torch.Tensor | None = None, drop_emotion: torch.Tensor | None = None,
                drop_style: torch.Tensor | None = None) -> torch.Tensor:
        """sample (B, N, L), content (B, 4N, 114), emotion (B, 4N, 11), style (B, 6) -> prediction (B, N, L).

        context/context_mask: known clean tokens (mask True); drop_*: (B,) bools, True = use the null embedding.
        """
        b, n, _ = sample.shape
        if content.shape[1] != 4 * n or emotion.shape[1] != 4 * n:
            raise ValueError(f"MotionDenoiser: content and emotion need {4 * n} frames for {n} latent tokens, "
                             f"got {content.shape[1]} and {emotion.shape[1]}")
        if context is None:
            mask = sample.new_zeros(b, n, 1)
            context = torch.zeros_like(sample)
        else:
            mask = context_mask.to(sample.dtype).expand(b, n)[..., None]
        x = self.input(torch.cat([sample, context * mask, mask], dim=-1))
        x = x + self.content(content.transpose(1, 2)).transpose(1, 2)
        x = x + sinusoidal(torch.arange(n, device=sample.device), x.shape[-1])

        emo = self.emotion(emotion.reshape(b, n, 4, -1).mean(dim=2))
        sty = self.style(style)
        if drop_emotion is not None:
            emo = torch.where(drop_emotion.reshape(b, 1, 1), self.null_emotion.to(emo.dtype), emo)
        if drop_style is not None:
            sty = torch.where(drop_style.reshape(b, 1), self.null_style.to(sty.dtype), sty)
        timestep = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(b)
        cond = emo + (sty + self.time(sinusoidal(timestep, x.shape[-1])))[:, None, :]

        for block in self.blocks:
            x = block(x, cond)
        shift, scale = self.final_modulation(F.silu(cond)).chunk(2, dim=-1)
        return self.output(self.final_norm(x) * (1 + scale) + shift)

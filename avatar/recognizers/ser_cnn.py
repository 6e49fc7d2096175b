"""A small convolutional network over log-mel for speech emotion: the time-frequency pattern, not its statistics.

The input is a span's 64-band log-mel with each band's mean over the span removed (channel normalisation: a fixed
microphone or room colouring, and the level, is a constant per band in the log domain, so no corpus is recognizable
by its microphone). Four conv blocks (3x3 strided convolution, BatchNorm, GELU) halve the frequency rows at each
block and the frames at two (by 4 in all); the remaining frequency rows are stacked as channels of a 1-D sequence,
which attentive statistics pooling (a learned weight per frame; the weighted mean and standard deviation) turns
into one vector, read by a linear head: the class logits and, through tanh, valence, arousal and dominance.
Padded frames (a batch of spans of different lengths) are masked out of the normalisation and the pooling.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from avatar.recognizers.ser_logmel import N_MELS

CHANNELS = (16, 24, 48, 64)
STRIDES = ((2, 2), (2, 1), (2, 2), (2, 1))  # (frequency, time) of each block's convolution
TIME_STRIDE = 4  # product of the time strides
EMBED = 128  # width of the pooled frame features


def _block(c_in: int, c_out: int, stride: tuple[int, int]) -> nn.Sequential:
    # Strided convolution rather than convolution then pooling: the work is done at the output's resolution only.
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU())


class SpeechEmotionCNN(nn.Module):
    """(B, T, N_MELS) log-mel with a (B, T) frame mask -> class logits (B, classes) and VAD (B, 3) in [-1, 1]."""

    def __init__(self, n_classes: int, embed: int = EMBED, dropout: float = 0.3):
        super().__init__()
        widths = (1, *CHANNELS)
        self.blocks = nn.Sequential(
            *(_block(a, b, p) for a, b, p in zip(widths[:-1], widths[1:], STRIDES, strict=True))
        )
        rows = N_MELS
        for f, _ in STRIDES:
            rows //= f
        self.frame = nn.Sequential(
            nn.Conv1d(CHANNELS[-1] * rows, embed, 1, bias=False), nn.BatchNorm1d(embed), nn.GELU()
        )
        self.attention = nn.Sequential(nn.Conv1d(embed, 64, 1), nn.Tanh(), nn.Conv1d(64, 1, 1))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * embed, n_classes + 3)
        self.n_classes = n_classes

    @staticmethod
    def normalise(logmel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Each band minus its mean over the span's real frames; padded frames 0."""
        weight = mask[..., None].to(logmel.dtype)
        mean = (logmel * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True).clamp_min(1)
        return (logmel - mean) * weight

    def classify(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and VAD of normalised log-mel (B, T, N_MELS)."""
        h = self.blocks(x.transpose(1, 2)[:, None])  # (B, C, rows, T / TIME_STRIDE)
        h = self.frame(h.flatten(1, 2))  # (B, embed, T')
        keep = F.max_pool1d(mask[:, None].float(), TIME_STRIDE, ceil_mode=True)[:, :, : h.shape[-1]] > 0
        score = self.attention(h).masked_fill(~keep, -1e4)
        w = torch.softmax(score, -1)
        mean = (h * w).sum(-1)
        std = ((h - mean[..., None]) ** 2 * w).sum(-1).clamp_min(1e-6).sqrt()
        out = self.head(self.dropout(torch.cat([mean, std], 1)))
        return out[:, : self.n_classes], torch.tanh(out[:, self.n_classes :])

    def forward(self, logmel: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class probabilities (B, classes) and VAD (B, 3)."""
        logits, vad = self.classify(self.normalise(logmel, mask), mask)
        return torch.softmax(logits, -1), vad

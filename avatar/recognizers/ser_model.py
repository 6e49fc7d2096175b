"""The speech emotion network: an ensemble of small MLPs over a span's features, with an emotion and a VAD head.

Each member is one hidden layer (GELU, dropout) over the standardised features of a span (`speech_emotion.
span_features`: the log-mel functionals of `ser_functionals` and the prosody of `ser_prosody`); its output
is the class logits and, through tanh, valence, arousal and dominance. The ensemble's class probabilities are the
mean of the members' softmaxes, its VAD the mean of theirs. The standardisation (the training features' mean and
standard deviation) is stored in the weights.
"""

from __future__ import annotations

import torch
from torch import nn


class SpeechEmotionMLP(nn.Module):
    """M one-hidden-layer MLPs side by side: (N, features) -> class probabilities (N, classes) and VAD (N, 3)."""

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden: int = 256,
        members: int = 5,
        dropout: float = 0.3,
        input_dropout: float = 0.1,
    ):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        bound1, bound2 = n_features**-0.5, hidden**-0.5  # torch.nn.Linear's default initialisation range
        self.w1 = nn.Parameter(torch.empty(members, n_features, hidden).uniform_(-bound1, bound1))
        self.b1 = nn.Parameter(torch.empty(members, 1, hidden).uniform_(-bound1, bound1))
        self.w2 = nn.Parameter(torch.empty(members, hidden, n_classes + 3).uniform_(-bound2, bound2))
        self.b2 = nn.Parameter(torch.empty(members, 1, n_classes + 3).uniform_(-bound2, bound2))
        self.input_dropout, self.dropout = nn.Dropout(input_dropout), nn.Dropout(dropout)
        self.n_classes = n_classes

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's class logits (M, N, classes) and VAD (M, N, 3) for (N, features) raw features."""
        z = self.input_dropout((x - self.feature_mean) / self.feature_std)
        z = z.expand(self.w1.shape[0], *z.shape)
        h = self.dropout(torch.nn.functional.gelu(torch.baddbmm(self.b1, z, self.w1)))
        out = torch.baddbmm(self.b2, h, self.w2)
        return out[..., : self.n_classes], torch.tanh(out[..., self.n_classes :])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ensemble class probabilities (N, classes) and VAD (N, 3) for (N, features) raw features."""
        logits, vad = self.outputs(x)
        return torch.softmax(logits, -1).mean(0), vad.mean(0)

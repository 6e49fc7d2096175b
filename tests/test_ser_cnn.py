"""The log-mel CNN for speech emotion: channel normalisation, padding masks, deterministic training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar.recognizers.ser_cache import MelCache
from avatar.recognizers.ser_cnn import SpeechEmotionCNN
from avatar.recognizers.ser_cnn_train import CNNConfig, fit_cnn, read_clips_cnn
from avatar.recognizers.ser_corpus import CORPUS_LABELS, HEAD_LABELS, Clip
from avatar.recognizers.ser_logmel import N_MELS


@pytest.fixture(scope="module")
def model() -> SpeechEmotionCNN:
    torch.manual_seed(0)
    net = SpeechEmotionCNN(len(HEAD_LABELS))
    with torch.no_grad():  # BatchNorm statistics away from the identity, as after training
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_a_microphone_colouring_and_the_level_do_not_change_the_reading(model):
    logmel = torch.randn(2, 230, N_MELS)
    mask = torch.ones(2, 230, dtype=torch.bool)
    colouring = torch.linspace(-3, 2, N_MELS) + 1.7  # a fixed spectral tilt and gain: constant per band in log
    with torch.no_grad():
        probs, vad = model(logmel, mask)
        coloured_probs, coloured_vad = model(logmel + colouring, mask)
    assert torch.allclose(probs, coloured_probs, atol=1e-5) and torch.allclose(vad, coloured_vad, atol=1e-5)
    assert probs.sum(1) == pytest.approx([1.0, 1.0]) and vad.abs().max() <= 1


def test_a_padded_span_reads_as_it_does_alone(model):
    short, long = torch.randn(1, 157, N_MELS), torch.randn(1, 301, N_MELS)
    batch = torch.zeros(2, 301, N_MELS)
    batch[0, :157], batch[1] = short[0], long[0]
    mask = torch.zeros(2, 301, dtype=torch.bool)
    mask[0, :157], mask[1] = True, True
    with torch.no_grad():
        together, _ = model(batch, mask)
        alone, _ = model(short, torch.ones(1, 157, dtype=torch.bool))
    # The strided convolutions see the zeros past the end at the span's last frames only; the pooling masks them.
    assert torch.allclose(together[0], alone[0], atol=0.02)
    assert together[0].argmax() == alone[0].argmax()


def _tiny_cache(folder) -> tuple[list[Clip], MelCache]:
    """Twelve synthetic clips of two corpora in three copies, as the cache holds them."""
    rng = np.random.default_rng(0)
    labels = CORPUS_LABELS["crema_d"]
    clips = [
        Clip(Path(f"c{i}.ogg"), "crema_d" if i % 2 else "emodb", f"s{i % 4}", labels[i % 3], "", 2.0) for i in range(12)
    ]
    lengths = rng.integers(120, 320, len(clips))
    offsets = np.tile(np.concatenate([[0], np.cumsum(lengths)]), (3, 1))
    arrays = [rng.normal(-6, 2, (int(offsets[0, -1]), N_MELS)).astype(np.float16) for _ in range(3)]
    bank = rng.uniform(0.1, 1, (3, 600, N_MELS)).astype(np.float32)
    return clips, MelCache(arrays, offsets, bank, Path(folder), [])


def test_training_is_deterministic_per_seed(tmp_path):
    config = CNNConfig(steps=3, batch=6, embed=16)
    weights = []
    for run in ("a", "b"):  # two folders: the second run trains again rather than reading the first's weights
        clips, cache = _tiny_cache(tmp_path / run)
        model = fit_cnn(clips, cache, np.arange(len(clips)) < 10, config)
        weights.append(model.state_dict())
        assert len(list((tmp_path / run / "models").glob("cnn-*.safetensors"))) == 1
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    probs, vad = read_clips_cnn(model, cache, [10, 11])
    assert probs.shape == (2, len(HEAD_LABELS)) and np.allclose(probs.sum(1), 1) and vad.shape == (2, 3)

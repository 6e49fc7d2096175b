"""Train the log-mel CNN (`ser_cnn`) on the speech emotion cache, and probe it on one held-out speaker fold.

    python -m avatar.recognizers.ser_cnn_train --fold 0 [--compare mlp_fold0.npz]

Each step draws a batch of clips (corpus shares and classes balanced as `train_ser.draw_weights`), each from one
of the cache's copies (as recorded, or one of the two degraded copies: speed perturbation and a channel), cut to a
random crop of 1.5-4 s (one length per batch; a shorter clip is used whole and padded under the mask). Half the
batches go through the mel-power augmentation (`MelAugmenter`: tempo, noise and babble at 0-30 dB SNR,
reverberation, gain, band-limiting); every crop gets SpecAugment (two frequency and two time masks) after the
band-mean normalisation, and half the batches are mixup pairs. The loss is cross-entropy with label smoothing plus
the VAD error, as the MLP ensemble's. The held-out clips are read as `train_ser.read_clips` reads them: cut into
segments of about SEGMENT_S, each read whole, the probabilities averaged.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from avatar.emotion.windows import equal_parts
from avatar.recognizers.ser_augment import MelAugmenter
from avatar.recognizers.ser_cache import MelCache, build_cache
from avatar.recognizers.ser_cnn import EMBED, SpeechEmotionCNN
from avatar.recognizers.ser_corpus import (
    CORPORA,
    CORPUS_LABELS,
    HEAD_LABELS,
    Clip,
    draw_weights,
    read_manifest,
    speaker_folds,
)
from avatar.recognizers.ser_logmel import FPS, N_MELS
from avatar.recognizers.speech_emotion import SEGMENT_S
from rigs.fileio import atomic_path
from rigs.paths import shared_data

Progress = Callable[[str, float], None]  # (stage, fraction done in [0, 1])


@dataclass(frozen=True)
class CNNConfig:
    """Hyperparameters of the CNN and its training."""

    embed: int = EMBED
    dropout: float = 0.3
    steps: int = 6000
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    vad_weight: float = 1.0
    crop_s: tuple[float, float] = (1.5, 4.0)
    augment_share: float = 0.5  # batches through MelAugmenter
    mixup_share: float = 0.5  # batches mixed in pairs
    mixup_alpha: float = 0.4
    freq_mask: int = 8  # SpecAugment: up to this many bands, twice
    time_mask: float = 0.1  # ... and up to this share of the crop, twice
    seed: int = 0


def draw_batch(
    clips: list[Clip], cache: MelCache, cumulative: np.ndarray, config: CNNConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Log-mel crops (B, L, N_MELS), their frame mask (B, L) and their clips' indices."""
    chosen = np.minimum(np.searchsorted(cumulative, rng.random(config.batch), side="right"), len(clips) - 1)
    length = int(rng.uniform(*config.crop_s) * FPS)
    logmel = np.zeros((config.batch, length, N_MELS), np.float32)
    mask = np.zeros((config.batch, length), bool)
    for row, i in enumerate(chosen):
        copy = int(rng.integers(0, cache.copies))
        n = cache.length(i, copy)
        start = int(rng.integers(0, n - length + 1)) if n > length else 0
        crop = cache.clip(i, copy)[start : start + length]
        logmel[row, : len(crop)], mask[row, : len(crop)] = crop, True
    return torch.from_numpy(logmel), torch.from_numpy(mask), chosen


def spec_augment(x: torch.Tensor, mask: torch.Tensor, config: CNNConfig, generator: torch.Generator) -> torch.Tensor:
    """Two frequency masks and two time masks per crop, set to 0 (the band mean after normalisation)."""
    b, t, bands = x.shape
    keep = torch.ones_like(x, dtype=torch.bool)
    lengths = mask.sum(1)
    for _ in range(2):
        width = torch.randint(0, config.freq_mask + 1, (b,), generator=generator)
        start = (torch.rand(b, generator=generator) * (bands - width)).long()
        band = torch.arange(bands)[None]
        keep &= ~((band >= start[:, None]) & (band < (start + width)[:, None]))[:, None, :]
        width = (torch.rand(b, generator=generator) * config.time_mask * lengths).long()
        start = (torch.rand(b, generator=generator) * (lengths - width).clamp_min(0)).long()
        frame = torch.arange(t)[None]
        keep &= ~((frame >= start[:, None]) & (frame < (start + width)[:, None]))[..., None]
    return x * keep


def _loss(
    logits: torch.Tensor, vad: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor, config: CNNConfig
) -> torch.Tensor:
    ce = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
    return ce + config.vad_weight * F.mse_loss(vad, targets)


def fit_cnn(
    clips: list[Clip],
    cache: MelCache,
    chosen: np.ndarray,
    config: CNNConfig,
    progress: Progress | None = None,
    stage: str = "CNN",
    snapshot: Path | None = None,
) -> SpeechEmotionCNN:
    """A CNN trained on the chosen clips (bool mask over clips); deterministic per seed on one thread. Kept in the
    cache folder under a key of the clips and config (read back instead of training again)."""
    identity = f"{asdict(config)}\n{np.packbits(chosen).tobytes().hex()}"
    stored = cache.folder / "models" / f"cnn-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.safetensors"
    torch.manual_seed(config.seed)
    model = SpeechEmotionCNN(len(HEAD_LABELS), config.embed, config.dropout)
    if stored.is_file():
        model.load_state_dict(load_file(stored))
        return model.eval()
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    augment = MelAugmenter(cache.bank, seed=config.seed)
    cumulative = np.cumsum(draw_weights(clips, chosen))
    labels = torch.tensor([c.label_index for c in clips])
    vad = torch.from_numpy(np.stack([c.vad for c in clips]))
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.steps)
    model.train()
    for step in range(config.steps):
        logmel, mask, drawn = draw_batch(clips, cache, cumulative, config, rng)
        if rng.random() < config.augment_share:
            logmel, mask = augment(logmel, mask)
        x = spec_augment(model.normalise(logmel, mask), mask, config, generator)
        y, target = labels[drawn], vad[drawn]
        if rng.random() < config.mixup_share:
            lam = float(rng.beta(config.mixup_alpha, config.mixup_alpha))
            pair = torch.from_numpy(rng.permutation(len(drawn)))
            x, mask = lam * x + (1 - lam) * x[pair], mask | mask[pair]
            logits, out = model.classify(x, mask)
            loss = lam * _loss(logits, out, y, target, config) + (1 - lam) * _loss(
                logits, out, y[pair], target[pair], config
            )
        else:
            logits, out = model.classify(x, mask)
            loss = _loss(logits, out, y, target, config)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress and (step % 100 == 0 or step + 1 == config.steps):
            progress(stage, (step + 1) / config.steps)
        if snapshot and (step + 1) % 1000 == 0:
            with atomic_path(snapshot) as tmp:
                save_file(dict(model.state_dict()), str(tmp))
    stored.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(stored) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    return model.eval()


def read_clips_cnn(model: SpeechEmotionCNN, cache: MelCache, indices) -> tuple[np.ndarray, np.ndarray]:
    """Head probabilities (N, classes) and VAD (N, 3) of the clips (as recorded), each cut into segments of about
    SEGMENT_S read whole, averaged (as `train_ser.read_clips`)."""
    probs, vads = [], []
    model.eval()
    with torch.no_grad():
        for i in indices:
            mel = torch.from_numpy(cache.clip(int(i), 0).astype(np.float32))
            spans = equal_parts(len(mel), FPS, SEGMENT_S)
            width = max(b - a for a, b in spans)
            batch = torch.zeros(len(spans), width, N_MELS)
            mask = torch.zeros(len(spans), width, dtype=torch.bool)
            for row, (a, b) in enumerate(spans):
                batch[row, : b - a], mask[row, : b - a] = mel[a:b], True
            p, v = model(batch, mask)
            probs.append(p.mean(0).numpy())
            vads.append(v.mean(0).numpy())
    return np.array(probs, np.float64), np.array(vads, np.float64)


def fold_scores(clips: list[Clip], held: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """UAR per corpus of the held-out clips, each on its corpus's classes."""
    from avatar.recognizers.train_ser import scores  # train_ser trains this CNN: imported here, not at the top

    out = {}
    for corpus in CORPORA:
        rows = [k for k, i in enumerate(held) if clips[i].corpus == corpus]
        if rows:
            out[corpus] = scores([clips[held[k]].label for k in rows], probs[rows], CORPUS_LABELS[corpus])["uar"]
    return out


def main(argv: list[str] | None = None) -> int:
    """Probe: train on every fold but --fold, read it, print UAR per corpus (and with --compare, of the average
    with another model's probabilities of the same clips)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(shared_data("ser")))
    parser.add_argument("--cache", default=None, help="log-mel cache folder (default ~/.cache/avatar/ser)")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--steps", type=int, default=CNNConfig.steps)
    parser.add_argument("--out", default=None, help="write the held-out probabilities here (.npz)")
    parser.add_argument("--snapshot", default=None, help="save the weights here every 1000 steps")
    parser.add_argument("--compare", default=None, help=".npz with held and probs of another model (same fold)")
    args = parser.parse_args(argv)
    from avatar.recognizers.train_ser import DEGRADED_COPIES, _threads, ccc, default_cache_dir

    def report(stage: str, fraction: float) -> None:
        print(f"{time.strftime('%H:%M:%S')} {stage}: {100 * fraction:5.1f} %", file=sys.stderr, flush=True)

    clips = read_manifest(args.data)
    fold = speaker_folds(clips)
    with _threads(1):
        cache = build_cache(clips, args.cache or default_cache_dir(), 1 + DEGRADED_COPIES, with_tracks=False)
        config = CNNConfig(steps=args.steps)
        snapshot = Path(args.snapshot) if args.snapshot else None
        model = fit_cnn(clips, cache, fold != args.fold, config, report, f"fold {args.fold}", snapshot)
        held = np.flatnonzero(fold == args.fold)
        probs, vads = read_clips_cnn(model, cache, held)
    if args.out:
        with atomic_path(Path(args.out)) as tmp, open(tmp, "wb") as f:
            np.savez(f, held=held, probs=probs, vads=vads)
    arousal = np.array([clips[i].vad[1] for i in held])

    def show(name: str, p: np.ndarray, v: np.ndarray) -> None:
        uar = {k: round(100 * x, 1) for k, x in fold_scores(clips, held, p).items()}
        print(name, "UAR %", uar, "arousal CCC", round(ccc(v[:, 1], arousal), 3))

    show("cnn", probs, vads)
    if args.compare:
        with np.load(args.compare) as other:
            assert np.array_equal(other["held"], held), "the other model's clips are not this fold's"
            show("other", other["probs"], other["vads"])
            show("average", (probs + other["probs"]) / 2, (vads + other["vads"]) / 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

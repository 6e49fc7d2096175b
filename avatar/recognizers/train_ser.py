"""Train the speech emotion recognizer on the four corpora; evaluate it speaker-independently and cross-corpus.

    avatar train ser -o checkpoints/ser      # --data: the shared data's ser/ folder unless given

Steps: the log-mel and pitch-track cache (`ser_cache`: every clip as recorded and in DEGRADED_COPIES degraded
copies) and the features (log-mel functionals and prosody) of each clip's training views (kept beside it; `--workers`
processes compute them, with the same result for any number); five speaker folds (`ser_corpus.speaker_folds`: whole
speakers of every corpus held out together), each a model trained on the other four folds that reads its held-out
clips as `predict` does; two cross-corpus models (trained without RAVDESS, and without CREMA-D, each tested on the
corpus it never heard); then the shipped model on every speaker but TEST_SPEAKERS. Every run uses the same
TrainConfig; with `--cnn-steps N` each model is the MLP ensemble and a log-mel CNN (`ser_cnn_train`) averaged.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from avatar.emotion.windows import equal_parts
from avatar.errors import InputError
from avatar.recognizers.ser_augment import MelAugmenter
from avatar.recognizers.ser_cache import MelCache, build_cache
from avatar.recognizers.ser_cnn import SpeechEmotionCNN
from avatar.recognizers.ser_cnn_train import CNNConfig, fit_cnn
from avatar.recognizers.ser_corpus import (
    CORPORA,
    CORPUS_LABELS,
    HEAD_LABELS,
    N_FOLDS,
    TEST_SPEAKERS,
    Clip,
    draw_weights,
    read_manifest,
    speaker_folds,
)
from avatar.recognizers.ser_functionals import functionals
from avatar.recognizers.ser_logmel import FPS
from avatar.recognizers.ser_model import SpeechEmotionMLP
from avatar.recognizers.ser_prosody import prosody_functionals
from avatar.recognizers.speech_emotion import (
    N_INPUTS,
    SEGMENT_S,
    WINDOW_S,
    SpeechEmotionRecognizer,
    model_config,
)
from rigs.fileio import atomic_path
from rigs.paths import shared_data

Progress = Callable[[str, float], None]  # (stage, fraction done in [0, 1])
DEGRADED_COPIES = 2
CROPS = 2  # training views of a clip longer than two windows: the whole clip and this many windows of WINDOW_S
CROSS_CORPUS = ("ravdess", "crema_d")  # corpora each held out of a model's training and read by it
FEATURES_VERSION = 2  # bump when the features, the pitch tracks or the views change


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of the MLP ensemble and its training."""

    hidden: int = 256
    members: int = 3
    steps: int = 1500
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.1
    vad_weight: float = 1.0
    dropout: float = 0.3
    input_dropout: float = 0.1
    seed: int = 0
    cnn_steps: int = 6000  # steps of the log-mel CNN (`ser_cnn_train`) averaged with the MLPs; 0: the MLPs alone


@dataclass(frozen=True)
class Features:
    """Features of every clip's training views: rows (N, N_INPUTS), each with its clip's index."""

    rows: np.ndarray
    clip: np.ndarray


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run torch on n threads (kind to a shared CPU; the same result on any machine), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def training_views(clips: list[Clip], cache: MelCache, i: int) -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
    """Clip i's training views, per copy (log-mel views, pitch-track views): the copy whole and as CROPS windows of
    WINDOW_S; the degraded copies' log-mel also through the mel-domain augmentation (noise, babble from five other
    clips, reverberation, gain, band-limiting, tempo; the track follows the tempo). Seeded by the clip's index, so
    the views are the same whatever order or process computes them."""
    rng = np.random.default_rng([0, i])
    augment = MelAugmenter(cache.bank, seed=i)
    crop = round(WINDOW_S * FPS)
    for copy in range(cache.copies):
        mel, track = cache.clip(i, copy).astype(np.float32), np.asarray(cache.track(i, copy))
        if copy:
            others = [cache.clip(j, copy) for j in rng.integers(0, len(clips), 5)]
            batch = np.stack([mel, *(np.resize(o, mel.shape) for o in others)])
            mel = augment(torch.from_numpy(batch), torch.ones(batch.shape[:2], dtype=torch.bool))[0][0].numpy()
            track = track[np.linspace(0, len(track) - 1, len(mel)).round().astype(int)]
        starts = rng.integers(0, len(mel) - crop, CROPS) if len(mel) > 2 * crop else []
        yield [mel] + [mel[s : s + crop] for s in starts], [track] + [track[s : s + crop] for s in starts]


def _features_of(clips: list[Clip], cache: MelCache, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`span_features` of the training views of the clips `indices`: rows, and each row's clip."""
    rows, owners = [], []
    with _threads(1):
        for i in indices:
            for mels, tracks in training_views(clips, cache, int(i)):
                pairs = zip(mels, tracks, strict=True)
                rows += [np.concatenate([functionals(m), prosody_functionals(t)]) for m, t in pairs]
                owners += [int(i)] * len(mels)
    return np.stack(rows), np.array(owners)


def _worker_pool(workers: int, **options):
    """A fork pool whose workers die quietly on SIGTERM (the pool's own way to stop them), whatever handler the
    parent process installed (the CLI's turns it into an exception, which each worker would print)."""
    quiet = (signal.SIGTERM, signal.SIG_DFL)
    return get_context("fork").Pool(workers, initializer=signal.signal, initargs=quiet, **options)


def _features_in_worker_job(job: tuple[list[Clip], Path, int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """_features_of in a worker process, which opens the cache (memory-mapped) itself."""
    clips, cache_dir, copies, indices = job
    return _features_of(clips, build_cache(clips, cache_dir, copies), indices)


def training_features(
    clips: list[Clip], cache: MelCache, progress: Progress | None = None, workers: int = 1
) -> Features:
    """The features (`span_features`: log-mel functionals, then prosody) of every clip's `training_views`, computed
    in `workers` processes (the same result for any number) and kept in the cache folder for every run and fold."""
    stored = cache.folder / f"features-v{FEATURES_VERSION}.npz"
    if stored.is_file():
        with np.load(stored) as f:
            return Features(f["rows"], f["clip"])
    chunks = np.array_split(np.arange(len(clips)), 50)
    parts = []
    with _worker_pool(workers) if workers > 1 else nullcontext() as pool:
        jobs = [(clips, cache.folder.parent, cache.copies, chunk) for chunk in chunks]
        done = pool.imap(_features_in_worker_job, jobs) if pool else (_features_of(clips, cache, c) for c in chunks)
        for k, part in enumerate(done):
            parts.append(part)
            if progress:
                progress("features", (k + 1) / len(chunks))
    features = Features(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    with atomic_path(stored) as tmp, open(tmp, "wb") as f:
        np.savez(f, rows=features.rows, clip=features.clip)
    return features


def fit(
    clips: list[Clip],
    features: Features,
    chosen: np.ndarray,
    config: TrainConfig,
    folder: Path,
    progress: Progress | None = None,
    stage: str = "training",
) -> SpeechEmotionMLP:
    """An MLP ensemble trained on the views of the chosen clips (bool mask over clips); deterministic per seed.

    The weights are kept in `folder` (the cache) under a key of the clips chosen and the config, so a run that was
    interrupted, or the benchmark repeating a stage, reads them instead of training again.
    """
    identity = f"{asdict(config)}\nfeatures v{FEATURES_VERSION}\n{np.packbits(chosen).tobytes().hex()}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    stored = folder / "models" / f"{key}.safetensors"
    torch.manual_seed(config.seed)  # initialisation and dropout
    model = SpeechEmotionMLP(
        N_INPUTS, len(HEAD_LABELS), config.hidden, config.members, config.dropout, config.input_dropout
    )
    if stored.is_file():
        model.load_state_dict(load_file(stored))
        return model.eval()
    rows = np.flatnonzero(chosen[features.clip])
    x = torch.from_numpy(features.rows)
    model.feature_mean.copy_(x[rows].mean(0))
    model.feature_std.copy_(x[rows].std(0) + 1e-6)
    views = np.bincount(features.clip, minlength=len(clips))
    weights = draw_weights(clips, chosen)[features.clip[rows]] / views[features.clip[rows]]
    labels = torch.tensor([c.label_index for c in clips])[features.clip]
    vad = torch.from_numpy(np.stack([c.vad for c in clips]))[features.clip]
    cumulative = np.cumsum(weights) / weights.sum()
    rng = np.random.default_rng(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.steps)
    model.train()
    for step in range(config.steps):
        # Each member draws its own batch, so the members differ in more than their initialisation.
        drawn = np.searchsorted(cumulative, rng.random((config.members, config.batch)), side="right")
        batch = torch.from_numpy(rows[np.minimum(drawn, len(rows) - 1)])
        z = (x[batch] - model.feature_mean) / model.feature_std
        h = model.dropout(torch.nn.functional.gelu(torch.baddbmm(model.b1, model.input_dropout(z), model.w1)))
        out = torch.baddbmm(model.b2, h, model.w2)
        loss = torch.nn.functional.cross_entropy(
            out[..., : len(HEAD_LABELS)].flatten(0, 1), labels[batch].flatten(), label_smoothing=config.label_smoothing
        )
        loss = loss + config.vad_weight * torch.nn.functional.mse_loss(
            torch.tanh(out[..., len(HEAD_LABELS) :]), vad[batch]
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress and (step % 100 == 0 or step + 1 == config.steps):
            progress(stage, (step + 1) / config.steps)
    stored.parent.mkdir(exist_ok=True)
    with atomic_path(stored) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    return model.eval()


def read_clips(recognizer: SpeechEmotionRecognizer, cache: MelCache, indices) -> tuple[np.ndarray, np.ndarray]:
    """Head probabilities (N, classes) and VAD (N, 3) of the clips, each read whole as predict reads an utterance."""
    probs, vads = [], []
    for i in indices:
        frames = np.hstack([cache.clip(i, 0).astype(np.float32), cache.track(i, 0)])
        p, v = recognizer.read_spans(frames, equal_parts(len(frames), FPS, SEGMENT_S))
        probs.append(p.mean(0))
        vads.append(v.mean(0))
    return np.array(probs), np.array(vads)


def scores(labels: list[str], probs: np.ndarray, names: tuple[str, ...]) -> dict:
    """UAR, recall per class, accuracy and confusion over the classes `names` (predictions restricted to them)."""
    columns = [HEAD_LABELS.index(n) for n in names]
    truth = np.array([names.index(label) for label in labels])
    predicted = probs[:, columns].argmax(1)
    confusion = np.zeros((len(names),) * 2, int)
    np.add.at(confusion, (truth, predicted), 1)
    recall = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return {
        "labels": list(names),
        "uar": float(recall.mean()),
        "accuracy": float(np.mean(predicted == truth)),
        "recall": {n: float(r) for n, r in zip(names, recall, strict=True)},
        "confusion": confusion.tolist(),
        "n": len(labels),
    }


def ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's concordance correlation coefficient."""
    mx, my = x.mean(), y.mean()
    return float(2 * np.mean((x - mx) * (y - my)) / (x.var() + y.var() + (mx - my) ** 2))


def fit_members(
    clips: list[Clip],
    cache: MelCache,
    features: Features,
    chosen: np.ndarray,
    config: TrainConfig,
    progress: Progress | None = None,
    stage: str = "training",
) -> tuple[SpeechEmotionMLP, SpeechEmotionCNN | None]:
    """The MLP ensemble and, with config.cnn_steps, the log-mel CNN, both trained on the chosen clips."""
    mlp = fit(clips, features, chosen, config, cache.folder, progress, stage)
    if not config.cnn_steps:
        return mlp, None
    cnn_config = CNNConfig(steps=config.cnn_steps, seed=config.seed)
    return mlp, fit_cnn(clips, cache, chosen, cnn_config, progress, f"{stage}, CNN")


def _recognizer(
    members: tuple[SpeechEmotionMLP, SpeechEmotionCNN | None], config: TrainConfig
) -> SpeechEmotionRecognizer:
    return SpeechEmotionRecognizer(members[0], model_config(asdict(config)), members[1])


def training_sets(clips: list[Clip], evaluate: bool = True) -> list[np.ndarray]:
    """The clips (bool masks) of every model a run trains: the speaker folds' and the cross-corpus models' (when
    evaluating), then the shipped model's (every speaker but TEST_SPEAKERS)."""
    corpus = np.array([c.corpus for c in clips])
    fold = speaker_folds(clips)
    evaluated = [fold != k for k in range(N_FOLDS)] + [corpus != held for held in CROSS_CORPUS] if evaluate else []
    return [*evaluated, np.array([c.speaker not in TEST_SPEAKERS for c in clips])]


def _fit_in_worker(job: tuple[list[Clip], Path, int, np.ndarray, TrainConfig]) -> None:
    """fit_members in a worker process, which opens the cache and features itself; the weights land in the cache."""
    clips, cache_dir, copies, chosen, config = job
    with _threads(1):
        cache = build_cache(clips, cache_dir, copies)
        fit_members(clips, cache, training_features(clips, cache), chosen, config)


def fit_in_parallel(
    clips: list[Clip],
    cache: MelCache,
    sets: list[np.ndarray],
    config: TrainConfig,
    workers: int,
    progress: Progress | None = None,
) -> None:
    """Train the models of `sets` in `workers` processes, one thread each, into the cache (where `fit_members` then
    reads them): the same weights as training them one after the other."""
    jobs = [(clips, cache.folder.parent, cache.copies, chosen, config) for chosen in sets]
    with _worker_pool(workers, maxtasksperchild=1) as pool:
        for k, _ in enumerate(pool.imap_unordered(_fit_in_worker, jobs)):
            if progress:
                progress(f"models in {workers} processes", (k + 1) / len(jobs))


def cross_validate(
    clips: list[Clip],
    cache: MelCache,
    features: Features,
    config: TrainConfig,
    progress: Progress | None = None,
    folds: tuple[int, ...] = tuple(range(N_FOLDS)),
) -> dict:
    """Speaker-fold evaluation: per corpus scores, arousal/valence CCC, out-of-fold probabilities."""
    fold = speaker_folds(clips)
    probs = np.full((len(clips), len(HEAD_LABELS)), np.nan)
    vads = np.full((len(clips), 3), np.nan)
    for k in folds:
        members = fit_members(clips, cache, features, fold != k, config, progress, f"fold {k + 1} of {N_FOLDS}")
        held = np.flatnonzero(fold == k)
        probs[held], vads[held] = read_clips(_recognizer(members, config), cache, held)
    read = np.isfinite(probs[:, 0])
    results = {"folds": list(folds), "corpora": {}}
    for corpus in CORPORA:
        members = np.flatnonzero(read & np.array([c.corpus == corpus for c in clips]))
        if len(members):
            results["corpora"][corpus] = scores(
                [clips[i].label for i in members], probs[members], CORPUS_LABELS[corpus]
            )
            if corpus == "ravdess":  # also with calm read as neutral, RAVDESS's 7 categories of ours
                merged = probs[members].copy()
                merged[:, HEAD_LABELS.index("neutral")] += merged[:, HEAD_LABELS.index("calm")]
                labels = ["neutral" if clips[i].label == "calm" else clips[i].label for i in members]
                names = tuple(n for n in CORPUS_LABELS["ravdess"] if n != "calm")
                results["ravdess_calm_as_neutral"] = scores(labels, merged, names)
    targets = np.stack([c.vad for c in clips])
    not_tess = read & np.array([c.corpus != "tess" for c in clips])
    results["ccc"] = {
        name: {
            "all": ccc(vads[read, k], targets[read, k]),
            "without_tess": ccc(vads[not_tess, k], targets[not_tess, k]),
        }
        for k, name in enumerate(("valence", "arousal", "dominance"))
    }
    results["probs"], results["vad"] = probs, vads
    return results


def cross_corpus(
    clips: list[Clip],
    cache: MelCache,
    features: Features,
    config: TrainConfig,
    held_corpus: str,
    shared: tuple[str, ...],
    progress: Progress | None = None,
) -> dict:
    """Train without `held_corpus`, read all of it, score it on the `shared` classes (its clips of those classes)."""
    corpus = np.array([c.corpus for c in clips])
    trained = fit_members(clips, cache, features, corpus != held_corpus, config, progress, f"without {held_corpus}")
    members = [i for i in np.flatnonzero(corpus == held_corpus) if clips[i].label in shared]
    probs, vads = read_clips(_recognizer(trained, config), cache, members)
    targets = np.stack([clips[i].vad for i in members])
    return {**scores([clips[i].label for i in members], probs, shared), "arousal_ccc": ccc(vads[:, 1], targets[:, 1])}


def default_cache_dir() -> Path:
    """Where log-mel caches live: $AVATAR_CACHE_DIR/ser, else ~/.cache/avatar/ser."""
    root = os.environ.get("AVATAR_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "avatar"
    )
    return Path(root) / "ser"


def train_ser(
    data_dir: str | Path,
    out_dir: str | Path,
    progress: Progress | None = None,
    config: TrainConfig | None = None,
    cache_dir: str | Path | None = None,
    evaluate: bool = True,
    workers: int = 1,
) -> dict:
    """Evaluate (speaker folds, cross-corpus), train on every clip, write the checkpoint and its card."""
    from avatar.recognizers.ser_card import model_card

    config = config or TrainConfig()
    started = time.perf_counter()
    clips = read_manifest(data_dir)
    with _threads(1):
        cache = build_cache(clips, cache_dir or default_cache_dir(), 1 + DEGRADED_COPIES, progress)
        features = training_features(clips, cache, progress, workers)
        if workers > 1:
            fit_in_parallel(clips, cache, training_sets(clips, evaluate), config, workers, progress)
        results: dict = {}
        if evaluate:
            folds = cross_validate(clips, cache, features, config, progress)
            folds.pop("probs"), folds.pop("vad")
            results["speaker_folds"] = folds
            shared = CORPUS_LABELS["crema_d"]
            results["cross_corpus"] = {
                held: cross_corpus(clips, cache, features, config, held, shared, progress) for held in CROSS_CORPUS
            }
        shipped = training_sets(clips, evaluate=False)[0]
        model, cnn = fit_members(clips, cache, features, shipped, config, progress, "final model")
    results.update(
        n_clips=len(clips),
        hours=round(sum(c.duration for c in clips) / 3600, 2),
        speakers=len({c.speaker for c in clips}),
        seconds=round(time.perf_counter() - started),
        workers=workers,
    )
    recognizer = SpeechEmotionRecognizer(model, model_config(asdict(config), results), cnn)
    out = recognizer.save_pretrained(out_dir)
    (out / "README.md").write_text(model_card(recognizer.config), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: train the checkpoint and print its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(shared_data("ser")), help="the corpora folder with manifest.csv")
    parser.add_argument("-o", "--out", default="checkpoints/ser", help="checkpoint folder to write")
    parser.add_argument("--cache", default=None, help="log-mel cache folder (default ~/.cache/avatar/ser)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes for the features and models (same result)")
    parser.add_argument(
        "--cnn-steps",
        type=int,
        default=TrainConfig.cnn_steps,
        help="steps of the log-mel CNN beside the MLPs (0: none)",
    )
    args = parser.parse_args(argv)

    def report(stage: str, fraction: float) -> None:
        print(f"\r{stage}: {100 * fraction:5.1f} %", end="\n" if fraction >= 1 else "", file=sys.stderr, flush=True)

    try:
        train_ser(
            args.data,
            args.out,
            report,
            TrainConfig(seed=args.seed, cnn_steps=args.cnn_steps),
            args.cache,
            workers=args.workers,
        )
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

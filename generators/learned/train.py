"""Training of the motion latent-diffusion model: the face and body VAEs, the decoders' refinement, the denoiser.

Every stage reads a torch Dataset of dict windows: content (W, 114), emotion (W, 11), style (6,), face (W, 59),
body (W, 306), face_present and body_present (bools; a real corpus can lack one modality, and its losses are then
masked out), and its settings from a section of `MotionTrainConfig` (generators/learned/train_config.py). Each
stage builds its models, optimizer and loss and hands them to `run_stage`, the one training loop: learning-rate
warm-up and cosine decay, clipped steps until the step count or the wall-clock budget (a stage stops cleanly,
saved, at `max_minutes`), mean losses logged to a CSV, and a checkpoint (safetensors and JSON only) under
out_dir/checkpoints/<stage> every `checkpoint_every` steps, so a rerun resumes where the last one stopped. The
folder left in out_dir is what MotionDiffusionPipeline.from_pretrained loads.

Threads: `num_threads` defaults to 1. On this project's 2-core machines, shared with other jobs, a second OpenMP
thread mostly waits for a busy core (measured 4-15x slower per step than one thread); use 2 on an idle machine.
Measured with the default sizes, batch 32 x 128 frames, one thread, random data: VAE stage 1.5 steps/s (both VAEs),
denoiser stage 2.1 steps/s (VAE encoding included).

Prediction target: v (v = sqrt(abar) * eps - sqrt(1 - abar) * x0). Its scale is the same at every noise level, so
the loss weights steps evenly; unlike epsilon it stays informative near pure noise, where the first of only 10-20
sampling steps decide the motion's large scale, and unlike x0 it does not ask for an exact answer at low noise.
x0 is recovered from it exactly, which is what the light velocity (jitter) loss on the denoised latent uses.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import math
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset

from generators.learned.denoiser import MotionDenoiser
from generators.learned.pipeline import MotionDiffusionPipeline, training_scheduler
from generators.learned.representation import BODY_DIM, CONTENT_DIM, FACE_DIM, FACE_EVENTS
from generators.learned.train_config import DecoderStage, DenoiserStage, ModelSizes, MotionTrainConfig
from generators.learned.vae import DOWNSAMPLE, MotionVAE

RECIPE = MotionTrainConfig()
# Each stage draws its own batches and noise from the config's seed plus its offset (and the step it resumes at);
# fine-tuning runs on seed + 1 throughout. The offsets are those of the runs that made the shipped checkpoint.
SEED_OFFSETS = {"vae": 0, "face_decoder": 7, "body_decoder": 11, "denoiser": 1}
FINETUNE_SEED = 1
_KEYS = ("content", "emotion", "style", "face", "body", "face_present", "body_present")


# ---- small pieces --------------------------------------------------------------------------------------------------

def batches(dataset: Dataset, batch_size: int, seed: int) -> Iterator[dict[str, torch.Tensor]]:
    """Shuffled float32 batches forever, with window lengths cut to a multiple of 4 frames."""
    if len(dataset) == 0:
        raise ValueError("dataset: has no windows; build the corpus first")
    loader = DataLoader(dataset, batch_size=min(batch_size, len(dataset)), shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed), num_workers=0)
    while True:
        for batch in loader:
            out = {k: torch.as_tensor(batch[k]) for k in _KEYS if k in batch}
            n = out["content"].shape[1] // DOWNSAMPLE * DOWNSAMPLE
            if n == 0:
                raise ValueError("dataset: windows must have at least 4 frames")
            for key in ("content", "emotion", "face", "body"):
                out[key] = out[key][:, :n].float()
            out["style"] = out["style"].float()
            for key in ("face_present", "body_present"):
                out[key] = out[key].bool().reshape(-1) if key in out else torch.ones(len(out["content"]), dtype=bool)
            yield out


class _Moments:
    """Running per-dim mean and std (float64)."""

    def __init__(self):
        self.n, self.sum, self.sq = 0, 0.0, 0.0

    def add(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).double()
        self.n, self.sum, self.sq = self.n + len(x), self.sum + x.sum(0), self.sq + (x * x).sum(0)

    def result(self, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.n == 0:  # modality never present: identity normalisation
            return torch.zeros(dim), torch.ones(dim)
        mean = self.sum / self.n
        return mean.float(), (self.sq / self.n - mean * mean).clamp_min(0).sqrt().float()


def feature_stats(dataset: Dataset, max_windows: int = 4096, batch_size: int = 64,
                  seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per-dim mean and std of face and body over (up to max_windows of) the windows where each is present."""
    face, body = _Moments(), _Moments()
    stream = batches(dataset, batch_size, seed)
    for _ in range(max(1, math.ceil(min(max_windows, len(dataset)) / min(batch_size, len(dataset))))):
        batch = next(stream)
        face.add(batch["face"][batch["face_present"]])
        body.add(batch["body"][batch["body_present"]])
    return {"face": face.result(FACE_DIM), "body": body.result(BODY_DIM)}


@torch.no_grad()
def latent_stats(vaes: tuple[MotionVAE, MotionVAE], dataset: Dataset, max_windows: int = 4096,
                 batch_size: int = 64, seed: int = 0) -> None:
    """Set each VAE's latent mean and std from its posterior means over the data (so latents are unit scale)."""
    moments = (_Moments(), _Moments())
    stream = batches(dataset, batch_size, seed)
    for _ in range(max(1, math.ceil(min(max_windows, len(dataset)) / min(batch_size, len(dataset))))):
        batch = next(stream)
        for vae, m, key in zip(vaes, moments, ("face", "body"), strict=True):
            x = batch[key][batch[f"{key}_present"]]
            if len(x):
                m.add(vae.eval().encode(x)[0])
    for vae, m in zip(vaes, moments, strict=True):
        vae.set_latent_stats(*m.result(vae.config.latent_dim))


def lr_factor(step: int, warmup: int, total: int, floor: float = 0.1) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine down to `floor`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def vae_loss(vae: MotionVAE, x: torch.Tensor, content: torch.Tensor, kl_weight: float, velocity_weight: float,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Reconstruction + velocity + KL loss of a VAE on raw windows (B, T, D), in normalised units; content
    (B, T, 114) is the decoder's condition when the VAE has one."""
    out = vae(x, content if vae.condition is not None else None, generator=generator)
    target = vae.normalize(x)
    recon = F.mse_loss(out["recon_norm"], target)
    velocity = F.mse_loss(out["recon_norm"].diff(dim=1), target.diff(dim=1))
    kl = out["kl"].mean()
    loss = recon + velocity_weight * velocity + kl_weight * kl
    return loss, {"recon": recon.item(), "velocity": velocity.item(), "kl": kl.item()}


def save_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Optimizer state as safetensors (tensors) + JSON (the rest): no pickle."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    save_file(tensors, folder / "optimizer.safetensors")
    (folder / "optimizer.json").write_text(json.dumps({"param_groups": state["param_groups"], "scalars": scalars}))


def load_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Restore the state written by save_optimizer."""
    meta = json.loads((folder / "optimizer.json").read_text())
    state: dict[int, dict] = {}
    for name, value in [*load_file(folder / "optimizer.safetensors").items(), *meta["scalars"].items()]:
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace folder `final` by `tmp` (a crash leaves one of the two whole)."""
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


class _Log:
    """Appends rows of losses to a CSV (a resumed or continued log keeps its rows; a row with a column the file
    lacks rewrites it with that column, empty in the earlier rows)."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, row: dict) -> None:
        row = {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
        fields = []
        if self.path.exists():
            with self.path.open(newline="") as f:
                fields = next(csv.reader(f), [])
            if set(row) <= set(fields):
                with self.path.open("a", newline="") as f:
                    csv.DictWriter(f, fieldnames=fields).writerow(row)
                return
        rows = []
        if fields:
            with self.path.open(newline="") as f:
                rows = list(csv.DictReader(f))
        fields += [name for name in row if name not in fields]
        tmp = self.path.with_name(f".{self.path.name}.writing")
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows([*rows, row])
        tmp.replace(self.path)


class _Averager:
    """Means of named values since the last reset."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def pop(self) -> dict[str, float]:
        out = {k: v / max(1, self.count) for k, v in self.sums.items()}
        self.sums, self.count = {}, 0
        return out


def _load(cls, folder: Path):
    """A saved model (generators/learned/modeling.py) from its folder."""
    return cls.from_pretrained(folder)


def model_configs(sizes: ModelSizes) -> tuple[dict, dict, dict]:
    """Constructor arguments of the face VAE, the body VAE and the denoiser (less its latent width).

    The face decoder reads the speech content at the frame rate (see generators/learned/vae.py): the lips need its
    timing. The body decoder does not: a body decoder that read the speech and was refined on degraded latents
    turned the speech's frame-rate detail into arm tremor (its share of arm-speed power above 3 Hz rose from 0.11 to
    0.16 decoding the teacher's own latents, and to 0.21 on sampled ones); the body's beats come from the latents.
    """
    vae = {"latent_dim": sizes.latent_dim, "widths": sizes.vae_widths}
    denoiser = {"content_dim": CONTENT_DIM, "d_model": sizes.d_model, "n_layers": sizes.n_layers,
                "n_heads": sizes.n_heads, "ff_mult": sizes.ff_mult, "dropout": sizes.dropout}
    return ({"input_dim": FACE_DIM, **vae, "condition_dim": CONTENT_DIM},
            {"input_dim": BODY_DIM, **vae, "condition_dim": 0}, denoiser)


class _Resume:
    """A stage's resume folder out_dir/checkpoints/<name>: state.json (the step reached and what it depends on),
    the optimizer and the models; each save is written beside and swapped in whole."""

    def __init__(self, out_dir: Path, name: str):
        self.folder = out_dir / "checkpoints" / name

    def state(self) -> dict:
        """What the last save recorded ({} when there is none)."""
        path = self.folder / "state.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def model(self, cls, name: str):
        """A saved model."""
        return _load(cls, self.folder / name)

    def restore(self, optimizer: torch.optim.Optimizer) -> None:
        """The saved optimizer state (a folder from before it was saved leaves the optimizer fresh)."""
        if (self.folder / "optimizer.json").is_file():
            load_optimizer(optimizer, self.folder)

    def save(self, state: dict, optimizer: torch.optim.Optimizer, models: dict[str, torch.nn.Module]) -> None:
        """Save the state, the optimizer and the models."""
        tmp = self.folder.with_name(f"{self.folder.name}.saving")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, model in models.items():
            model.save_pretrained(tmp / name)
        save_optimizer(optimizer, tmp)
        (tmp / "state.json").write_text(json.dumps(state))
        _swap_in(tmp, self.folder)


def _save_model(model: torch.nn.Module, folder: Path) -> None:
    """Write a model's folder beside and swap it in."""
    tmp = folder.with_name(f".{folder.name}.saving")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    _swap_in(tmp, folder)


Loss = Callable[[dict, torch.Generator], tuple[torch.Tensor | None, dict[str, float]]]


def run_stage(name: str, dataset: Dataset, out_dir: Path, optimizer: torch.optim.Optimizer, loss_of: Loss,
              stage, config: MotionTrainConfig, max_minutes: float | None, step: int,
              checkpoint: Callable[[int], None], after_step: Callable[[int], None] | None = None,
              log_name: str | None = None, seed: int | None = None, params: list | None = None) -> int:
    """The training loop of every stage; returns the step reached.

    `loss_of(batch, generator)` gives the loss of a batch and the parts to log (None: nothing in this batch for the
    stage to learn from, and no step is taken). Until `stage.steps` or `max_minutes`: clipped optimizer steps with a
    linear warm-up and cosine decay of the learning rate, `after_step(step)` after each (the EMA), mean losses to
    out_dir/<log_name or name_log.csv> every `config.log_every` steps, and `checkpoint(step)` every
    `stage.checkpoint_every` steps and at the end. A run resumed at `step` continues the schedule, the batches and
    the noise where they were (drawn from `seed`, by default the config's seed + SEED_OFFSETS[name]). The gradient
    norm is clipped over `params` (default: the optimizer's, group by group; their order sets the sum's rounding).
    """
    deadline = math.inf if max_minutes is None else time.monotonic() + 60.0 * max_minutes
    params = params or [p for group in optimizer.param_groups for p in group["params"]]
    for group in optimizer.param_groups:  # a resumed schedule needs the peak rate (a restored optimizer has it)
        group.setdefault("initial_lr", group["lr"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, stage.warmup, stage.steps, config.lr_floor), last_epoch=step - 1)
    seed = (config.seed + SEED_OFFSETS[name] if seed is None else seed) + step
    data, generator = batches(dataset, config.batch_size, seed), torch.Generator().manual_seed(seed)
    log, averager = _Log(out_dir / (log_name or f"{name}_log.csv")), _Averager()
    started, started_step = time.monotonic(), step
    while step < stage.steps and time.monotonic() < deadline:
        loss, parts = loss_of(next(data), generator)
        if loss is None:
            continue
        if loss.requires_grad:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            parts["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, config.grad_clip).item()
            optimizer.step()
        scheduler.step()
        step += 1
        if after_step is not None:
            after_step(step)
        averager.add({"loss": loss.item(), **parts})
        if step % config.log_every == 0 or step == stage.steps:
            elapsed = time.monotonic() - started
            log.write({"step": step, "elapsed_s": elapsed, "lr": scheduler.get_last_lr()[0],
                       "steps_per_s": (step - started_step) / max(elapsed, 1e-9), **averager.pop()})
        if step % stage.checkpoint_every == 0:
            checkpoint(step)
    checkpoint(step)
    return step


def _begin(config: MotionTrainConfig, out_dir: str | Path) -> Path:
    """Set the thread count and make out_dir; returns it."""
    torch.set_num_threads(config.num_threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


# ---- stage 1: the VAEs ---------------------------------------------------------------------------------------------

def train_vaes(dataset: Dataset, out_dir: str | Path, config: MotionTrainConfig = RECIPE,
               max_minutes: float | None = None, resume: bool = True) -> tuple[MotionVAE, MotionVAE]:
    """Train the face and body VAEs (config.vae); writes out_dir/face_vae, body_vae, vae_log.csv, checkpoints/vae."""
    out_dir, stage = _begin(config, out_dir), config.vae
    saved = _Resume(out_dir, "vae")
    torch.manual_seed(config.seed)
    state = saved.state() if resume else {}
    if state:
        vaes = (saved.model(MotionVAE, "face_vae"), saved.model(MotionVAE, "body_vae"))
    else:
        face_config, body_config, _ = model_configs(config.model)
        vaes = (MotionVAE(**face_config), MotionVAE(**body_config))
        stats = feature_stats(dataset, stage.stats_windows, seed=config.seed)
        for vae, key in zip(vaes, ("face", "body"), strict=True):
            vae.set_feature_stats(*stats[key])
    optimizer = torch.optim.AdamW([p for vae in vaes for p in vae.parameters()], lr=stage.lr, weight_decay=0.0)
    if state:
        saved.restore(optimizer)
    for vae in vaes:
        vae.train()

    def loss_of(batch: dict, generator: torch.Generator):
        loss, parts = torch.zeros(()), {}
        for vae, key in zip(vaes, ("face", "body"), strict=True):
            present = batch[f"{key}_present"]
            if present.any():
                part, values = vae_loss(vae, batch[key][present], batch["content"][present], stage.kl_weight,
                                        stage.velocity_weight, generator)
                loss = loss + part
                parts.update({f"{key}_{k}": v for k, v in values.items()})
        return loss, parts

    names, start = ("face_vae", "body_vae"), state.get("step", 0)
    step = run_stage("vae", dataset, out_dir, optimizer, loss_of, stage, config, max_minutes, start,
                     lambda step: saved.save({"step": step}, optimizer, dict(zip(names, vaes, strict=True))))
    if step == start and all((out_dir / name).is_dir() for name in names):  # a rerun after the stage finished:
        return tuple(_load(MotionVAE, out_dir / name) for name in names)  # the saved VAEs, decoder refined
    latent_stats(vaes, dataset, stage.stats_windows, seed=config.seed)
    for vae, name in zip(vaes, names, strict=True):
        _save_model(vae.eval(), out_dir / name)
    shutil.rmtree(out_dir / "checkpoints" / "face_decoder", ignore_errors=True)  # new VAEs: refine their decoder anew
    return vaes


def degrade_latents(z: torch.Tensor, generator: torch.Generator, share: float = 0.75,
                    noise: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means (B, N, L) made as blurred and noisy as sampled ones can be: for `share` of the batch, a box
    blur over 3 or 5 tokens plus Gaussian noise of up to `noise` x each channel's spread over the batch. Returns
    the latents and which of them were degraded (B,)."""
    b = z.shape[0]
    width = 3 if torch.rand((), generator=generator) < 0.5 else 5
    blurred = F.avg_pool1d(z.transpose(1, 2), width, 1, width // 2, count_include_pad=False).transpose(1, 2)
    spread = z.std(dim=(0, 1), keepdim=True)
    level = noise * torch.rand((b, 1, 1), generator=generator)
    degraded = blurred + level * spread * torch.randn(z.shape, generator=generator)
    pick = torch.rand(b, generator=generator) < share
    return torch.where(pick.reshape(b, 1, 1), degraded, z), pick


def _train_decoder(name: str, dataset: Dataset, vae_dir: Path, key: str, vae: MotionVAE, step: int,
                   loss_of: Loss, stage: DecoderStage, config: MotionTrainConfig, max_minutes: float | None,
                   log_name: str) -> MotionVAE:
    """Train a VAE's decoder on its frozen encoder; vae_dir/<key>_vae and checkpoints/<name> are saved as it goes,
    so a stopped run leaves a usable decoder and a rerun continues it."""
    saved = _Resume(vae_dir, name)
    vae.train()
    vae.encoder.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=stage.lr, weight_decay=0.0)
    if step:
        saved.restore(optimizer)

    def checkpoint(step: int) -> None:
        _save_model(vae, vae_dir / f"{key}_vae")
        saved.save({"step": step}, optimizer, {})

    run_stage(name, dataset, vae_dir, optimizer, loss_of, stage, config, max_minutes, step, checkpoint,
              log_name=log_name)
    return vae.eval().requires_grad_(False)


def refine_decoder(dataset: Dataset, vae_dir: str | Path, config: MotionTrainConfig = RECIPE,
                   max_minutes: float | None = None) -> MotionVAE:
    """Fine-tune the face VAE's content-conditioned decoder on degraded latents (config.face_decoder); the encoder
    stays frozen.

    A VAE trained on clean posterior means leaves its decoder free to ignore the content: the latent already says
    when the lips meet. Sampled latents are blurrier than that, and a lip closure lasts two or three frames, so the
    decoder is taught here to restore that timing from the speech (`degrade_latents`). The encoder and the latent
    statistics do not change, so a denoiser trained on this VAE's latents stays valid. Writes vae_dir/face_vae and
    face_decoder_log.csv; a refinement that reached its steps is not repeated.

    Blinks and gaze shifts are as short as closures but the speech does not time them: taught on degraded latents,
    the decoder would learn to leave them out. Those channels (representation.FACE_EVENTS) learn from the clean
    latents of the batch only.
    """
    vae_dir, stage = _begin(config, vae_dir), config.face_decoder
    folder = vae_dir / "face_vae"
    vae = _load(MotionVAE, folder)
    if vae.condition is None:
        raise ValueError(f"{folder}: this VAE's decoder takes no content; nothing to refine")
    step = _Resume(vae_dir, "face_decoder").state().get("step", 0)
    if step >= stage.steps:
        return vae.eval().requires_grad_(False)
    events = torch.zeros(vae.config.input_dim, dtype=torch.bool)
    events[list(FACE_EVENTS)] = True

    def loss_of(batch: dict, generator: torch.Generator):
        present = batch["face_present"]
        if not present.any():
            return None, {}
        x, content = batch["face"][present], batch["content"][present]
        with torch.no_grad():
            z, degraded = degrade_latents(vae.encode(x)[0], generator)
        recon = vae._decode_norm(z, content)
        target = vae.normalize(x)
        weight = (~(degraded[:, None] & events[None])).to(recon.dtype)[:, None, :]  # (B, 1, D)
        loss_recon = ((recon - target) ** 2 * weight).sum() / (weight.sum() * recon.shape[1])
        loss_velocity = ((recon.diff(dim=1) - target.diff(dim=1)) ** 2 * weight).sum() / (
            weight.sum() * (recon.shape[1] - 1))
        loss = loss_recon + stage.velocity_weight * loss_velocity
        return loss, {"recon": loss_recon.item(), "velocity": loss_velocity.item()}

    return _train_decoder("face_decoder", dataset, vae_dir, "face", vae, step, loss_of, stage, config, max_minutes,
                          "face_decoder_log.csv")


def content_free_decoder(vae: MotionVAE) -> MotionVAE:
    """A copy of a VAE whose decoder reads no speech content: the same encoder, statistics and decoder layers,
    without the content branch (so its latent space, and a denoiser trained in it, stay valid)."""
    free = MotionVAE.from_config({**vae.config, "condition_dim": 0})
    state = {k: v for k, v in vae.state_dict().items() if not k.startswith("condition.")}
    free.load_state_dict(state)
    return free


def train_body_decoder(dataset: Dataset, vae_dir: str | Path, config: MotionTrainConfig = RECIPE,
                       max_minutes: float | None = None) -> MotionVAE:
    """Give vae_dir/body_vae a decoder that reads no speech content, trained on the data (config.body_decoder; the
    encoder frozen).

    Starts from the old decoder without its content branch (`content_free_decoder`) and learns to decode
    posterior samples, as in the VAE stage. Saved to vae_dir/body_vae with checkpoints/body_decoder every
    `checkpoint_every` steps, so a stopped run leaves a usable decoder and a rerun continues it. Logs to
    body_decoder_free_log.csv. A body VAE trained content-free from the start is returned as it is.
    """
    vae_dir, stage = _begin(config, vae_dir), config.body_decoder
    vae = _load(MotionVAE, vae_dir / "body_vae")
    step = _Resume(vae_dir, "body_decoder").state().get("step", 0) if vae.condition is None else 0
    if vae.condition is not None:
        vae = content_free_decoder(vae)
    elif step == 0:
        return vae.eval()  # trained content-free from the start: nothing to do

    def loss_of(batch: dict, generator: torch.Generator):
        present = batch["body_present"]
        if not present.any():
            return None, {}
        loss, parts = vae_loss(vae, batch["body"][present], batch["content"][present], 0.0, stage.velocity_weight,
                               generator)
        return loss, {"recon": parts["recon"], "velocity": parts["velocity"]}

    return _train_decoder("body_decoder", dataset, vae_dir, "body", vae, step, loss_of, stage, config, max_minutes,
                          "body_decoder_free_log.csv")


# ---- stage 2: the denoiser -----------------------------------------------------------------------------------------

class EMA:
    """Exponential moving average of a model's weights (with the usual warm-up of the decay)."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.model, self.decay = copy.deepcopy(model).eval().requires_grad_(False), decay

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for ema, p in zip(self.model.parameters(), model.parameters(), strict=True):
            ema.lerp_(p, 1 - decay)


def _fingerprint(vaes: tuple[MotionVAE, MotionVAE]) -> str:
    """A hash of what the denoiser learns from, the VAEs' encoders and statistics: a denoiser checkpoint only
    resumes on the latent space it was trained in (a refined decoder does not change it)."""
    digest = hashlib.sha1()
    for vae in vaes:
        for name, tensor in sorted(vae.state_dict().items()):
            if name.startswith(("decoder.", "condition.")):
                continue
            digest.update(name.encode())
            digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _load_vaes(vaes) -> tuple[MotionVAE, MotionVAE]:
    """VAEs given as a pair, or as a folder holding face_vae/ and body_vae/."""
    if isinstance(vaes, str | Path):
        folder = Path(vaes)
        if not (folder / "face_vae").is_dir() or not (folder / "body_vae").is_dir():
            raise FileNotFoundError(f"{folder}: no face_vae/ and body_vae/ inside; run train_vaes first")
        vaes = (_load(MotionVAE, folder / "face_vae"), _load(MotionVAE, folder / "body_vae"))
    return tuple(vae.eval().requires_grad_(False) for vae in vaes)


def whitened_error(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error of estimate against latent tokens target (B, N, L) per temporal frequency, each frequency's
    error divided by the target's own power there (averaged over the batch and channels): an error counts relative
    to the signal in its band, not to the whole signal. (No taper: a window's slow motion also leaks a little
    power into its fast bins, which the division then counts as signal there.)"""
    error = torch.fft.rfft(estimate - target, dim=1).abs() ** 2
    power = (torch.fft.rfft(target, dim=1).abs() ** 2).mean(dim=(0, 2), keepdim=True)
    return (error / power.clamp(min=1e-8)).mean()


def denoiser_loss(pipe: MotionDiffusionPipeline, denoiser: MotionDenoiser, batch: dict, generator: torch.Generator,
                  emotion_drop: float = 0.15, style_drop: float = 0.15, context_prob: float = 0.5,
                  crop_prob: float = 0.25, velocity_weight: float = 0.1,
                  event_weight: float = 0.0, spectral_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """v-prediction loss (+ a light velocity loss on the implied x0) of one batch, modality masks honoured.

    event_weight > 0 adds a loss on the face events (representation.FACE_EVENTS: blinks, eye movements, gaze) of
    the implied x0 decoded by the frozen face decoder, weighted by each sample's signal share abar. The speech does
    not time those events, so a denoiser trained on the latent loss alone learns them last and samples them as
    faint half-blinks; this term spends more of its capacity on them (its minimiser is still the posterior mean).

    spectral_weight > 0 adds `whitened_error` of the implied x0's body latent. The body latent's power falls about
    a thousandfold from its slowest to its fastest tokens, while the noise is white: a denoiser that lets 1 % of the
    noise's power through in the top band, negligible in the plain loss, samples several times the data's power
    there (a tremor the later steps keep as signal). Measured per band against the data's own power, that leak
    costs as much as an error in the gesture band does in the plain loss.
    """
    schedule = pipe.scheduler
    with torch.no_grad():
        x0 = pipe.encode(batch["face"], batch["body"])
    b, n, dim = x0.shape
    lf = pipe.face_latent_dim
    weight = torch.ones(b, 1, dim)
    weight[:, :, :lf] *= batch["face_present"].reshape(b, 1, 1)
    weight[:, :, lf:] *= batch["body_present"].reshape(b, 1, 1)
    x0 = x0 * weight  # an absent modality is zero (the latent mean), and carries no loss
    content, emotion, face = batch["content"], batch["emotion"], batch["face"]

    rand = lambda *shape: torch.rand(shape, generator=generator)  # noqa: E731
    if n > 1 and rand(1).item() < crop_prob:  # shorter windows too, as sampled by short inputs and streaming
        length = int(torch.randint(1, n, (1,), generator=generator))
        start = int(torch.randint(0, n - length + 1, (1,), generator=generator))
        x0, n = x0[:, start:start + length], length
        content = content[:, DOWNSAMPLE * start:DOWNSAMPLE * (start + length)]
        emotion = emotion[:, DOWNSAMPLE * start:DOWNSAMPLE * (start + length)]
        face = face[:, DOWNSAMPLE * start:DOWNSAMPLE * (start + length)]

    t = torch.randint(0, schedule.num_train_timesteps, (b,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = schedule.add_noise(x0, noise, t)
    target = schedule.velocity(x0, noise, t)
    # Known prefix (the previous window's tail / the stream's past): a random length on a random half of the batch.
    known = (torch.arange(n)[None] < torch.randint(1, max(2, n // 2 + 1), (b, 1), generator=generator))
    known &= (rand(b, 1) < context_prob) & (n > 1)
    prediction = denoiser(x_t, t, content, emotion, batch["style"], context=x0, context_mask=known,
                          drop_emotion=rand(b) < emotion_drop, drop_style=rand(b) < style_drop)

    diffusion = ((prediction - target) ** 2 * weight).sum() / (weight.sum() * n)
    abar = schedule.alphas_cumprod[t].reshape(b, 1, 1)
    x0_hat = abar.sqrt() * x_t - (1 - abar).sqrt() * prediction
    velocity = ((x0_hat.diff(dim=1) - x0.diff(dim=1)) ** 2 * weight).sum() / (weight.sum() * max(n - 1, 1))
    loss = diffusion + velocity_weight * velocity
    parts = {"diffusion": diffusion.item(), "velocity": velocity.item()}
    if spectral_weight:
        body = batch["body_present"].bool()
        if body.any():
            spectral = whitened_error(x0_hat[body, :, lf:], x0[body, :, lf:])
            loss = loss + spectral_weight * spectral
            parts["spectral"] = spectral.item()
    present = batch["face_present"]
    if event_weight and present.any():
        vae, channels = pipe.face_vae, list(FACE_EVENTS)
        decoded = vae._decode_norm(vae.from_unit(x0_hat[present, :, :lf]), content[present])[..., channels]
        error = ((decoded - vae.normalize(face[present])[..., channels]) ** 2).mean(dim=(1, 2))
        events = (error * abar[present].reshape(-1)).mean()
        loss = loss + event_weight * events
        parts["events"] = events.item()
    return loss, parts


def train_denoiser(dataset: Dataset, vaes, out_dir: str | Path, config: MotionTrainConfig = RECIPE,
                   max_minutes: float | None = None, resume: bool = True,
                   init_from: str | Path | None = None) -> MotionDiffusionPipeline:
    """Train the denoiser (config.denoiser) on frozen VAEs (a pair, or a folder with them) and save the pipeline
    to out_dir, with training.json (what this run did).

    init_from: a pipeline folder whose denoiser starts the training instead (fine-tuning, config.finetune: a fresh
    optimizer, the same latent space, logged to finetune_log.csv); it must have been trained on these VAEs' latents.
    """
    out_dir = _begin(config, out_dir)
    name = "denoiser" if init_from is None else "finetune"
    stage: DenoiserStage = getattr(config, name)
    saved = _Resume(out_dir, name)
    seed = config.seed + (0 if init_from is None else FINETUNE_SEED)
    torch.manual_seed(seed)
    face_vae, body_vae = _load_vaes(vaes)
    latent_dim = face_vae.config.latent_dim + body_vae.config.latent_dim
    vae_id = _fingerprint((face_vae, body_vae))
    state = saved.state() if resume else {}
    if state and state.get("vaes") != vae_id:
        warnings.warn(f"{saved.folder}: the denoiser checkpoint was trained on other VAEs; starting the denoiser "
                      "afresh", stacklevel=2)
        state = {}
    if state:
        denoiser, ema = saved.model(MotionDenoiser, "denoiser"), EMA(saved.model(MotionDenoiser, "ema"),
                                                                     stage.ema_decay)
    else:
        denoiser = (MotionDenoiser(**model_configs(config.model)[2], latent_dim=latent_dim) if init_from is None
                    else _load(MotionDenoiser, Path(init_from) / "denoiser"))
        if denoiser.config.latent_dim != latent_dim:
            raise ValueError(f"{init_from}: its denoiser works on {denoiser.config.latent_dim} latent channels, "
                             f"these VAEs make {latent_dim}; fine-tune it on the VAEs it was trained with")
        ema = EMA(denoiser, stage.ema_decay)
    pipe = MotionDiffusionPipeline(face_vae, body_vae, ema.model, training_scheduler())
    denoiser.train()
    # No weight decay on biases, norms and the null embeddings.
    decay = [p for p in denoiser.parameters() if p.ndim >= 2]
    no_decay = [p for p in denoiser.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": stage.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=stage.lr)
    if state:
        saved.restore(optimizer)
    losses = {"emotion_drop": stage.emotion_drop, "style_drop": stage.style_drop, "context_prob": stage.context_prob,
              "crop_prob": stage.crop_prob, "velocity_weight": stage.velocity_weight,
              "event_weight": stage.event_weight, "spectral_weight": stage.spectral_weight}
    started = time.monotonic()
    step = run_stage(name, dataset, out_dir, optimizer,
                     lambda batch, generator: denoiser_loss(pipe, denoiser, batch, generator, **losses),
                     stage, config, max_minutes, state.get("step", 0),
                     lambda step: saved.save({"step": step, "vaes": vae_id}, optimizer,
                                             {"denoiser": denoiser, "ema": ema.model}),
                     after_step=lambda step: ema.update(denoiser, step), seed=seed + SEED_OFFSETS["denoiser"],
                     params=list(denoiser.parameters()))
    pipe.save_pretrained(out_dir)  # with the EMA weights
    run = {"denoiser_steps": step, "denoiser_seconds_this_run": time.monotonic() - started,
           "batch_size": config.batch_size, "lr": stage.lr, "schedule": "cosine", "warmup": stage.warmup,
           "prediction_type": "v_prediction", **losses, "ema_decay": stage.ema_decay, "seed": seed}
    if init_from is not None:  # the run it started from stays on record, with this one as its fine-tuning
        earlier = Path(init_from) / "training.json"
        run = {**(json.loads(earlier.read_text()) if earlier.is_file() else {}), "finetune": run}
    (out_dir / "training.json").write_text(json.dumps(run, indent=2) + "\n")
    return pipe

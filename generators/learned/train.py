"""Training of the motion latent-diffusion model, in two stages: the face and body VAEs, then the denoiser.

Both stages read a torch Dataset of dict windows: content (W, 114), emotion (W, 11), style (6,), face (W, 59),
body (W, 306), face_present and body_present (bools; a real corpus can lack one modality, and its losses are then
masked out). Each stage logs its losses to a CSV, checkpoints periodically (safetensors and JSON only, so a run
resumes from out_dir), stops cleanly at `max_minutes` with a saved model, and leaves in out_dir a folder that
MotionDiffusionPipeline.from_pretrained loads.

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
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset

from generators.learned.denoiser import MotionDenoiser
from generators.learned.pipeline import MotionDiffusionPipeline, training_scheduler
from generators.learned.representation import BODY_DIM, CONTENT_DIM, FACE_DIM, FACE_EVENTS
from generators.learned.vae import DOWNSAMPLE, MotionVAE

# Default sizes: the whole pipeline folder stays under 30 MB (7.2 M parameters).
# The face decoder reads the speech content at the frame rate (see generators/learned/vae.py): the lips need its
# timing. The body decoder does not: a body decoder that read the speech and was refined on degraded latents
# turned the speech's frame-rate detail into arm tremor (its share of arm-speed power above 3 Hz rose from 0.11 to
# 0.16 decoding the teacher's own latents, and to 0.21 on sampled ones); the body's beats come from the latents.
FACE_VAE = {"input_dim": FACE_DIM, "latent_dim": 32, "widths": (96, 192, 192), "condition_dim": CONTENT_DIM}
BODY_VAE = {"input_dim": BODY_DIM, "latent_dim": 32, "widths": (96, 192, 192), "condition_dim": 0}
DENOISER = {"content_dim": CONTENT_DIM, "d_model": 128, "n_layers": 6, "n_heads": 4, "ff_mult": 2, "dropout": 0.1}
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


def lr_factor(step: int, warmup: int, total: int, schedule: str = "cosine", floor: float = 0.1) -> float:
    """Learning-rate multiplier: linear warm-up, then constant or cosine down to `floor`."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
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
    """Appends rows of losses to a CSV (header from the first row)."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, row: dict) -> None:
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


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
    """A ModelMixin from a folder (plain loading: accelerate is not a dependency)."""
    return cls.from_pretrained(folder, low_cpu_mem_usage=False)


def _deadline(max_minutes: float | None) -> float:
    """The wall-clock time at which a stage stops."""
    return math.inf if max_minutes is None else time.monotonic() + 60.0 * max_minutes


# ---- stage 1: the VAEs ---------------------------------------------------------------------------------------------

def train_vaes(dataset: Dataset, out_dir: str | Path, steps: int = 20_000, batch_size: int = 32, lr: float = 2e-4,
               warmup: int = 500, schedule: str = "cosine", kl_weight: float = 1e-4, velocity_weight: float = 0.5,
               face_config: dict | None = None, body_config: dict | None = None, max_minutes: float | None = None,
               seed: int = 0, num_threads: int | None = 1, log_every: int = 50, checkpoint_every: int = 1000,
               stats_windows: int = 4096, resume: bool = True) -> tuple[MotionVAE, MotionVAE]:
    """Train the face and body VAEs; writes out_dir/face_vae, out_dir/body_vae, vae_log.csv, checkpoints/vae."""
    if num_threads:
        torch.set_num_threads(num_threads)
    deadline = _deadline(max_minutes)
    out_dir = Path(out_dir)
    ckpt = out_dir / "checkpoints" / "vae"
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    step = 0
    if resume and (ckpt / "state.json").exists():
        face_vae, body_vae = _load(MotionVAE, ckpt / "face_vae"), _load(MotionVAE, ckpt / "body_vae")
        step = json.loads((ckpt / "state.json").read_text())["step"]
    else:
        face_vae = MotionVAE(**{**FACE_VAE, **(face_config or {})})
        body_vae = MotionVAE(**{**BODY_VAE, **(body_config or {})})
        stats = feature_stats(dataset, stats_windows, seed=seed)
        face_vae.set_feature_stats(*stats["face"])
        body_vae.set_feature_stats(*stats["body"])
    vaes = (face_vae, body_vae)
    params = [p for vae in vaes for p in vae.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    if step:
        load_optimizer(optimizer, ckpt)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup, steps, schedule),
                                                  last_epoch=step - 1)

    def checkpoint() -> None:
        tmp = ckpt.with_name("vae.saving")
        shutil.rmtree(tmp, ignore_errors=True)
        face_vae.save_pretrained(tmp / "face_vae")
        body_vae.save_pretrained(tmp / "body_vae")
        save_optimizer(optimizer, tmp)
        (tmp / "state.json").write_text(json.dumps({"step": step}))
        _swap_in(tmp, ckpt)

    log, averager = _Log(out_dir / "vae_log.csv"), _Averager()
    data = batches(dataset, batch_size, seed + step)
    generator = torch.Generator().manual_seed(seed + step)
    started, started_step = time.monotonic(), step
    for vae in vaes:
        vae.train()
    while step < steps and time.monotonic() < deadline:
        batch = next(data)
        loss, parts = torch.zeros(()), {}
        for vae, key in zip(vaes, ("face", "body"), strict=True):
            present = batch[f"{key}_present"]
            if present.any():
                part, values = vae_loss(vae, batch[key][present], batch["content"][present], kl_weight,
                                        velocity_weight, generator)
                loss = loss + part
                parts.update({f"{key}_{k}": v for k, v in values.items()})
        if loss.requires_grad:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            parts["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, 1.0).item()
            optimizer.step()
        scheduler.step()
        step += 1
        averager.add({"loss": loss.item(), **parts})
        if step % log_every == 0 or step == steps:
            elapsed = time.monotonic() - started
            log.write({"step": step, "elapsed_s": elapsed, "lr": scheduler.get_last_lr()[0],
                       "steps_per_s": (step - started_step) / max(elapsed, 1e-9), **averager.pop()})
        if step % checkpoint_every == 0:
            checkpoint()
    checkpoint()
    latent_stats(vaes, dataset, stats_windows, seed=seed)
    for vae, name in zip(vaes, ("face_vae", "body_vae"), strict=True):
        vae.eval()
        tmp = out_dir / f".{name}.saving"
        shutil.rmtree(tmp, ignore_errors=True)
        vae.save_pretrained(tmp)
        _swap_in(tmp, out_dir / name)
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


def refine_decoder(dataset: Dataset, vae_dir: str | Path, key: str = "face", steps: int = 600,
                   batch_size: int = 32, lr: float = 3e-4, velocity_weight: float = 0.5,
                   max_minutes: float | None = None, seed: int = 0, num_threads: int | None = 1,
                   log_every: int = 20) -> MotionVAE:
    """Fine-tune a content-conditioned decoder on degraded latents (stage 1b); the encoder stays frozen.

    A VAE trained on clean posterior means leaves its decoder free to ignore the content: the latent already says
    when the lips meet. Sampled latents are blurrier than that, and a lip closure lasts two or three frames, so the
    decoder is taught here to restore that timing from the speech (`degrade_latents`). The encoder and the latent
    statistics do not change, so a denoiser trained on this VAE's latents stays valid. Writes vae_dir/<key>_vae.

    Blinks and gaze shifts are as short as closures but the speech does not time them: taught on degraded latents,
    the decoder would learn to leave them out. Those channels (representation.FACE_EVENTS) learn from the clean
    latents of the batch only.
    """
    if num_threads:
        torch.set_num_threads(num_threads)
    deadline = _deadline(max_minutes)
    folder = Path(vae_dir) / f"{key}_vae"
    vae = _load(MotionVAE, folder)
    if vae.condition is None:
        raise ValueError(f"{folder}: this VAE's decoder takes no content; nothing to refine")
    events = torch.zeros(vae.config.input_dim, dtype=torch.bool)
    if key == "face":
        events[list(FACE_EVENTS)] = True
    vae.train()
    vae.encoder.requires_grad_(False)
    params = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, 20, steps))
    generator = torch.Generator().manual_seed(seed + 7)
    log, averager = _Log(Path(vae_dir) / f"{key}_decoder_log.csv"), _Averager()
    data, step, started = batches(dataset, batch_size, seed + 7), 0, time.monotonic()
    while step < steps and time.monotonic() < deadline:
        batch = next(data)
        present = batch[f"{key}_present"]
        if not present.any():
            continue
        x, content = batch[key][present], batch["content"][present]
        with torch.no_grad():
            z, degraded = degrade_latents(vae.encode(x)[0], generator)
        recon = vae._decode_norm(z, content)
        target = vae.normalize(x)
        weight = (~(degraded[:, None] & events[None])).to(recon.dtype)[:, None, :]  # (B, 1, D)
        loss_recon = ((recon - target) ** 2 * weight).sum() / (weight.sum() * recon.shape[1])
        loss_velocity = ((recon.diff(dim=1) - target.diff(dim=1)) ** 2 * weight).sum() / (
            weight.sum() * (recon.shape[1] - 1))
        loss = loss_recon + velocity_weight * loss_velocity
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        averager.add({"loss": loss.item(), "recon": loss_recon.item(), "velocity": loss_velocity.item()})
        if step % log_every == 0 or step == steps:
            elapsed = time.monotonic() - started
            log.write({"step": step, "elapsed_s": elapsed, "lr": scheduler.get_last_lr()[0],
                       "steps_per_s": step / max(elapsed, 1e-9), **averager.pop()})
    vae.eval().requires_grad_(False)
    tmp = folder.with_name(f".{folder.name}.saving")
    shutil.rmtree(tmp, ignore_errors=True)
    vae.save_pretrained(tmp)
    _swap_in(tmp, folder)
    return vae


def content_free_decoder(vae: MotionVAE) -> MotionVAE:
    """A copy of a VAE whose decoder reads no speech content: the same encoder, statistics and decoder layers,
    without the content branch (so its latent space, and a denoiser trained in it, stay valid)."""
    free = MotionVAE.from_config({**vae.config, "condition_dim": 0})
    state = {k: v for k, v in vae.state_dict().items() if not k.startswith("condition.")}
    free.load_state_dict(state)
    return free


def train_body_decoder(dataset: Dataset, vae_dir: str | Path, steps: int = 600, batch_size: int = 32,
                       lr: float = 3e-4, velocity_weight: float = 0.5, max_minutes: float | None = None,
                       seed: int = 0, num_threads: int | None = 1, log_every: int = 20,
                       checkpoint_every: int = 100) -> MotionVAE:
    """Give vae_dir/body_vae a decoder that reads no speech content, trained on the data (the encoder frozen).

    Starts from the old decoder without its content branch (`content_free_decoder`) and learns to decode
    posterior samples, as in the VAE stage. Saved to vae_dir/body_vae every `checkpoint_every` steps (with
    checkpoints/body_decoder/state.json), so a stopped run leaves a usable decoder and a rerun continues it.
    Logs to body_decoder_free_log.csv.
    """
    if num_threads:
        torch.set_num_threads(num_threads)
    deadline = _deadline(max_minutes)
    vae_dir = Path(vae_dir)
    folder, state_file = vae_dir / "body_vae", vae_dir / "checkpoints" / "body_decoder" / "state.json"
    vae = _load(MotionVAE, folder)
    step = json.loads(state_file.read_text())["step"] if state_file.is_file() and vae.condition is None else 0
    if vae.condition is not None:
        vae = content_free_decoder(vae)
    elif step == 0:
        return vae.eval()  # trained content-free from the start: nothing to do
    vae.train()
    vae.encoder.requires_grad_(False)
    params = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    for group in optimizer.param_groups:  # a resumed run continues the schedule (with a fresh optimizer state)
        group["initial_lr"] = lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, 20, steps), last_epoch=step - 1)
    generator = torch.Generator().manual_seed(seed + 11 + step)
    log, averager = _Log(vae_dir / "body_decoder_free_log.csv"), _Averager()

    def checkpoint() -> None:
        tmp = folder.with_name(f".{folder.name}.saving")
        shutil.rmtree(tmp, ignore_errors=True)
        vae.save_pretrained(tmp)
        _swap_in(tmp, folder)
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.with_suffix(".tmp").write_text(json.dumps({"step": step}))
        state_file.with_suffix(".tmp").replace(state_file)

    data, started, started_step = batches(dataset, batch_size, seed + 11 + step), time.monotonic(), step
    while step < steps and time.monotonic() < deadline:
        batch = next(data)
        present = batch["body_present"]
        if not present.any():
            continue
        loss, parts = vae_loss(vae, batch["body"][present], batch["content"][present], 0.0, velocity_weight,
                               generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        averager.add({"loss": loss.item(), "recon": parts["recon"], "velocity": parts["velocity"]})
        if step % log_every == 0 or step == steps:
            elapsed = time.monotonic() - started
            log.write({"step": step, "elapsed_s": elapsed, "lr": scheduler.get_last_lr()[0],
                       "steps_per_s": (step - started_step) / max(elapsed, 1e-9), **averager.pop()})
        if step % checkpoint_every == 0:
            vae.eval()
            checkpoint()
            vae.train()
    vae.eval().requires_grad_(False)
    checkpoint()
    return vae


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


def denoiser_loss(pipe: MotionDiffusionPipeline, denoiser: MotionDenoiser, batch: dict, generator: torch.Generator,
                  emotion_drop: float = 0.15, style_drop: float = 0.15, context_prob: float = 0.5,
                  crop_prob: float = 0.25, velocity_weight: float = 0.1,
                  event_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """v-prediction loss (+ a light velocity loss on the implied x0) of one batch, modality masks honoured.

    event_weight > 0 adds a loss on the face events (representation.FACE_EVENTS: blinks, eye movements, gaze) of
    the implied x0 decoded by the frozen face decoder, weighted by each sample's signal share abar. The speech does
    not time those events, so a denoiser trained on the latent loss alone learns them last and samples them as
    faint half-blinks; this term spends more of its capacity on them (its minimiser is still the posterior mean).
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

    t = torch.randint(0, schedule.config.num_train_timesteps, (b,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = schedule.add_noise(x0, noise, t)
    target = schedule.get_velocity(x0, noise, t)
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
    present = batch["face_present"]
    if event_weight and present.any():
        vae, channels = pipe.face_vae, list(FACE_EVENTS)
        decoded = vae._decode_norm(vae.from_unit(x0_hat[present, :, :lf]), content[present])[..., channels]
        error = ((decoded - vae.normalize(face[present])[..., channels]) ** 2).mean(dim=(1, 2))
        events = (error * abar[present].reshape(-1)).mean()
        loss = loss + event_weight * events
        parts["events"] = events.item()
    return loss, parts


def train_denoiser(dataset: Dataset, vaes, out_dir: str | Path, steps: int = 50_000, batch_size: int = 32,
                   lr: float = 2e-4, warmup: int = 1000, schedule: str = "cosine", weight_decay: float = 0.01,
                   denoiser_config: dict | None = None, emotion_drop: float = 0.15, style_drop: float = 0.15,
                   context_prob: float = 0.5, crop_prob: float = 0.25, velocity_weight: float = 0.1,
                   event_weight: float = 0.0, ema_decay: float = 0.999, max_minutes: float | None = None,
                   seed: int = 0, num_threads: int | None = 1, log_every: int = 50, checkpoint_every: int = 1000,
                   resume: bool = True, pipeline_kwargs: dict | None = None,
                   init_from: str | Path | None = None,
                   log_name: str = "denoiser_log.csv") -> MotionDiffusionPipeline:
    """Train the denoiser on frozen VAEs (a pair, or a folder with them) and save the pipeline to out_dir.

    init_from: a pipeline folder whose denoiser starts the training (fine-tuning: a fresh optimizer, the same
    latent space); it must have been trained on these VAEs' latents.
    """
    if num_threads:
        torch.set_num_threads(num_threads)
    deadline = _deadline(max_minutes)
    out_dir = Path(out_dir)
    ckpt = out_dir / "checkpoints" / "denoiser"
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    face_vae, body_vae = _load_vaes(vaes)
    latent_dim = face_vae.config.latent_dim + body_vae.config.latent_dim
    step, vae_id = 0, _fingerprint((face_vae, body_vae))
    state = json.loads((ckpt / "state.json").read_text()) if (ckpt / "state.json").exists() else {}
    if resume and state and state.get("vaes") != vae_id:
        warnings.warn(f"{ckpt}: the denoiser checkpoint was trained on other VAEs; starting the denoiser afresh",
                      stacklevel=2)
    elif resume and state:
        denoiser = _load(MotionDenoiser, ckpt / "denoiser")
        ema = EMA(_load(MotionDenoiser, ckpt / "ema"), ema_decay)
        step = state["step"]
    if not step:
        denoiser = (MotionDenoiser(**{**DENOISER, **(denoiser_config or {}), "latent_dim": latent_dim})
                    if init_from is None else _load(MotionDenoiser, Path(init_from) / "denoiser"))
        if denoiser.config.latent_dim != latent_dim:
            raise ValueError(f"{init_from}: its denoiser works on {denoiser.config.latent_dim} latent channels, "
                             f"these VAEs make {latent_dim}; fine-tune it on the VAEs it was trained with")
        ema = EMA(denoiser, ema_decay)
    pipe = MotionDiffusionPipeline(face_vae, body_vae, ema.model, training_scheduler(), **(pipeline_kwargs or {}))
    denoiser.train()
    # No weight decay on biases, norms and the null embeddings.
    decay = [p for name, p in denoiser.named_parameters() if p.ndim >= 2]
    no_decay = [p for name, p in denoiser.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    if step:
        load_optimizer(optimizer, ckpt)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup, steps, schedule),
                                                  last_epoch=step - 1)

    def checkpoint() -> None:
        tmp = ckpt.with_name("denoiser.saving")
        shutil.rmtree(tmp, ignore_errors=True)
        denoiser.save_pretrained(tmp / "denoiser")
        ema.model.save_pretrained(tmp / "ema")
        save_optimizer(optimizer, tmp)
        (tmp / "state.json").write_text(json.dumps({"step": step, "vaes": vae_id}))
        _swap_in(tmp, ckpt)

    log, averager = _Log(out_dir / log_name), _Averager()
    data = batches(dataset, batch_size, seed + 1 + step)
    generator = torch.Generator().manual_seed(seed + 1 + step)
    started, started_step = time.monotonic(), step
    kwargs = {"emotion_drop": emotion_drop, "style_drop": style_drop, "context_prob": context_prob,
              "crop_prob": crop_prob, "velocity_weight": velocity_weight, "event_weight": event_weight}
    while step < steps and time.monotonic() < deadline:
        loss, parts = denoiser_loss(pipe, denoiser, next(data), generator, **kwargs)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        parts["grad_norm"] = torch.nn.utils.clip_grad_norm_(denoiser.parameters(), 1.0).item()
        optimizer.step()
        scheduler.step()
        step += 1
        ema.update(denoiser, step)
        averager.add({"loss": loss.item(), **parts})
        if step % log_every == 0 or step == steps:
            elapsed = time.monotonic() - started
            log.write({"step": step, "elapsed_s": elapsed, "lr": scheduler.get_last_lr()[0],
                       "steps_per_s": (step - started_step) / max(elapsed, 1e-9), **averager.pop()})
        if step % checkpoint_every == 0:
            checkpoint()
    checkpoint()
    pipe.save_pretrained(out_dir)  # with the EMA weights
    run = {"denoiser_steps": step, "denoiser_seconds_this_run": time.monotonic() - started,
           "batch_size": batch_size, "lr": lr, "schedule": schedule, "warmup": warmup,
           "prediction_type": "v_prediction", **kwargs, "ema_decay": ema_decay, "seed": seed}
    if init_from is not None:  # the run it started from stays on record, with this one as its fine-tuning
        earlier = Path(init_from) / "training.json"
        run = {**(json.loads(earlier.read_text()) if earlier.is_file() else {}), "finetune": run}
    (out_dir / "training.json").write_text(json.dumps(run, indent=2) + "\n")
    return pipe


def train(dataset: Dataset, out_dir: str | Path, vae_steps: int = 20_000, denoiser_steps: int = 50_000,
          max_minutes: float | None = None, vae_share: float = 0.3, **kwargs) -> MotionDiffusionPipeline:
    """Both stages in one call; with a budget, the VAEs get `vae_share` of it and the denoiser the rest."""
    started = time.monotonic()
    vae_kwargs = {k: kwargs.pop(k) for k in ("face_config", "body_config", "kl_weight") if k in kwargs}
    vae_minutes = None if max_minutes is None else max_minutes * vae_share
    common = {k: kwargs[k] for k in ("batch_size", "seed", "num_threads", "log_every", "checkpoint_every",
                                     "resume") if k in kwargs}
    vaes = train_vaes(dataset, out_dir, vae_steps, max_minutes=vae_minutes, **common, **vae_kwargs)
    left = None if max_minutes is None else max(0.0, max_minutes - (time.monotonic() - started) / 60.0)
    return train_denoiser(dataset, vaes, out_dir, denoiser_steps, max_minutes=left, **kwargs)

"""The diffusion schedule the denoiser is trained on and the two samplers that run it backwards.

Training (`NoiseSchedule`): DDPM (Ho et al. 2020) over 1000 steps with the cosine schedule of Nichol & Dhariwal
(2021): alpha_bar(s) = cos^2((s + 0.008) / 1.008 * pi / 2), each beta = 1 - alpha_bar(t+1) / alpha_bar(t) capped at
0.999; the model predicts v = sqrt(abar) * noise - sqrt(1 - abar) * x0 (Salimans & Ho 2022).

Sampling (`make_sampler`): DDIM with eta = 0 (Song et al. 2021) or DPM-Solver++ 2nd-order multistep (Lu et al.
2022), both on "trailing" timesteps (Lin et al. 2023: the first step starts at the last training step, pure noise).

These reproduce diffusers 0.42.1's DDPMScheduler, DDIMScheduler and DPMSolverMultistepScheduler as the pipeline
configured them (tests/test_learned_schedule.py compares them on random inputs), with its numerical conventions, so
the shipped checkpoint samples what it sampled before: betas in float64, everything after in float32; DDIM steps to
t - 1000 // steps and past zero to abar = 1; DPM-Solver works on sigma = sqrt((1 - abar) / abar), ends on sigma 0
(its last step returns the x0 prediction) and takes first-order steps first and last. Written here because importing
diffusers costs every rendering process about 2.4 s (it pulls torch._dynamo, scipy.stats and transformers).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

SAMPLERS = ("ddim", "dpm")
CONFIG_NAME = "scheduler_config.json"
# scheduler_config.json keeps diffusers' DDPMScheduler format (older checkpoints have it, and diffusers can still
# read ours). These settings decide the numbers, and this module implements only these values of them:
_IMPLEMENTED = {
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "v_prediction",
    "timestep_spacing": "trailing",
    "clip_sample": False,
    "thresholding": False,
    "rescale_betas_zero_snr": False,
    "trained_betas": None,
}
# ... and these are written for the format only: none of them acts under the settings above.
_FORMAT_ONLY = {
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "clip_sample_range": 1.0,
    "dynamic_thresholding_ratio": 0.995,
    "sample_max_value": 1.0,
    "steps_offset": 0,
    "variance_type": "fixed_small",
}


def cosine_alphas_cumprod(num_train_timesteps: int) -> torch.Tensor:
    """abar_t (float32, t = 0 .. n-1) of the capped cosine schedule."""

    def alpha_bar(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    n = num_train_timesteps
    betas = [min(1.0 - alpha_bar((t + 1) / n) / alpha_bar(t / n), 0.999) for t in range(n)]
    return torch.cumprod(1.0 - torch.tensor(betas, dtype=torch.float32), dim=0)


def _gather(values: torch.Tensor, timesteps: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
    """values[timesteps] shaped to broadcast over a batch like `like` (one timestep per sample, or one for all)."""
    picked = values[torch.as_tensor(timesteps).reshape(-1)]
    return picked.reshape(-1, *([1] * (like.ndim - 1)))


class NoiseSchedule:
    """The forward (noising) process the denoiser is trained on, and its v-prediction target."""

    prediction_type = "v_prediction"

    def __init__(self, num_train_timesteps: int = 1000):
        self.num_train_timesteps = int(num_train_timesteps)
        self.alphas_cumprod = cosine_alphas_cumprod(self.num_train_timesteps)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor | int) -> torch.Tensor:
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
        abar = _gather(self.alphas_cumprod, timesteps, x0)
        return abar**0.5 * x0 + (1 - abar) ** 0.5 * noise

    def velocity(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor | int) -> torch.Tensor:
        """The training target v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0."""
        abar = _gather(self.alphas_cumprod, timesteps, x0)
        return abar**0.5 * noise - (1 - abar) ** 0.5 * x0

    def config(self) -> dict:
        """What scheduler_config.json holds."""
        return {
            "_class_name": "DDPMScheduler",
            "num_train_timesteps": self.num_train_timesteps,
            **_IMPLEMENTED,
            **_FORMAT_ONLY,
        }

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write scheduler_config.json into folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_NAME).write_text(json.dumps(self.config(), indent=2, sort_keys=True) + "\n")
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> NoiseSchedule:
        """Load a folder's scheduler_config.json (ours, or the DDPMScheduler file diffusers wrote)."""
        path = Path(folder) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{folder}: no {CONFIG_NAME}; point to a pipeline's scheduler/ folder")
        config = json.loads(path.read_text())
        for key, value in _IMPLEMENTED.items():
            if config.get(key, value) != value:
                raise ValueError(
                    f"{path}: {key} is {config[key]!r}; this code implements only {value!r}, so the "
                    "model was trained for another schedule: retrain it with this code"
                )
        return cls(config.get("num_train_timesteps", 1000))


def trailing_timesteps(num_train_timesteps: int, steps: int) -> torch.Tensor:
    """`steps` timesteps from num_train_timesteps - 1 down, evenly spaced and rounded (half to even), as int64."""
    # numpy's arange sets the rounding diffusers' schedulers had; at some step counts (61, 103, ...) its float
    # length adds one value past zero, which is not a step: keep the first `steps`.
    spaced = np.arange(num_train_timesteps, 0, -num_train_timesteps / steps)[:steps]
    return torch.from_numpy(np.round(spaced).astype(np.int64) - 1)


def _log_snr(alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """lambda = log(alpha / sigma), the half log signal-to-noise ratio DPM-Solver steps in."""
    return torch.log(alpha) - torch.log(sigma)


def _check_steps(schedule: NoiseSchedule, steps: int) -> int:
    """steps as an int, or a ValueError saying the allowed range."""
    if not 1 <= int(steps) <= schedule.num_train_timesteps:
        raise ValueError(f"steps: must be between 1 and {schedule.num_train_timesteps}, got {steps}")
    return int(steps)


class DDIMSampler:
    """Deterministic DDIM (eta = 0) for a v-predicting model."""

    def __init__(self, schedule: NoiseSchedule, steps: int):
        self.steps = _check_steps(schedule, steps)
        self.schedule = schedule
        self.timesteps = trailing_timesteps(schedule.num_train_timesteps, self.steps)
        # Each step goes a fixed stride down, not to the next listed timestep (they differ by rounding when
        # 1000 % steps != 0): diffusers' DDIM did so, and the checkpoint is meant to sample as it did.
        self.stride = schedule.num_train_timesteps // self.steps

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timestep: torch.Tensor | int) -> torch.Tensor:
        """x0 noised to the level of `timestep` (in-painting known tokens)."""
        return self.schedule.add_noise(x0, noise, timestep)

    def step(self, v: torch.Tensor, timestep: torch.Tensor | int, x: torch.Tensor) -> torch.Tensor:
        """The sample at the next (less noisy) timestep, from the model's v at this one."""
        abar = self.schedule.alphas_cumprod
        t = int(timestep)
        a_t = abar[t]
        a_next = abar[t - self.stride] if t - self.stride >= 0 else torch.tensor(1.0)
        x0 = a_t**0.5 * x - (1 - a_t) ** 0.5 * v
        noise = a_t**0.5 * v + (1 - a_t) ** 0.5 * x
        return a_next**0.5 * x0 + (1 - a_next) ** 0.5 * noise


class DPMSolverSampler:
    """DPM-Solver++ (2nd-order multistep, midpoint form) for a v-predicting model; stateful: one pass of its
    timesteps, in order."""

    def __init__(self, schedule: NoiseSchedule, steps: int):
        self.steps = _check_steps(schedule, steps)
        self.timesteps = trailing_timesteps(schedule.num_train_timesteps, self.steps)
        abar = schedule.alphas_cumprod
        # sigma = sqrt((1 - abar) / abar) at each timestep, then 0: the last step lands on the clean sample.
        self.sigmas = torch.cat([((1 - abar) / abar)[self.timesteps] ** 0.5, torch.zeros(1)])
        self.index = 0
        self.previous_x0: torch.Tensor | None = None

    def _alpha_sigma(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, sigma) of the variance-preserving process at sigmas[index]: x = alpha x0 + sigma noise."""
        alpha = 1 / (self.sigmas[index] ** 2 + 1) ** 0.5
        return alpha, self.sigmas[index] * alpha

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timestep: torch.Tensor | int) -> torch.Tensor:
        """x0 noised to the level of `timestep`, one of this sampler's timesteps (in-painting known tokens)."""
        matches = (self.timesteps == int(timestep)).nonzero()
        if len(matches) == 0:
            raise ValueError(f"timestep {int(timestep)} is not one of this sampler's {self.timesteps.tolist()}")
        alpha, sigma = self._alpha_sigma(int(matches[0]))
        return alpha * x0 + sigma * noise

    def step(self, v: torch.Tensor, timestep: torch.Tensor | int, x: torch.Tensor) -> torch.Tensor:
        """The sample at the next timestep, from the model's v at this one (timesteps must come in order)."""
        i = self.index
        if i >= self.steps or int(timestep) != int(self.timesteps[i]):
            expected = int(self.timesteps[i]) if i < self.steps else "none (all steps taken)"
            raise ValueError(
                f"DPM-Solver step: expected timestep {expected}, got {int(timestep)}; step through "
                "sampler.timesteps once, in order"
            )
        alpha, sigma = self._alpha_sigma(i)
        x0 = alpha * x - sigma * v
        previous, self.previous_x0, self.index = self.previous_x0, x0, i + 1
        if self.sigmas[i + 1] == 0:  # the last step: the x0 prediction itself
            return x0
        alpha_next, sigma_next = self._alpha_sigma(i + 1)
        h = _log_snr(alpha_next, sigma_next) - _log_snr(alpha, sigma)  # the step's length in log-SNR
        decay = alpha_next * (torch.exp(-h) - 1.0)
        x_next = (sigma_next / sigma) * x - decay * x0
        if previous is None:  # the first step: first order (no earlier prediction yet)
            return x_next
        # The second-order term: the x0 prediction's change over the last step, rescaled by r = h_previous / h
        # (written as diffusers rounds it, so the shipped checkpoint samples the same bits).
        h_previous = _log_snr(alpha, sigma) - _log_snr(*self._alpha_sigma(i - 1))
        slope = (1.0 / (h_previous / h)) * (x0 - previous)
        return x_next - 0.5 * decay * slope


def make_sampler(schedule: NoiseSchedule, name: str, steps: int) -> DDIMSampler | DPMSolverSampler:
    """A DDIM ("ddim") or DPM-Solver++ ("dpm") sampler of `steps` steps on the training schedule."""
    if name == "ddim":
        return DDIMSampler(schedule, steps)
    if name == "dpm":
        return DPMSolverSampler(schedule, steps)
    raise ValueError(f"scheduler: unknown {name!r}; use one of {', '.join(SAMPLERS)}")

"""Our diffusion schedule and samplers against diffusers 0.42.1's (the code the shipped checkpoint was sampled with),
and the learned generator's inference path free of diffusers, torch._dynamo, transformers and scipy.stats.

diffusers stays installed only as this reference; nothing else imports it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from generators.learned.pipeline import training_scheduler
from generators.learned.schedule import (
    CONFIG_NAME,
    DPMSolverSampler,
    NoiseSchedule,
    make_sampler,
    trailing_timesteps,
)

REPOSITORY = Path(__file__).resolve().parents[1]
SHIPPED_SCHEDULER = REPOSITORY / "checkpoints" / "motion-diffusion" / "scheduler"
# The same float32 arithmetic: here the samplers agree to the bit; the tolerance leaves room for another CPU's
# vector code (a few float32 ulps on unit-scale samples).
TOLERANCE = 1e-6
STEP_COUNTS = (1, 2, 3, 6, 10, 14, 15, 16, 20, 48, 50)


@pytest.fixture(scope="module")
def reference():
    """diffusers' schedulers as generators/learned/pipeline.py configured them before issue 16."""
    diffusers = pytest.importorskip("diffusers")
    ddpm = diffusers.DDPMScheduler.from_pretrained(SHIPPED_SCHEDULER)

    def sampler(name: str, steps: int):
        if name == "ddim":
            made = diffusers.DDIMScheduler.from_config(ddpm.config)
        else:
            made = diffusers.DPMSolverMultistepScheduler.from_config(
                ddpm.config, algorithm_type="dpmsolver++", solver_order=2, final_sigmas_type="zero"
            )
        made.set_timesteps(steps)
        return made

    return ddpm, sampler


def test_training_schedule_matches_diffusers(reference):
    ddpm, _ = reference
    ours = NoiseSchedule.from_pretrained(SHIPPED_SCHEDULER)
    torch.testing.assert_close(ours.alphas_cumprod, ddpm.alphas_cumprod, rtol=0, atol=1e-7)
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(16, 12, 64, generator=generator), torch.randn(16, 12, 64, generator=generator)
    t = torch.randint(0, 1000, (16,), generator=generator)
    t[:2] = torch.tensor([0, 999])  # both ends of the schedule
    torch.testing.assert_close(ours.add_noise(x0, noise, t), ddpm.add_noise(x0, noise, t), rtol=0, atol=TOLERANCE)
    torch.testing.assert_close(ours.velocity(x0, noise, t), ddpm.get_velocity(x0, noise, t), rtol=0, atol=TOLERANCE)


def _model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A fixed stand-in for the denoiser: a smooth, timestep-dependent function of the sample."""
    weight = torch.linspace(-1.0, 1.0, x.shape[-1])
    return torch.tanh(x * weight + float(t) / 1000.0) + 0.1 * x.roll(1, dims=-1)


@pytest.mark.parametrize("name", ["ddim", "dpm"])
def test_samplers_match_diffusers_step_by_step(reference, name):
    _, sampler_of = reference
    schedule = training_scheduler()
    generator = torch.Generator().manual_seed(1)
    for steps in STEP_COUNTS:
        ours, theirs = make_sampler(schedule, name, steps), sampler_of(name, steps)
        assert ours.timesteps.tolist() == theirs.timesteps.tolist(), steps
        x = torch.randn(2, 24, 64, generator=generator)
        known, noise = torch.randn(2, 24, 64, generator=generator), torch.randn(2, 24, 64, generator=generator)
        y = x.clone()
        for t in ours.timesteps:
            torch.testing.assert_close(
                ours.add_noise(known, noise, t), theirs.add_noise(known, noise, t.reshape(1)), rtol=0, atol=TOLERANCE
            )
            x = ours.step(_model(x, t), t, x)
            y = theirs.step(_model(y, t), t, y).prev_sample
            torch.testing.assert_close(x, y, rtol=0, atol=TOLERANCE, msg=f"{name}, {steps} steps, at t={int(t)}")


def test_a_saved_schedule_is_read_by_diffusers_as_the_same_schedule(reference, tmp_path):
    diffusers = pytest.importorskip("diffusers")
    training_scheduler().save_pretrained(tmp_path)
    theirs = diffusers.DDPMScheduler.from_pretrained(tmp_path)
    torch.testing.assert_close(theirs.alphas_cumprod, reference[0].alphas_cumprod, rtol=0, atol=0)
    shipped = json.loads((SHIPPED_SCHEDULER / CONFIG_NAME).read_text())
    saved = json.loads((tmp_path / CONFIG_NAME).read_text())
    assert {k: v for k, v in shipped.items() if not k.startswith("_")} == {
        k: v for k, v in saved.items() if not k.startswith("_")
    }  # the shipped file's format, setting for setting


def test_trailing_timesteps_give_exactly_the_steps_asked_for():
    for steps in range(1, 1001):
        timesteps = trailing_timesteps(1000, steps)
        assert len(timesteps) == steps and timesteps[0] == 999 and timesteps[-1] >= 0, steps
        assert (timesteps.diff() < 0).all(), steps
    assert trailing_timesteps(1000, 10).tolist() == list(range(999, 0, -100))


def test_schedules_it_does_not_implement_are_refused(tmp_path):
    config = json.loads((SHIPPED_SCHEDULER / CONFIG_NAME).read_text())
    (tmp_path / CONFIG_NAME).write_text(json.dumps({**config, "prediction_type": "epsilon"}))
    with pytest.raises(ValueError, match="prediction_type is 'epsilon'"):
        NoiseSchedule.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match=CONFIG_NAME):
        NoiseSchedule.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown 'euler'"):
        make_sampler(training_scheduler(), "euler", 10)
    with pytest.raises(ValueError, match="between 1 and 1000"):
        make_sampler(training_scheduler(), "dpm", 0)


def test_dpm_solver_steps_only_in_order():
    sampler = DPMSolverSampler(training_scheduler(), 4)
    x = torch.zeros(1, 2, 3)
    with pytest.raises(ValueError, match="expected timestep 999"):
        sampler.step(x, sampler.timesteps[1], x)
    for t in sampler.timesteps:
        x = sampler.step(torch.ones_like(x), t, x)
    with pytest.raises(ValueError, match="step through sampler.timesteps once"):
        sampler.step(x, sampler.timesteps[-1], x)


_INFERENCE = """
import sys
import numpy as np
from generators.conditioning import EmotionFrames
from generators.learned.animate import LearnedAnimator
from generators.learned.dataset import content_from_features
from generators.learned.representation import CONTENT_DIM

content = content_from_features(np.random.default_rng(0).normal(size=(40, CONTENT_DIM)))
categories = np.zeros((40, 8)); categories[:, 0] = 1.0
emotion = EmotionFrames(categories, np.full(40, 0.5), np.zeros((40, 3)))
face, body = LearnedAnimator.from_pretrained(steps=2).animate(content, emotion, seed=0)
assert face.n_frames == body.n_frames == 40
heavy = ("diffusers", "torch._dynamo", "transformers", "scipy.stats")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith(heavy)))
"""


def test_the_learned_generator_renders_without_importing_diffusers():
    """A fresh process that loads the shipped checkpoint and makes a track imports none of the slow packages."""
    result = subprocess.run(
        [sys.executable, "-c", _INFERENCE], cwd=REPOSITORY, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", result.stdout

"""The latent-diffusion motion model on tiny configs and random tensors: shapes, sampling, windows, stream, training."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from generators.learned.denoiser import MotionDenoiser
from generators.learned.pipeline import MotionDiffusionPipeline
from generators.learned.representation import BODY_DIM, CONTENT_DIM, EMOTION_DIM, FACE_DIM, STYLE_DIM
from generators.learned.train import load_optimizer, save_optimizer, train_denoiser, train_vaes
from generators.learned.train_config import MotionTrainConfig
from generators.learned.vae import MotionVAE

TINY_VAE = {"latent_dim": 4, "widths": (16, 16, 16), "condition_dim": CONTENT_DIM}  # decoders read the content
TINY_DENOISER = {"d_model": 32, "n_layers": 2, "n_heads": 2, "ff_mult": 2, "dropout": 0.0}
# The training recipe at those sizes, on batches of 8 with every step logged.
TINY = MotionTrainConfig().with_values({
    "model.latent_dim": 4, "model.vae_widths": "16,16,16", "model.d_model": 32, "model.n_layers": 2,
    "model.n_heads": 2, "model.dropout": 0.0, "batch_size": 8, "log_every": 1, "vae.stats_windows": 16})


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One thread: on a shared 2-core machine a second OpenMP thread waits on a busy core far more than it helps."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _randomize(model: torch.nn.Module, std: float = 0.1) -> torch.nn.Module:
    """Give the zero-initialised layers (adaLN gates, output) random weights, as an untrained-but-alive model."""
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=generator) * std)
    return model


@pytest.fixture(scope="module")
def pipe() -> MotionDiffusionPipeline:
    """A tiny random pipeline with 16-token windows overlapping by 4, so 300 frames take several windows."""
    torch.manual_seed(0)
    face, body = MotionVAE(FACE_DIM, **TINY_VAE), MotionVAE(BODY_DIM, **TINY_VAE)
    denoiser = _randomize(MotionDenoiser(8, **TINY_DENOISER))
    return MotionDiffusionPipeline(face, body, denoiser, window_tokens=16, overlap_tokens=4)


def _conditions(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    emotion = np.zeros((n, EMOTION_DIM), np.float32)
    emotion[:, 1] = 0.8
    emotion[:, 8:] = (0.6, 0.5, 0.3)
    return rng.normal(size=(n, CONTENT_DIM)).astype(np.float32), emotion, rng.normal(size=STYLE_DIM)


def test_vae_shapes_and_4x_latent():
    vae = MotionVAE(FACE_DIM, **TINY_VAE)
    x, content = torch.randn(2, 40, FACE_DIM), torch.randn(2, 40, CONTENT_DIM)
    mean, logvar = vae.encode(x)
    assert mean.shape == logvar.shape == (2, 10, 4)
    assert vae.decode(mean, content).shape == (2, 40, FACE_DIM)
    out = vae(x, content)
    assert out["recon"].shape == x.shape and out["kl"].shape == (2, 10, 4)
    with pytest.raises(ValueError, match="multiple of 4"):
        vae.encode(torch.randn(1, 6, FACE_DIM))
    with pytest.raises(ValueError, match="give a condition"):
        vae.decode(mean)
    with pytest.raises(ValueError, match="36 frames"):
        vae.decode(mean, content[:, :36])
    plain = MotionVAE(FACE_DIM, latent_dim=4, widths=(16, 16, 16))
    assert plain.decode(mean).shape == (2, 40, FACE_DIM)
    with pytest.raises(ValueError, match="do not give"):
        plain.decode(mean, content)


def test_vae_decoder_is_causal_and_local():
    """What streaming relies on: later tokens (and later content) never change earlier frames, and 10 tokens of
    left context suffice."""
    torch.manual_seed(1)
    vae = MotionVAE(FACE_DIM, **TINY_VAE).eval()
    z, content = torch.randn(1, 30, 4), torch.randn(1, 120, CONTENT_DIM)
    with torch.no_grad():
        full = vae.decode(z, content)
        changed, later = z.clone(), content.clone()
        changed[:, 20:] = torch.randn(1, 10, 4)
        later[:, 80:] = torch.randn(1, 40, CONTENT_DIM)
        torch.testing.assert_close(vae.decode(changed, later)[:, :80], full[:, :80], rtol=0, atol=0)
        torch.testing.assert_close(vae.decode(z[:, 10:], content[:, 40:])[:, 40:], full[:, 80:], rtol=0, atol=1e-5)
        # The content reaches the frames: the decoder takes timing from it.
        assert not torch.allclose(vae.decode(z, later)[:, 80:], full[:, 80:])


def test_denoiser_forward_shapes():
    denoiser = MotionDenoiser(8, **TINY_DENOISER)
    x = torch.randn(3, 10, 8)
    kwargs = {"content": torch.randn(3, 40, CONTENT_DIM), "emotion": torch.rand(3, 40, EMOTION_DIM),
              "style": torch.randn(3, STYLE_DIM)}
    assert denoiser(x, torch.tensor([1, 500, 999]), **kwargs).shape == (3, 10, 8)
    out = denoiser(x, 10, **kwargs, context=torch.randn(3, 10, 8), context_mask=torch.arange(10)[None] < 4,
                   drop_emotion=torch.tensor([True, False, True]), drop_style=torch.tensor([False, False, True]))
    assert out.shape == (3, 10, 8)
    with pytest.raises(ValueError, match="40 frames"):
        denoiser(x, 1, torch.randn(3, 36, CONTENT_DIM), kwargs["emotion"], kwargs["style"])


def test_guidance_formula_passes():
    passes = MotionDiffusionPipeline.guidance_passes(2.0, 1.5, has_style=True)
    assert passes == [(True, True, -0.5), (True, False, -0.5), (False, False, 2.0)]
    assert MotionDiffusionPipeline.guidance_passes(2.0, 1.0, True) == [(True, False, -1.0), (False, False, 2.0)]
    assert MotionDiffusionPipeline.guidance_passes(1.0, 1.0, True) == [(False, False, 1.0)]
    assert MotionDiffusionPipeline.guidance_passes(3.0, 1.0, False) == [(True, True, -2.0), (False, True, 3.0)]


def test_save_load_round_trip_is_identical(pipe, tmp_path):
    content, emotion, style = _conditions(50)
    face, body = pipe(content, emotion, style, seed=3, steps=6)
    assert face.shape == (50, FACE_DIM) and body.shape == (50, BODY_DIM)
    assert face.dtype == body.dtype == np.float32
    pipe.save_pretrained(tmp_path / "model")
    for part in ("face_vae", "body_vae", "denoiser"):
        assert (tmp_path / "model" / part / "diffusion_pytorch_model.safetensors").is_file()
    assert (tmp_path / "model" / "scheduler" / "scheduler_config.json").is_file()
    loaded = MotionDiffusionPipeline.from_pretrained(tmp_path / "model")
    for scheduler in ("ddim", "dpm"):
        a = pipe(content, emotion, style, seed=3, steps=6, scheduler=scheduler)
        b = loaded(content, emotion, style, seed=3, steps=6, scheduler=scheduler)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(FileNotFoundError, match="config.json"):
        MotionDiffusionPipeline.from_pretrained(tmp_path / "nowhere")


def test_seeds_vary_and_repeat(pipe):
    content, emotion, style = _conditions(40)
    a, b = pipe(content, emotion, style, seed=0, steps=5)[0], pipe(content, emotion, style, seed=1, steps=5)[0]
    assert np.abs(a - b).mean() > 1e-3
    np.testing.assert_array_equal(a, pipe(content, emotion, style, seed=0, steps=5)[0])


def test_emotion_scale_changes_output(pipe):
    content, emotion, style = _conditions(40)
    a = pipe(content, emotion, style, seed=0, steps=5, emotion_scale=0.0)
    b = pipe(content, emotion, style, seed=0, steps=5, emotion_scale=2.0)
    assert np.abs(a[0] - b[0]).mean() > 1e-3 and np.abs(a[1] - b[1]).mean() > 1e-3


def _steps(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.diff(x, axis=0), axis=1)


@pytest.mark.parametrize("n_frames", [1, 37, 300])
def test_any_length_and_no_seams(pipe, n_frames):
    content, emotion, style = _conditions(n_frames)
    face, body = pipe(content, emotion[0], style, seed=2, steps=5, scheduler="dpm")
    assert face.shape == (n_frames, FACE_DIM) and body.shape == (n_frames, BODY_DIM)
    assert np.isfinite(face).all() and np.isfinite(body).all()
    plan = pipe.windows(-(-n_frames // 4))
    if n_frames == 300:
        assert len(plan) >= 5
        joins = [4 * (start + known) - 1 for start, _, known in plan[1:]]  # frame before each window's new tokens
        # Compare against the other token boundaries: within a token the decoder is smooth by construction.
        others = [4 * k - 1 for k in range(1, 75) if 4 * k - 1 not in joins]
        for track in (face, body):
            steps = _steps(track)
            assert steps[joins].mean() <= 1.5 * steps[others].mean()  # the seam criterion


def test_windows_plan_and_inpainting_keeps_the_known_tokens(pipe):
    assert pipe.windows(10) == [(0, 10, 0)]
    assert pipe.windows(40) == [(0, 16, 0), (12, 28, 4), (24, 40, 4)]
    assert pipe.windows(30) == [(0, 16, 0), (12, 28, 4), (14, 30, 14)]  # the last window is flush with the end
    content, emotion, _ = _conditions(48)
    known = torch.randn(1, 12, 8)
    out = pipe.denoise(torch.from_numpy(content)[None], torch.from_numpy(emotion)[None], None,
                       torch.Generator().manual_seed(0), steps=4, scheduler="dpm", known=known, known_tokens=5)
    torch.testing.assert_close(out[:, :5], known[:, :5], rtol=0, atol=0)
    assert not torch.equal(out[:, 5:], known[:, 5:])


def test_stream_yields_every_frame_in_small_hops(pipe):
    content, emotion, style = _conditions(100)
    sizes = [7, 13, 1, 30, 20, 29]
    edges = np.cumsum([0, *sizes])
    chunks = [(content[a:b], emotion[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    out = list(pipe.stream(chunks, style=style, seed=0, steps=4))
    assert all(0 < len(face) <= 12 for face, _ in out)
    face = np.concatenate([f for f, _ in out])
    body = np.concatenate([b for _, b in out])
    assert face.shape == (100, FACE_DIM) and body.shape == (100, BODY_DIM)
    again = np.concatenate([f for f, _ in pipe.stream(iter(chunks), style=style, seed=0, steps=4)])
    np.testing.assert_array_equal(face, again)
    joins = np.cumsum([len(f) for f, _ in out])[:-1] - 1
    steps = _steps(face)
    others = [4 * k - 1 for k in range(1, 25) if 4 * k - 1 not in set(joins)]
    assert steps[joins].max() <= 1.5 * steps[others].max()


def test_streamed_frames_are_final(pipe, monkeypatch):
    """The rolling past (10 tokens of decoder context, older ones dropped) gives the frames one full decode would."""
    content, emotion, style = _conditions(160)
    chunks = [(content[i:i + 10], emotion[i:i + 10]) for i in range(0, 160, 10)]
    rolling = np.concatenate([f for f, _ in pipe.stream(chunks, style=style, steps=3)])
    monkeypatch.setattr("generators.learned.pipeline._DECODE_MARGIN", 10_000)  # keep and decode everything
    whole = np.concatenate([f for f, _ in pipe.stream(chunks, style=style, steps=3)])
    np.testing.assert_allclose(rolling, whole, atol=1e-5)


def test_bad_inputs_are_reported(pipe):
    content, emotion, _ = _conditions(20)
    with pytest.raises(ValueError, match="content"):
        pipe(content[:, :10], emotion)
    with pytest.raises(ValueError, match="emotion"):
        pipe(content, emotion[:10])
    with pytest.raises(ValueError, match="style"):
        pipe(content, emotion, style=np.zeros(3))
    with pytest.raises(ValueError, match="scheduler"):
        pipe(content, emotion, scheduler="euler")


class _TinyMotion(torch.utils.data.Dataset):
    """Smooth low-rank random motion driven by the content and scaled by the emotion (so there is something to
    learn); every third window lacks its face."""

    def __init__(self, n: int = 16, frames: int = 32):
        rng = np.random.default_rng(0)
        self.items = []
        face_mix, body_mix = rng.normal(size=(4, FACE_DIM)), rng.normal(size=(4, BODY_DIM)) * 0.3
        for i in range(n):
            t = np.arange(frames) / 30.0
            phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0)
            basis = np.stack([np.sin(2 * np.pi * freq * t + phase), np.cos(2 * np.pi * freq * t + phase),
                              np.sin(np.pi * freq * t), np.ones_like(t)], axis=1)
            emotion = np.zeros((frames, EMOTION_DIM), np.float32)
            emotion[:, i % 8] = 1.0
            gain = 0.5 + (i % 8) / 8
            self.items.append({
                "content": np.resize(basis, (CONTENT_DIM, frames)).T.astype(np.float32),
                "emotion": emotion, "style": rng.normal(size=STYLE_DIM).astype(np.float32),
                "face": (gain * basis @ face_mix).astype(np.float32),
                "body": (gain * basis @ body_mix).astype(np.float32),
                "face_present": i % 3 != 2, "body_present": True})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def _losses(path) -> list[float]:
    with path.open() as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def test_training_smoke_run_decreases_the_loss_and_saves_a_pipeline(tmp_path):
    data = _TinyMotion()
    config = TINY.with_values({f"{stage}.{key}": value for stage in ("vae", "denoiser") for key, value in
                               (("steps", 20), ("lr", 3e-3), ("warmup", 2), ("checkpoint_every", 10))})
    vaes = train_vaes(data, tmp_path, config)
    assert abs(float(vaes[0].latent_std.mean()) - 1.0) > 1e-6  # latent stats were measured
    pipe = train_denoiser(data, tmp_path, tmp_path, config)
    for log in ("vae_log.csv", "denoiser_log.csv"):
        losses = _losses(tmp_path / log)
        assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:5])
    loaded = MotionDiffusionPipeline.from_pretrained(tmp_path)
    content, emotion, style = _conditions(24)
    np.testing.assert_array_equal(pipe(content, emotion, style, steps=3)[0],
                                  loaded(content, emotion, style, steps=3)[0])
    # Resume: a longer run continues from the checkpoint rather than starting again.
    train_denoiser(data, tmp_path, tmp_path, config.with_values({"denoiser.steps": 22}))
    assert len(_losses(tmp_path / "denoiser_log.csv")) == 22


def test_finetuning_with_the_event_loss_starts_from_the_checkpoint(tmp_path):
    import json

    data = _TinyMotion()
    config = TINY.with_values({"vae.steps": 4, "denoiser.steps": 6, "finetune.steps": 3, "finetune.event_weight": 1.0,
                               "finetune.spectral_weight": 1.0,
                               "finetune.lr": 1e-12})  # a learning rate so small that the weights stay
    vaes = train_vaes(data, tmp_path, config)
    base = train_denoiser(data, vaes, tmp_path / "base", config)
    tuned_dir = tmp_path / "tuned"
    tuned = train_denoiser(data, vaes, tuned_dir, config, init_from=tmp_path / "base")
    for a, b in zip(base.denoiser.parameters(), tuned.denoiser.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    with (tuned_dir / "finetune_log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and all(float(row["events"]) > 0 and float(row["spectral"]) > 0 for row in rows)
    record = json.loads((tuned_dir / "training.json").read_text())
    assert record["denoiser_steps"] == 6 and record["finetune"]["event_weight"] == 1.0
    assert record["finetune"]["spectral_weight"] == 1.0
    with pytest.raises(ValueError, match="latent channels"):
        small = (MotionVAE(FACE_DIM, **{**TINY_VAE, "latent_dim": 2}), MotionVAE(BODY_DIM, **TINY_VAE))
        train_denoiser(data, small, tmp_path / "bad", config, init_from=tmp_path / "base")


def test_whitened_error_counts_an_error_against_the_signal_in_its_band():
    from generators.learned.train import whitened_error

    generator = torch.Generator().manual_seed(0)
    tokens = torch.arange(32.0)[None, :, None]
    phase = torch.rand(4, 1, 3, generator=generator) * 2 * math.pi
    # a slow motion (2 cycles a window) with a faint fast part (12 cycles), as the body latent's spectrum falls
    target = torch.sin(2 * math.pi * 2 * tokens / 32 + phase) + 0.01 * torch.sin(2 * math.pi * 12 * tokens / 32 + phase)
    slow_error = 0.1 * torch.sin(2 * math.pi * 2 * tokens / 32)
    fast_error = 0.1 * torch.sin(2 * math.pi * 12 * tokens / 32)  # as large, where the signal is faint
    assert whitened_error(target, target) == 0
    assert whitened_error(target + fast_error, target) > 1000 * whitened_error(target + slow_error, target)
    assert (fast_error**2).mean() < 0.02 * (target**2).mean()  # a small share of the plain squared error


def test_a_loss_log_that_gains_a_column_keeps_its_rows(tmp_path):
    from generators.learned.train import _Log

    log = _Log(tmp_path / "finetune_log.csv")
    log.write({"step": 1, "loss": 0.5})
    log.write({"step": 2, "loss": 0.25, "spectral": 0.125})
    log.write({"step": 3, "loss": 0.2, "spectral": 0.1})
    with (tmp_path / "finetune_log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"step": "1", "loss": "0.5", "spectral": ""}, {"step": "2", "loss": "0.25", "spectral": "0.125"},
                    {"step": "3", "loss": "0.2", "spectral": "0.1"}]
    assert [p.name for p in tmp_path.iterdir()] == ["finetune_log.csv"]


def test_decoder_refinement_keeps_the_latent_space(tmp_path):
    from generators.learned.train import _fingerprint, degrade_latents, refine_decoder

    data = _TinyMotion()
    config = TINY.with_values({"vae.steps": 6, "vae.lr": 3e-3, "vae.warmup": 2, "face_decoder.steps": 8})
    vaes = train_vaes(data, tmp_path, config)
    before = {k: v.clone() for k, v in vaes[0].state_dict().items()}
    refined = refine_decoder(data, tmp_path, config)
    after = refined.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(("decoder.", "condition.")) for k in changed)  # encoder and stats kept
    assert _fingerprint((refined, vaes[1])) == _fingerprint(vaes)  # a denoiser trained on these latents stays valid
    assert len(_losses(tmp_path / "face_decoder_log.csv")) == 8
    refine_decoder(data, tmp_path, config)  # a refinement that reached its steps is not repeated
    assert len(_losses(tmp_path / "face_decoder_log.csv")) == 8
    z = torch.randn(4, 10, 4)
    degraded, which = degrade_latents(z, torch.Generator().manual_seed(0), share=1.0)
    assert degraded.shape == z.shape and not torch.allclose(degraded, z) and which.all()
    kept, which = degrade_latents(z, torch.Generator().manual_seed(0), share=0.0)
    torch.testing.assert_close(kept, z)
    assert not which.any()


def test_content_free_body_decoder_keeps_the_latent_space_and_resumes(tmp_path):
    from generators.learned.train import _fingerprint, train_body_decoder

    data = _TinyMotion()
    torch.manual_seed(0)
    vaes = (MotionVAE(FACE_DIM, **TINY_VAE), MotionVAE(BODY_DIM, **TINY_VAE))  # an old-style body decoder that
    vaes[1].save_pretrained(tmp_path / "body_vae")  # reads the speech
    config = TINY.with_values({"body_decoder.steps": 4, "body_decoder.checkpoint_every": 2})
    free = train_body_decoder(data, tmp_path, config)
    assert free.condition is None
    assert _fingerprint((vaes[0], free)) == _fingerprint(vaes)  # a denoiser trained on these latents stays valid
    saved = MotionVAE.from_pretrained(tmp_path / "body_vae")
    assert saved.config.condition_dim == 0
    z = torch.randn(2, 5, 4)
    assert saved.decode(z).shape == (2, 20, BODY_DIM)
    with pytest.raises(ValueError, match="do not give a condition"):
        saved.decode(z, torch.randn(2, 20, CONTENT_DIM))
    train_body_decoder(data, tmp_path, config.with_values({"body_decoder.steps": 6}))  # a rerun continues to 6
    assert len(_losses(tmp_path / "body_decoder_free_log.csv")) == 6


def test_optimizer_state_round_trips_without_pickle(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    save_optimizer(optimizer, tmp_path)
    other = torch.optim.AdamW(model.parameters(), lr=1e-3)
    load_optimizer(other, tmp_path)
    for key, value in optimizer.state_dict()["state"][0].items():
        torch.testing.assert_close(other.state_dict()["state"][0][key], value)


def test_token_average_removes_the_token_rate_ripple_and_keeps_beats():
    from generators.learned.pipeline import token_average

    t = torch.arange(300, dtype=torch.float64) / 30.0
    beat = torch.sin(2 * torch.pi * 2.0 * t)  # a 2-Hz gesture beat
    ripple = 0.3 * torch.tensor([1.0, -0.5, -1.0, 0.5], dtype=torch.float64).repeat(75)  # repeats every token
    out = token_average((beat + ripple)[None, :, None])[0, :, 0]
    clean = token_average(beat[None, :, None])[0, :, 0]
    torch.testing.assert_close(out[3:], clean[3:])  # the ripple is gone once a whole token has been seen
    assert clean[30:].abs().max() > 0.85  # the beat keeps most of its amplitude (sinc at 2 Hz: 0.89)
    changed = (beat + ripple).clone()
    changed[200:] += 5.0
    assert torch.equal(token_average(changed[None, :, None])[0, :200, 0], out[:200])  # causal: the past never changes


def test_a_pipeline_made_on_another_frame_clock_is_refused_on_load(pipe, tmp_path):
    import json

    pipe.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["fps"] == pipe.fps == 30.0
    (tmp_path / "config.json").write_text(json.dumps({**config, "fps": 25.0}))
    with pytest.raises(ValueError, match="made at 25.0 fps"):
        MotionDiffusionPipeline.from_pretrained(tmp_path)


def test_both_generators_offer_the_motion_generator_protocol(pipe):
    from avatar.emotion import constant_emotion
    from generators.learned.animate import LearnedAnimator
    from generators.learned.dataset import content_from_features
    from generators.procedural.generator import ProceduralGenerator
    from generators.protocol import MotionGenerator

    content = content_from_features(_conditions(60)[0])
    emotion = constant_emotion("anger", 0.8, content.n_frames)
    learned, procedural = LearnedAnimator(pipe, steps=2), ProceduralGenerator()
    assert isinstance(learned, MotionGenerator) and isinstance(procedural, MotionGenerator)
    assert learned.fps == 30.0 and procedural.fps is None  # the procedural rules run on any clock
    assert [(c.name, c.default) for c in learned.guidance] == [("emotion_scale", 1.0), ("style_scale", 1.0)]
    assert procedural.guidance == ()
    with pytest.raises(ValueError, match="emotion_scale=-1 is outside"):
        learned.animate(content, emotion, emotion_scale=-1.0)
    for generator in (learned, procedural):
        face, body = generator.animate(content, emotion, seed=3)
        assert face.n_frames == body.n_frames == content.n_frames
        part, no_body = generator.animate(content, emotion, seed=3, with_body=False, frames=(10, 30))
        assert part.n_frames == 20 and no_body is None
    whole, body = procedural.animate(content, emotion, seed=3)
    part, part_body = procedural.animate(content, emotion, seed=3, frames=(10, 30))
    np.testing.assert_array_equal(part.weights, whole.weights[10:30])  # the same motion, cut
    np.testing.assert_array_equal(part_body.rotations, body.rotations[10:30])

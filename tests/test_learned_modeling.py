"""The models' config and folder format (generators/learned/modeling.py): the shipped checkpoint loads unchanged,
saving and loading round-trips exactly, and a folder that does not fit its model is refused with its name."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from generators.learned.denoiser import MotionDenoiser
from generators.learned.modeling import CONFIG_NAME, WEIGHTS_NAME
from generators.learned.representation import CONTENT_DIM, FACE_DIM
from generators.learned.vae import MotionVAE

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "motion-diffusion"
TINY_VAE = {"latent_dim": 4, "widths": (16, 16, 16), "condition_dim": CONTENT_DIM}


@pytest.fixture
def vae() -> MotionVAE:
    torch.manual_seed(0)
    model = MotionVAE(FACE_DIM, **TINY_VAE)
    model.set_feature_stats(torch.rand(FACE_DIM), torch.rand(FACE_DIM) + 0.5)  # buffers that must round-trip too
    return model


def test_config_holds_every_constructor_argument_and_is_read_only(vae):
    assert dict(vae.config) == {
        "input_dim": FACE_DIM,
        "latent_dim": 4,
        "widths": (16, 16, 16),
        "std_floor": 1e-2,
        "causal_decoder": True,
        "condition_dim": CONTENT_DIM,
    }  # defaults filled in
    assert vae.config.latent_dim == vae.config["latent_dim"] == 4
    free = MotionVAE.from_config({**vae.config, "condition_dim": 0})  # how training swaps the body decoder
    assert free.condition is None and free.config.latent_dim == 4
    with pytest.raises(AttributeError, match="read-only"):
        vae.config.latent_dim = 8
    with pytest.raises(TypeError):
        vae.config["latent_dim"] = 8
    with pytest.raises(AttributeError, match="no 'depth'"):
        _ = vae.config.depth
    assert copy.deepcopy(vae).config == vae.config  # the EMA copies its model


def test_save_and_load_round_trip_exactly(vae, tmp_path):
    vae.train()
    vae.save_pretrained(tmp_path / "vae")
    written = json.loads((tmp_path / "vae" / CONFIG_NAME).read_text())
    assert written == {"_class_name": "MotionVAE", **vae.config, "widths": [16, 16, 16]}
    loaded = MotionVAE.from_pretrained(tmp_path / "vae")
    assert not loaded.training  # ready to sample
    assert loaded.config.latent_dim == 4 and loaded.config.condition_dim == CONTENT_DIM
    for name, tensor in vae.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    x = torch.randn(2, 16, FACE_DIM)
    torch.testing.assert_close(loaded(x, torch.randn(2, 16, CONTENT_DIM), sample=False)["recon"].shape, x.shape)


def test_the_shipped_diffusers_written_folders_load():
    for part, cls in (("face_vae", MotionVAE), ("body_vae", MotionVAE), ("denoiser", MotionDenoiser)):
        stored = json.loads((SHIPPED / part / CONFIG_NAME).read_text())
        assert "_diffusers_version" in stored  # written by diffusers' ModelMixin before issue 16
        model = cls.from_pretrained(SHIPPED / part)
        assert {k: v for k, v in stored.items() if not k.startswith("_")} == {
            k: list(v) if isinstance(v, tuple) else v for k, v in model.config.items()
        }
        weights = load_file(SHIPPED / part / WEIGHTS_NAME)
        assert all(torch.equal(model.state_dict()[name], tensor) for name, tensor in weights.items())


def test_a_folder_that_does_not_fit_is_refused_with_its_name(vae, tmp_path):
    folder = vae.save_pretrained(tmp_path / "vae")
    weights = load_file(folder / WEIGHTS_NAME)
    save_file({k: v for k, v in weights.items() if k != "latent_std"}, folder / WEIGHTS_NAME)
    with pytest.raises(ValueError, match=r"vae: the weights do not fit .*missing \['latent_std'\]"):
        MotionVAE.from_pretrained(folder)
    save_file({**weights, "extra.weight": torch.zeros(2)}, folder / WEIGHTS_NAME)
    with pytest.raises(ValueError, match=r"unexpected \['extra.weight'\]"):
        MotionVAE.from_pretrained(folder)
    save_file({**weights, "latent_std": torch.ones(5)}, folder / WEIGHTS_NAME)
    with pytest.raises(ValueError, match=r"weights \['latent_std'\] have other shapes"):
        MotionVAE.from_pretrained(folder)
    save_file(weights, folder / WEIGHTS_NAME)
    with pytest.raises(ValueError, match="holds a MotionVAE, not a MotionDenoiser"):
        MotionDenoiser.from_pretrained(folder)
    config = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(json.dumps({**config, "depth": 3}))
    with pytest.raises(ValueError, match=r"settings MotionVAE does not take: \['depth'\]"):
        MotionVAE.from_pretrained(folder)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        MotionVAE.from_pretrained(tmp_path / "nowhere")

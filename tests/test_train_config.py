"""One training recipe: MotionTrainConfig round-trips, refuses bad settings, is written beside a checkpoint, and is
read back by the CLI and by fine-tuning; the corpus writer and reader share one format definition."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from avatar.cli import app
from avatar.errors import InputError
from avatar.training.corpus import CorpusWriter, SpeechItem
from avatar.training.motion import recipe
from generators.learned import corpus_format as disk
from generators.learned import representation as rep
from generators.learned.dataset import CorpusError, MotionCorpus, content_from_features
from generators.learned.pipeline import MotionDiffusionPipeline
from generators.learned.train_config import (
    MotionTrainConfig,
    TrainingRun,
    read_runs,
    recipe_table,
    write_runs,
)

runner = CliRunner()
REPOSITORY = Path(__file__).resolve().parents[1]
SHIPPED = REPOSITORY / "checkpoints" / "motion-diffusion"
# A run of seconds: tiny models, 32-frame windows, batches of 4, every step logged.
TINY = [
    "--set",
    "window=32",
    "--set",
    "batch_size=4",
    "--set",
    "log_every=1",
    "--set",
    "model.latent_dim=4",
    "--set",
    "model.vae_widths=16,16,16",
    "--set",
    "model.d_model=32",
    "--set",
    "model.n_layers=2",
    "--set",
    "model.n_heads=2",
    "--set",
    "vae.stats_windows=8",
    "--set",
    "face_decoder.steps=2",
]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # training sets the config's thread count


def _tiny_corpus(folder, frames: int = 80) -> tuple:
    """A corpus of three training items and one test item, two motion variants each; returns its path and the
    first training variant's face rows as written."""
    rng = np.random.default_rng(0)
    t = np.arange(frames)[:, None] / rep.FPS
    first_face = None
    with CorpusWriter(folder) as writer:
        for number, split in enumerate(("train", "train", "train", "test")):
            features = np.sin(2 * np.pi * rng.uniform(0.5, 3, rep.ACOUSTIC_DIM) * t).astype(np.float32)
            item = SpeechItem(
                f"item{number}",
                "tts",
                "joe",
                split,
                "words",
                content_from_features(features),
                np.zeros(rep.STYLE_DIM, np.float32),
            )
            index = writer.add_item(item, features)
            for seed in range(2):
                emotion = np.zeros((frames, rep.EMOTION_DIM), np.float32)
                emotion[:, seed] = 0.8
                face = (0.5 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.3, 2, rep.FACE_DIM) * t)).astype(np.float32)
                body = (0.3 * np.sin(2 * np.pi * rng.uniform(0.3, 2, rep.BODY_DIM) * t)).astype(np.float32)
                writer.add_variant(
                    split,
                    index,
                    {"emotion": [[0.0, "neutral", 0.8]], "seed": seed, "style": [0.0] * rep.STYLE_DIM},
                    emotion,
                    face,
                    body,
                )
                first_face = face if first_face is None else first_face
        writer.finish({"kind": "synthetic", "motion": "test rows"})
    return folder, first_face


def _rows(path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _train(*args: str):
    result = runner.invoke(app, ["train", "motion", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def test_a_short_run_writes_its_config_resumes_and_finetunes_from_it(tmp_path):
    corpus, _ = _tiny_corpus(tmp_path / "corpus")
    out = tmp_path / "ckpt"
    _train("--data", corpus, "--out", out, "--vae-steps", 3, "--denoiser-steps", 4, *TINY)
    [run] = read_runs(out)
    assert not run.finetune and run.config.vae.steps == 3 and run.config.denoiser.steps == 4
    assert run.config.window == 32 and run.config.model.vae_widths == (16, 16, 16)
    assert run.config.denoiser.lr == MotionTrainConfig().denoiser.lr  # what no flag set is the recipe's
    pipe = MotionDiffusionPipeline.from_pretrained(out)
    face, body = pipe(np.zeros((40, rep.CONTENT_DIM), np.float32), np.zeros(rep.EMOTION_DIM, np.float32), steps=2)
    assert face.shape == (40, rep.FACE_DIM) and body.shape == (40, rep.BODY_DIM)
    assert "train_config.json" in (out / "README.md").read_text()

    # More denoiser steps: the finished stages are kept and the denoiser continues from its checkpoint.
    _train("--data", corpus, "--out", out, "--vae-steps", 3, "--denoiser-steps", 6, *TINY)
    assert [int(row["step"]) for row in _rows(out / "denoiser_log.csv")] == [1, 2, 3, 4, 5, 6]
    assert len(_rows(out / "vae_log.csv")) == 3 and len(_rows(out / "face_decoder_log.csv")) == 2

    # Fine-tuning reads the recipe back from the checkpoint (tiny sizes, 32-frame windows) and records both runs.
    tuned = tmp_path / "tuned"
    _train("--data", corpus, "--out", tuned, "--finetune", out, "--config", out, "--denoiser-steps", 2)
    first, second = read_runs(tuned)
    assert first == read_runs(out)[0] and second.finetune
    assert second.config.finetune.steps == 2 and second.config.window == 32 and second.config.batch_size == 4
    assert second.config.denoiser.steps == 6  # the first run's stage, as it was
    assert len(_rows(tuned / "finetune_log.csv")) == 2
    card = (tuned / "README.md").read_text()
    assert "Commands, in order:" in card and card.index(first.command) < card.rindex(second.command)

    # A second fine-tuning in place trains anew (the first one's finished checkpoint is not its own to resume).
    _train("--data", corpus, "--out", tuned, "--finetune", tuned, "--config", tuned, "--set", "finetune.lr=1e-4")
    assert len(read_runs(tuned)) == 3 and read_runs(tuned)[2].config.finetune.lr == 1e-4
    assert len(_rows(tuned / "finetune_log.csv")) == 4


def test_the_config_round_trips_and_the_shipped_runs_are_its_recipe(tmp_path):
    config = MotionTrainConfig().with_values({"denoiser.lr": "3e-4", "model.vae_widths": "8,16,16", "seed": 7})
    assert config.denoiser.lr == 3e-4 and config.model.vae_widths == (8, 16, 16) and config.seed == 7
    assert MotionTrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    runs = [TrainingRun("first", MotionTrainConfig()), TrainingRun("second", config, True, "a note")]
    write_runs(tmp_path, runs)
    assert read_runs(tmp_path) == runs == read_runs(tmp_path / "train_config.json")
    assert recipe(tmp_path, {"vae.steps": 5}, ["vae.lr=2e-3"]) == config.with_values({"vae.steps": 5, "vae.lr": 2e-3})

    # The shipped checkpoint's runs: the card's commands, and the defaults are the recipe they followed.
    shipped = read_runs(SHIPPED)
    card = (SHIPPED / "README.md").read_text()
    assert [card.index(run.command) for run in shipped] == sorted(card.index(run.command) for run in shipped)
    assert [run.finetune for run in shipped] == [False, True, True, True, True, True]
    recipe_values = MotionTrainConfig()
    assert shipped[0].config == recipe_values.with_values({"denoiser.event_weight": 0})  # before the event loss
    assert shipped[2].config == recipe_values.with_values({"max_minutes": 36})
    assert shipped[3].config == recipe_values.with_values({"max_minutes": 30, "seed": 2, "finetune.steps": 2000})
    for run, seed in zip(shipped[4:], (2, 3), strict=True):  # the fine-tunings with the whitened body loss
        assert run.config == shipped[3].config.with_values({"seed": seed, "finetune.spectral_weight": 1.0})
    assert (recipe_values.max_minutes, recipe_values.vae.steps, recipe_values.denoiser.steps) == (105, 2500, 9000)


def test_docs_show_the_recipe_table():
    docs = (REPOSITORY / "docs" / "training.md").read_text()
    assert recipe_table() in docs  # regenerate with `python -m generators.learned.train_config`


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["denoiser.lrr=1e-3"], "unknown training setting 'denoiser.lrr'"),
        (["vae.steps=-1"], "vae.steps=-1 is negative"),
        (["vae.steps=2.5"], "is not a whole number"),
        (["vae.time_share=2"], r"outside \[0, 1\]"),
        (["window=30"], "not a multiple of 4"),
        (["denoiser.lr=fast"], "is not a number"),
        (["denoiser.lr=0"], "is not positive"),
        (["model.vae_widths=16,16"], "3 whole numbers"),
        (["finetune.ema_decay=1"], r"outside \[0, 1\)"),
        (["vae.lr"], "is not NAME=VALUE"),
    ],
)
def test_bad_settings_are_refused_with_one_line_naming_them(settings, message):
    with pytest.raises(InputError, match=message):
        recipe(None, {}, settings)


def test_the_cli_refuses_bad_settings_and_configs_before_training(tmp_path):
    result = runner.invoke(app, ["train", "motion", "--data", str(tmp_path), "--set", "batch_size=0"])
    assert result.exit_code == 2 and "batch_size=0 is not positive" in result.output
    assert result.output.strip().count("\n") == 0  # one line
    (tmp_path / "train_config.json").write_text("{not json")
    result = runner.invoke(app, ["train", "motion", "--data", str(tmp_path), "--config", str(tmp_path)])
    assert result.exit_code == 2 and "not a readable train_config.json" in result.output
    result = runner.invoke(app, ["train", "motion", "--data", str(tmp_path), "--config", str(tmp_path / "none")])
    assert result.exit_code == 2 and "holds no recorded run" in result.output


def test_the_corpus_writer_and_reader_share_one_format(tmp_path):
    corpus, face = _tiny_corpus(tmp_path / "corpus")
    info = json.loads((corpus / disk.INFO_FILE).read_text())
    assert (info["format"], info["version"], info["dtype"]) == (disk.FORMAT, disk.VERSION, disk.DTYPE_NAME)
    for split in disk.SPLITS:
        assert disk.index_path(corpus, split).is_file()
        for name, width in disk.ARRAYS.items():
            array = np.load(disk.array_path(corpus, split, name), mmap_mode="r")
            assert array.dtype == np.dtype(disk.DTYPE) and array.shape[1] == width
    read = MotionCorpus(corpus, "train").rows(0)["face"]
    np.testing.assert_array_equal(read, face.astype(disk.DTYPE))
    (corpus / disk.INFO_FILE).write_text(json.dumps({**info, "version": disk.VERSION + 1}))
    with pytest.raises(CorpusError, match="rebuild the corpus"):
        MotionCorpus(corpus, "train")

"""The motion model card: the commands that made a checkpoint (its recorded runs) stay on record through a
fine-tuning."""

from __future__ import annotations

import json

import pytest

from avatar.errors import InputError
from avatar.training.motion import train_motion, write_model_card
from generators.learned.train_config import MotionTrainConfig, TrainingRun

FIRST = TrainingRun("avatar train motion --data data/corpus --out ckpt --max-minutes 105", MotionTrainConfig())
SECOND = TrainingRun("avatar train motion --data data/corpus --out ckpt --finetune ckpt --denoiser-steps 1500",
                     MotionTrainConfig().with_values({"finetune.steps": 1500}), finetune=True)


def _corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "corpus.json").write_text(json.dumps({"kind": "synthetic", "motion": "procedural animators",
                                                    "splits": {"train": {"sources": {"tts": 1}}}}))
    return corpus


def test_the_card_lists_every_command_in_order(tmp_path):
    corpus, out = _corpus(tmp_path), tmp_path / "ckpt"
    out.mkdir()
    write_model_card(out, corpus, [FIRST])
    assert f"Command: `{FIRST.command}`" in (out / "README.md").read_text()
    write_model_card(out, corpus, [FIRST, SECOND])
    card = (out / "README.md").read_text()
    assert "Commands, in order:" in card and card.index(FIRST.command) < card.index(SECOND.command)
    assert "speech of the Piper 'joe' voice" in card  # the licence of the data it learned from
    write_model_card(out, corpus, [SECOND], continued_from=tmp_path / "old")
    assert "whose training is not recorded" in (out / "README.md").read_text()


def test_finetuning_needs_a_trained_checkpoint(tmp_path):
    with pytest.raises(InputError, match="not a trained motion checkpoint"):
        train_motion(_corpus(tmp_path), tmp_path / "out", finetune=tmp_path / "nothing")

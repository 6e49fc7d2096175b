"""The training recipe of the learned motion model as data: every setting of `avatar train motion` in one place.

`MotionTrainConfig()` is the shipped recipe (checkpoints/motion-diffusion: its train_config.json records the runs
that made it). Each stage reads its own section: `vae` (the face and body VAEs), `face_decoder` (the face decoder
refined on degraded latents), `denoiser`; fine-tuning a trained checkpoint runs `body_decoder` (a body decoder that
reads no speech, when the checkpoint's does) and `finetune` (its denoiser) instead. `time_share` is a stage's share
of `max_minutes`; the denoiser gets what is left. Learning rates warm up linearly over `warmup` steps, then follow a
cosine down to `lr_floor` of their peak at `steps`.

A run writes train_config.json beside the checkpoint: the config and command of every run that made it, in order
(`TrainingRecord`), so the CLI (`--config`) and fine-tuning read it back. Settings are named with dots
("denoiser.lr"); `with_values` checks names and ranges and raises InputError naming the setting and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rigs.errors import InputError
from rigs.fileio import write_text_atomic

FILE_NAME = "train_config.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelSizes:
    """Sizes of the VAEs and the denoiser (the defaults keep the checkpoint folder under 30 MB: 7.2 M parameters)."""

    latent_dim: int = 32  # per VAE, per token of 4 frames
    vae_widths: tuple[int, int, int] = (96, 192, 192)  # channels at 1x, 1/2x and 1/4x the frame rate
    d_model: int = 128  # the denoiser's transformer
    n_layers: int = 6
    n_heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.1


@dataclass(frozen=True)
class DecoderStage:
    """A decoder trained on a frozen encoder: the face decoder's refinement, the content-free body decoder."""

    steps: int = 600
    lr: float = 3e-4
    warmup: int = 20
    time_share: float = 0.09
    velocity_weight: float = 0.5
    checkpoint_every: int = 100


@dataclass(frozen=True)
class VAEStage(DecoderStage):
    """Stage 1: both VAEs, encoder and decoder, on reconstruction + velocity + KL."""

    kl_weight: float = 1e-4
    stats_windows: int = 4096  # windows that measure the feature and latent statistics


@dataclass(frozen=True)
class DenoiserStage:
    """Stage 2: the denoiser on the frozen VAEs' latents (v-prediction, EMA weights)."""

    steps: int = 9000
    lr: float = 5e-4
    warmup: int = 100
    weight_decay: float = 0.01
    emotion_drop: float = 0.15  # classifier-free guidance: how often each condition is dropped
    style_drop: float = 0.15
    context_prob: float = 0.5  # how often a known prefix (the previous window's tail) is given
    crop_prob: float = 0.25  # how often the window is cut shorter
    velocity_weight: float = 0.1
    event_weight: float = 5.0  # the loss on decoded blinks, eye movements and gaze
    spectral_weight: float = 0.0  # the loss on the body latent's error per frequency, whitened by its spectrum
    ema_decay: float = 0.999
    checkpoint_every: int = 250


@dataclass(frozen=True)
class MotionTrainConfig:
    """Every setting of the learned motion model's training (see the module doc); the defaults are the recipe."""

    max_minutes: float = 105.0
    seed: int = 0
    num_threads: int = 1  # a second thread mostly waits on a busy core on a shared 2-core machine
    batch_size: int = 32
    window: int = 128  # frames per training window (4.3 s at 30 fps); shorter clips are left out
    log_every: int = 20
    lr_floor: float = 0.1
    grad_clip: float = 1.0
    model: ModelSizes = field(default_factory=ModelSizes)
    # A VAE that has not learned the jaw caps everything after it: the VAEs get the largest share.
    vae: VAEStage = field(
        default_factory=lambda: VAEStage(steps=2500, lr=1e-3, warmup=50, time_share=0.45, checkpoint_every=200)
    )
    face_decoder: DecoderStage = field(default_factory=DecoderStage)
    denoiser: DenoiserStage = field(default_factory=DenoiserStage)
    body_decoder: DecoderStage = field(default_factory=lambda: DecoderStage(time_share=0.35))
    finetune: DenoiserStage = field(default_factory=lambda: DenoiserStage(steps=1000, lr=2e-4, warmup=50))

    def __post_init__(self):
        for name, value in _flat(self).items():
            problem = _out_of_range(name, value)
            if problem:
                raise InputError(f"training setting {name}={value!r} {problem}")

    def to_dict(self) -> dict:
        """The config as JSON-ready nested dicts."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: Mapping) -> MotionTrainConfig:
        """The config from nested dicts (a missing setting keeps its default; an unknown one is refused)."""
        return cls().with_values(_flat(values))

    def with_values(self, values: Mapping[str, object]) -> MotionTrainConfig:
        """A copy with settings named with dots replaced ({"denoiser.lr": 3e-4}), each checked."""
        sections = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        known = _flat(self)
        for name, value in values.items():
            if name not in known:
                close = difflib.get_close_matches(name, known, 1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise InputError(f"unknown training setting {name!r}; {hint}docs/training.md lists the settings")
            typed = _typed(name, value, known[name])
            section, _, key = name.rpartition(".")
            if section:
                sections[section] = dataclasses.replace(sections[section], **{key: typed})
            else:
                sections[key] = typed
        return MotionTrainConfig(**sections)

    def describe(self) -> list[tuple[str, object]]:
        """(name, value) of every setting, in order."""
        return list(_flat(self).items())


def _flat(config) -> dict[str, object]:
    """Settings of a config (or of its nested dicts) by dotted name."""
    items = dataclasses.asdict(config).items() if dataclasses.is_dataclass(config) else config.items()
    out: dict[str, object] = {}
    for key, value in items:
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _typed(name: str, value, default):
    """`value` (a string from the command line, or a JSON value) as the type of the setting's default."""
    if isinstance(default, tuple):
        kind, example = f"{len(default)} whole numbers separated by commas", ",".join(map(str, default))
    else:
        kind, example = ("a whole number" if isinstance(default, int) else "a number"), default
    try:
        if isinstance(default, tuple):
            typed = tuple(int(p) for p in (value.split(",") if isinstance(value, str) else value))
            if len(typed) == len(default):
                return typed
        elif isinstance(default, int):
            if float(value).is_integer():
                return int(float(value))
        else:
            return float(value)
    except (TypeError, ValueError):
        pass
    raise InputError(f"training setting {name}={value!r} is not {kind}; give e.g. {name}={example}")


def _out_of_range(name: str, value) -> str | None:
    """Why a setting's value cannot be used, or None."""
    key = name.rpartition(".")[2]
    values = value if isinstance(value, tuple) else (value,)
    if not all(math.isfinite(v) for v in values):
        return "is not finite; give a finite number"
    if key in ("time_share", "emotion_drop", "style_drop", "context_prob", "crop_prob", "dropout", "lr_floor"):
        return None if 0 <= value <= 1 else "is outside [0, 1]; give a share between 0 and 1"
    if key == "ema_decay":
        return None if 0 <= value < 1 else "is outside [0, 1); give e.g. 0.999"
    if key in ("seed", "steps", "warmup") or key.endswith("weight") or key == "weight_decay":
        return None if value >= 0 else "is negative; give 0 or more"
    if key == "lr":
        return None if value > 0 else "is not positive; give a learning rate above 0, e.g. 3e-4"
    if key == "window":
        return None if value >= 4 and value % 4 == 0 else "is not a multiple of 4 frames (at least 4); e.g. 128"
    return None if min(values) > 0 else "is not positive; give a value above 0"


@dataclass(frozen=True)
class TrainingRun:
    """One `avatar train motion` run that made (part of) a checkpoint: its command, config and what it trained."""

    command: str
    config: MotionTrainConfig
    finetune: bool = False
    note: str = ""  # what the config cannot say (e.g. a stage of an earlier version of the code)

    def to_dict(self) -> dict:
        """The run as JSON-ready dicts."""
        out = {"command": self.command, "finetune": self.finetune, "config": self.config.to_dict()}
        return {**out, "note": self.note} if self.note else out


def read_runs(folder: str | Path) -> list[TrainingRun]:
    """The runs recorded in folder/train_config.json (or in that file itself), oldest first; [] without one."""
    path = Path(folder)
    path = path if path.suffix == ".json" else path / FILE_NAME
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != FORMAT_VERSION:
            raise InputError(
                f"'{path}' is train_config version {document.get('version')}; this code reads "
                f"version {FORMAT_VERSION}: give a train_config.json written by `avatar train motion`"
            )
        return [
            TrainingRun(
                run["command"],
                MotionTrainConfig.from_dict(run["config"]),
                bool(run.get("finetune")),
                run.get("note", ""),
            )
            for run in document["runs"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise InputError(
            f"'{path}' is not a readable train_config.json ({error}); give the file "
            "`avatar train motion` wrote beside a checkpoint"
        ) from None


def write_runs(folder: str | Path, runs: list[TrainingRun]) -> Path:
    """Write folder/train_config.json (atomically) with the runs, oldest first."""
    document = {
        "format": "avatar motion training config",
        "version": FORMAT_VERSION,
        "runs": [run.to_dict() for run in runs],
    }
    return write_text_atomic(Path(folder) / FILE_NAME, json.dumps(document, indent=1) + "\n")


def recipe_table(config: MotionTrainConfig | None = None) -> str:
    """The settings as a Markdown table, a row per section (docs/training.md holds the defaults' table, made by
    this: `python -m generators.learned.train_config`)."""
    rows: dict[str, list[str]] = {}
    for name, value in (config or MotionTrainConfig()).describe():
        section, _, key = name.rpartition(".")
        shown = ",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}"
        rows.setdefault(section or "(run)", []).append(f"{key} {shown}")
    return "\n".join(
        [
            "| section | settings |",
            "|---|---|",
            *[f"| `{section}` | {', '.join(values)} |" for section, values in rows.items()],
        ]
    )


if __name__ == "__main__":
    print(recipe_table())

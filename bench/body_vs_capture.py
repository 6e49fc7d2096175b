"""Body motion against the real capture: real BEAT capture vs procedural vs learned, neutral, on the same audio.

Run: .venv/bin/python bench/body_vs_capture.py [--checkpoint checkpoints/motion-diffusion] [--seed 0] [--stages]
     [--json bench/results/body_vs_capture.json]   (needs ../shared/data/beat)

Take 2_scott_0_1_1: its real capture (BVH, 15 fps rows under a 120-fps header) against the procedural and the
learned body generated on its audio and TextGrid at neutral (intensity 0.8), all at 15 fps over the whole take
(63.8 s). Every measure is defined in avatar/evaluation/kinematics.py. The Fréchet baselines: the capture against
itself shifted in time (its second half against its first), and the capture's motion played on mismatched audio
(take 2_scott_0_2_2's). The last column checks issue 21's targets. The table is docs/benchmarks.md's
(avatar/evaluation/motion_tables.py makes it, through python -m avatar.evaluation.report, from the
figures --json writes).

--stages: where the learned body loses speed and gains jitter instead, stage by stage on the same take: the teacher's
motion, its body-VAE reconstruction (posterior mean, no diffusion), sampling as shipped and with one setting changed
(steps, scheduler, guidance, window overlap, the token average), the power of the body latent per frequency band,
sampled against the teacher's encoded latent, and in its top band the x0 prediction of each sampler step against the
teacher's (where a tremor starts, and whether the later steps remove it).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from avatar.emotion import constant_emotion
from avatar.evaluation.beat import BEAT, beat_content
from avatar.evaluation.kinematics import (
    Kinematics,
    Motion,
    audio_frames,
    audio_onsets,
    capture_track,
    frechet_to_capture,
    kinematics,
    load_capture,
    motion_from_track,
    posture_sway,
    standing_figures,
)
from avatar.evaluation.motion_tables import body_stages_rows, body_vs_capture_rows
from avatar.evaluation.results import run_conditions, write_results
from avatar.frontend.audio import load_audio
from generators.learned import representation as rep
from generators.learned.animate import DEFAULT_CHECKPOINT
from generators.procedural.body import animate_body
from generators.procedural.standing import shift_weight

TAKE = "2_scott_0_1_1"
MISMATCHED = "2_scott_0_2_2"


def arm_figures(k: Kinematics) -> dict:
    """The figures --stages compares: arm speed (cm/s), its share of power above 3 Hz, arm beats/s, BeatAlign, and
    the head's sway relative to the hips (cm, sideways and forward)."""
    return {
        "arm_speed": k.speed["arms"].mean,
        "arm_high_frequency_share": k.arm_high_frequency_share,
        "arm_beats_per_second": k.arm_beats_per_second,
        "beat_align": k.beat_align,
        "head_sway": k.head_sway,
    }


def stage_figures(learned, content, neutral, onsets, seed: int) -> dict:
    """Arm speed, high-frequency share, beats and BeatAlign at each stage of the learned body, and the body latent's
    power per band sampled against the teacher's encoded latent (--stages)."""
    import numpy as np
    import torch

    from generators.learned.pipeline import token_average
    from generators.learned.vae import DOWNSAMPLE

    pipe, stance = learned.pipe, rep.stance_track()
    stages = {}

    def row(name, track):
        stages[name] = arm_figures(kinematics(motion_from_track(track), content.words, onsets))

    teacher = animate_body(content, neutral, seed)
    row("teacher (procedural)", teacher)
    features = rep.body_features(teacher)
    n_tokens = -(-len(features) // DOWNSAMPLE)
    padded = np.concatenate([features, np.repeat(features[-1:], DOWNSAMPLE * n_tokens - len(features), 0)])
    with torch.no_grad():
        encoded = pipe.body_vae.encode(torch.from_numpy(padded)[None])[0]
        decoded = pipe.body_vae.decode(encoded)
    for name, body in (
        ("VAE reconstruction, token average", token_average(decoded)),
        ("VAE reconstruction, no token average", decoded),
    ):
        row(name, rep.body_track(body[0, : len(features)].numpy(), content.fps, stance=stance))

    content_f, emotion_f = rep.content_features(content), rep.emotion_features(neutral)
    shipped = (pipe.body_token_average, pipe.window_tokens, pipe.overlap_tokens)
    variants = [
        ("sampled as shipped (DPM-Solver++ 10 steps, windows 32/8)", {}, {}),
        ("sampled, no token average", {"body_token_average": False}, {}),
        ("sampled, DPM-Solver++ 25 steps", {}, {"steps": 25}),
        ("sampled, DDIM 50 steps", {}, {"steps": 50, "scheduler": "ddim"}),
        ("sampled, no emotion guidance (unconditional)", {}, {"emotion_scale": 0.0}),
        ("sampled, emotion guidance 2", {}, {"emotion_scale": 2.0}),
        ("sampled, windows without overlap", {"overlap_tokens": 0}, {}),
        ("sampled, windows overlapping by 16 tokens", {"overlap_tokens": 16}, {}),
    ]
    for name, settings, call in variants:
        for attribute, value in settings.items():
            setattr(pipe, attribute, value)
        try:
            body = pipe(content_f, emotion_f, None, seed=seed, **call)[1]
        finally:
            pipe.body_token_average, pipe.window_tokens, pipe.overlap_tokens = shipped
        row(name, rep.body_track(body, content.fps, stance=stance))

    # Body-latent power per band (token rate 7.5 Hz): sampled against the teacher's encoded latent, and the x0
    # prediction of every sampler step (the sampler is wrapped to keep them).
    n = len(content_f) // DOWNSAMPLE * DOWNSAMPLE
    generator = torch.Generator().manual_seed(seed)
    predictions = []
    make_scheduler = pipe.make_scheduler

    def recording_scheduler(name, steps):
        sampler = make_scheduler(name, steps)
        step = sampler.step

        def recorded(v, t, x):
            abar = pipe.scheduler.alphas_cumprod[int(t)]
            predictions.append((abar.sqrt() * x - (1 - abar).sqrt() * v)[0, :, pipe.face_latent_dim :].numpy())
            return step(v, t, x)

        sampler.step = recorded
        return sampler

    pipe.make_scheduler = recording_scheduler
    try:
        with torch.no_grad():
            sampled = pipe.denoise_windows(
                torch.from_numpy(content_f[:n])[None], torch.from_numpy(emotion_f[:n])[None], None, generator
            )[0, :, pipe.face_latent_dim :].numpy()
    finally:
        del pipe.make_scheduler
    reference = pipe.body_vae.to_unit(encoded)[0, : len(sampled)].numpy()
    edges = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.75)

    def band_power(latent):
        power = np.abs(np.fft.rfft(latent - latent.mean(0), axis=0)) ** 2
        frequency = np.fft.rfftfreq(len(latent), DOWNSAMPLE / content.fps)
        return [power[(frequency >= a) & (frequency < b + 1e-9)].sum() for a, b in zip(edges, edges[1:], strict=False)]

    teacher_power = band_power(reference)
    ratios = [s / r for s, r in zip(band_power(sampled), teacher_power, strict=True)]
    bands = [f"{a:g}-{b:g} Hz" for a, b in zip(edges, edges[1:], strict=False)]
    top_band = [band_power(x0)[-1] / teacher_power[-1] for x0 in predictions]
    return {"stages": stages, "latent_power_sampled_over_teacher": dict(zip(bands, ratios, strict=True)),
            "top_band_power_of_each_step_x0_over_teacher": top_band}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stages", action="store_true", help="the learned body stage by stage instead")
    parser.add_argument(
        "--json",
        type=Path,
        help="also write the figures here (bench/results/body_vs_capture.json; with --stages, body_stages.json)",
    )
    args = parser.parse_args()
    if not BEAT.is_dir():
        print(f"BEAT data not found at {BEAT}; this benchmark needs ../shared/data/beat", file=sys.stderr)
        return 1
    from generators.learned.animate import LearnedAnimator

    started = run_conditions()
    capture = load_capture(BEAT / "bvh" / f"{TAKE}.bvh")
    content = beat_content(TAKE)
    onsets = audio_onsets(load_audio(BEAT / "wav" / f"{TAKE}.wav").samples)
    audio = audio_frames(content.rms, content.onset, content.voiced, content.fps, capture.fps)
    other = beat_content(MISMATCHED)
    mismatched_audio = audio_frames(other.rms, other.onset, other.voiced, other.fps, capture.fps)
    neutral = constant_emotion("neutral", 0.8, content.n_frames)
    learned = LearnedAnimator.from_pretrained(args.checkpoint)
    if args.stages:
        print(f"The learned body stage by stage, neutral on {TAKE}'s audio, seed {args.seed}\n")
        figures = {"take": TAKE, "seed": args.seed, **stage_figures(learned, content, neutral, onsets, args.seed)}
        figures["capture"] = arm_figures(kinematics(capture, content.words, onsets))
        print(body_stages_rows(figures))
        if args.json:
            write_results(args.json, figures, started)
        return 0
    tracks = {
        "real capture": capture_track(BEAT / "bvh" / f"{TAKE}.bvh"),
        "procedural": animate_body(content, neutral, seed=args.seed),
        "learned (default)": learned.animate(content, neutral, args.seed)[1],
    }
    motions: dict[str, Motion] = {name: motion_from_track(track) for name, track in tracks.items()}
    figures = {
        "take": TAKE,
        "seed": args.seed,
        "duration_s": capture.duration,
        "fps": capture.fps,
        "mismatched_take": MISMATCHED,
        "motions": {name: asdict(kinematics(motion, content.words, onsets)) for name, motion in motions.items()},
        "frechet": {name: frechet_to_capture(capture, audio, motion, audio) for name, motion in motions.items()},
        "frechet_mismatched": frechet_to_capture(capture, audio, capture, mismatched_audio),
        "posture_sway": {name: posture_sway(track) for name, track in tracks.items()},
        # Standing as the pipeline delivers the bodies: the weight-shift layer over each generator's track.
        "standing": {name: standing_figures(shift_weight(track, content, neutral, args.seed))
                     for name, track in tracks.items() if name != "real capture"},
    }
    print(f"Neutral on {TAKE}'s audio ({capture.duration:.1f} s at {capture.fps:g} fps), seed {args.seed}\n")
    print(body_vs_capture_rows(figures))
    if args.json:
        write_results(args.json, figures, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())

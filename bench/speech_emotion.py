"""Speech emotion recognizer: held-out-speaker and cross-corpus figures, speed, memory, and the voice in the loop.

- Evaluation (`--evaluate`): the speaker folds and cross-corpus runs of `avatar train ser` again, with the
  TrainConfig stored in the checkpoint (models already trained into the cache folder are read back, not retrained),
  checked against the checkpoint's figures.
- Speed: `predict` (the whole timeline and the utterance) on 60 s of a BEAT take, one thread, as x real time.
- Memory: peak resident memory of a fresh process reading MEMORY_MINUTES of speech from a file, over its baseline.
- The voice in the loop: VOICE_SENTENCES sentences spoken by the engine's voice with each of the seven emotions the
  recognizer knows (intensity 0.8), read by the recognizer: the share read as the target, per emotion.
`--write-card` stores speed, memory and the voice figures in the checkpoint's config.json and rewrites its card.
Run: .venv/bin/python bench/speech_emotion.py [--evaluate] [--voice] [--write-card]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from avatar.frontend.audio import Audio, load_audio
from avatar.recognizers.speech_emotion import DEFAULT_CHECKPOINT, SpeechEmotionRecognizer
from rigs.paths import shared_data

DATA = shared_data()
SPEED_WAV = DATA / "beat" / "wav" / "2_scott_0_1_1.wav"
MEMORY_MINUTES = 20
VOICE_EMOTIONS = ("neutral", "happiness", "anger", "sadness", "surprise", "fear", "disgust")
# Forty everyday sentences with no emotion in their words, so only the voice can carry it.
VOICE_SENTENCES = (
    "The meeting has been moved to Thursday afternoon.",
    "I put the keys on the table by the door.",
    "We drove along the coast for most of the day.",
    "The train leaves from platform four at nine.",
    "She said the package would arrive tomorrow.",
    "There are two chairs left in the back row.",
    "He opened the window and looked outside.",
    "The report is due at the end of the month.",
    "They painted the kitchen a different colour.",
    "My brother called while you were out.",
    "The shop on the corner closes at six.",
    "We need to talk about what happened yesterday.",
    "The results came back this morning.",
    "I have read every page of that letter.",
    "You left your coat in the car again.",
    "The dog was waiting by the gate.",
    "It rained all night and the road is closed.",
    "I saw your name on the list.",
    "The lights went out in the whole building.",
    "They told us the flight was full.",
    "Someone moved the boxes into the hallway.",
    "The door was open when we got home.",
    "He will be here in about ten minutes.",
    "The water in the glass is still warm.",
    "We counted the votes twice.",
    "There is a message for you at the desk.",
    "The last bus came early tonight.",
    "I found the photographs in the attic.",
    "She finished the whole thing in one afternoon.",
    "The new neighbours moved in on Sunday.",
    "Your test results are in this envelope.",
    "The price went up again last week.",
    "He kept the receipt in his wallet.",
    "The phone rang three times and stopped.",
    "We are going to see them next weekend.",
    "The garden looks different since spring.",
    "I heard footsteps in the room upstairs.",
    "The ticket says row twelve, seat nine.",
    "They cancelled the show an hour before.",
    "The soup has been on the stove since noon.",
)


def evaluate(recognizer: SpeechEmotionRecognizer, cache: str | None) -> bool:
    """Run the speaker folds and cross-corpus evaluations again; print them; True if they match the card's."""
    from avatar.recognizers.ser_cache import build_cache
    from avatar.recognizers.ser_corpus import CORPUS_LABELS, read_manifest
    from avatar.recognizers.train_ser import (
        DEGRADED_COPIES,
        TrainConfig,
        cross_corpus,
        cross_validate,
        default_cache_dir,
        training_features,
    )

    training = recognizer.config["training"]
    # A setting added after the checkpoint was trained takes its default (the value that run had in effect).
    config = TrainConfig(**{f.name: training.get(f.name, f.default) for f in fields(TrainConfig)})
    clips = read_manifest(DATA / "ser")
    started = time.perf_counter()
    torch.set_num_threads(1)
    mels = build_cache(clips, cache or default_cache_dir(), 1 + DEGRADED_COPIES)
    features = training_features(clips, mels)
    folds = cross_validate(clips, mels, features, config)
    shared = CORPUS_LABELS["crema_d"]
    cross = {name: cross_corpus(clips, mels, features, config, name, shared) for name in ("ravdess", "crema_d")}
    print(f"evaluation ({time.perf_counter() - started:.0f} s)")
    for name, r in folds["corpora"].items():
        print(
            f"  {name:8s} held-out speakers, {len(r['labels'])} classes: UAR {100 * r['uar']:.1f} %, "
            f"accuracy {100 * r['accuracy']:.1f} % ({r['n']} clips)"
        )
    for name, r in cross.items():
        print(f"  trained without {name}, tested on it ({len(r['labels'])} classes): UAR {100 * r['uar']:.1f} %")
    print("  CCC on held-out speakers: " + ", ".join(f"{k} {v['all']:.3f}" for k, v in folds["ccc"].items()))
    card = recognizer.config.get("results", {})
    same = (
        card.get("speaker_folds", {}).get("corpora", {}).get("crema_d", {}).get("confusion")
        == folds["corpora"]["crema_d"]["confusion"]
    )
    print(f"  matches the checkpoint's figures: {'yes' if same else 'NO'}")
    return same


def speed(recognizer: SpeechEmotionRecognizer, seconds: float = 60.0, repeats: int = 3) -> dict:
    """x real time of predict on `seconds` of real speech, one thread (best of `repeats`)."""
    torch.set_num_threads(1)
    audio = load_audio(SPEED_WAV)
    clip = Audio(audio.samples[: int(seconds * audio.sample_rate)], audio.sample_rate, audio.source)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = recognizer.predict(clip)
        times.append(time.perf_counter() - started)
    best = min(times)
    labels = [w.label for w in result.windows]
    print(
        f"speed: {clip.duration:.0f} s of {SPEED_WAV.name} in {best:.3f} s on one thread: "
        f"{clip.duration / best:.0f}x real time ({len(result.windows)} windows; utterance {result.utterance.label}, "
        f"arousal {result.utterance.arousal:+.2f}; windows read as "
        + ", ".join(f"{k} {labels.count(k)}" for k in sorted(set(labels)))
        + ")"
    )
    return {"seconds": clip.duration, "x_real_time": round(clip.duration / best, 1)}


def memory(checkpoint: str) -> dict:
    """Peak memory of a fresh process reading MEMORY_MINUTES of speech (a BEAT take repeated) from a file."""
    audio = load_audio(SPEED_WAV)
    repeats = int(np.ceil(MEMORY_MINUTES * 60 / audio.duration))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.flac"
        sf.write(path, np.tile(audio.samples, repeats)[: MEMORY_MINUTES * 60 * audio.sample_rate], audio.sample_rate)
        code = (
            "import resource, sys, torch; torch.set_num_threads(1)\n"
            "from avatar.recognizers.speech_emotion import SpeechEmotionRecognizer\n"
            f"r = SpeechEmotionRecognizer.from_pretrained({checkpoint!r})\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "result = r.predict(sys.argv[1])\n"
            "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "print(before, after, len(result.windows))\n"
        )
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    before, after, windows = (int(v) for v in out.stdout.split())
    peak = (after - before) / 1024
    print(
        f"memory: reading {MEMORY_MINUTES} min from a file ({windows} windows) raised peak memory by {peak:.0f} MiB "
        f"over the loaded model's {before / 1024:.0f} MiB"
    )
    print(f"  (the same audio held in memory as float32 would be {MEMORY_MINUTES * 60 * 16000 * 4 / 2**20:.0f} MiB)")
    return {"seconds": MEMORY_MINUTES * 60, "peak_mib": round(peak, 1), "baseline_mib": round(before / 1024, 1)}


def voice(recognizer: SpeechEmotionRecognizer, intensity: float = 0.8) -> dict:
    """Share of VOICE_SENTENCES that the recognizer reads as each emotion the voice was coloured with."""
    from avatar.frontend.emotional_prosody import emotion_prosody
    from avatar.frontend.tts import get_voice

    speaker = get_voice()
    per_emotion, confusion = {}, {}
    for emotion in VOICE_EMOTIONS:
        prosody = emotion_prosody(emotion, intensity)
        read = [
            recognizer.predict(speaker.synthesize(s, prosody, seed=k)).utterance.label
            for k, s in enumerate(VOICE_SENTENCES)
        ]
        per_emotion[emotion] = read.count(emotion) / len(read)
        confusion[emotion] = {k: read.count(k) for k in sorted(set(read))}
        print(f"  {emotion:9s} read as itself {100 * per_emotion[emotion]:5.1f} %   ({confusion[emotion]})")
    hits = sum(v >= 0.5 for v in per_emotion.values())
    print(
        f"voice in the loop: {hits} of {len(VOICE_EMOTIONS)} emotions read as their target in at least half "
        "the sentences"
    )
    return {
        "sentences": len(VOICE_SENTENCES),
        "intensity": intensity,
        "per_emotion": per_emotion,
        "confusion": confusion,
    }


def plot_voice(path: str, intensity: float = 0.8, sentence: str = VOICE_SENTENCES[0]) -> None:
    """F0 and loudness over time of one sentence in each emotion's voice, and each voice's F0 and level spread."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from avatar.frontend.emotional_prosody import emotion_prosody
    from avatar.frontend.features import extract_features
    from avatar.frontend.plot import EMOTION_COLOURS
    from avatar.frontend.tts import get_voice
    from rigs.fileio import atomic_path

    speaker = get_voice()
    fig = Figure(figsize=(12, 7), dpi=100)
    f0_axis, level_axis = fig.subplots(2, 1)
    for emotion in VOICE_EMOTIONS:
        audio = speaker.synthesize(sentence, emotion_prosody(emotion, intensity), seed=0).resampled(16_000)
        features = extract_features(audio, fps=100.0)
        t = np.arange(features.n_frames) / 100.0
        f0 = np.where(features.f0_hz[:, 0] > 0, features.f0_hz[:, 0], np.nan)
        level = 20 * np.log10(np.maximum(features.rms[:, 0], 1e-5))
        colour = EMOTION_COLOURS[emotion]
        peak = float(np.abs(audio.samples).max())
        f0_axis.plot(
            t,
            f0,
            color=colour,
            lw=1.5,
            label=f"{emotion}: median F0 {np.nanmedian(f0):.0f} Hz, "
            f"{audio.duration:.1f} s, peak {20 * np.log10(peak):.1f} dBFS",
        )
        level_axis.plot(t, level, color=colour, lw=1)
    f0_axis.set_ylabel("F0 (Hz)")
    f0_axis.set_title(f"The engine's voice in each emotion's preset (intensity {intensity}): '{sentence}'")
    f0_axis.legend(fontsize=8, loc="upper right")
    level_axis.set_ylabel("level (dBFS)")
    level_axis.set_ylim(-70, 0)
    level_axis.set_xlabel("time (s)")
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {path}")


def main() -> int:
    """Run the benchmark; non-zero exit when data or checkpoint is missing, or the figures differ from the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--evaluate", action="store_true", help="recompute the held-out figures (slow)")
    parser.add_argument("--cache", default=None, help="the log-mel cache folder of training")
    parser.add_argument("--voice", action="store_true", help="the voice in the loop (about 5 minutes)")
    parser.add_argument("--plot-voice", metavar="PNG", help="draw pitch and loudness per emotion's voice here")
    parser.add_argument("--write-card", action="store_true", help="store the figures in the checkpoint's card")
    args = parser.parse_args()
    if not SPEED_WAV.exists():
        sys.exit(f"BEAT speech not found at {SPEED_WAV}; this benchmark needs ../shared/data.")
    recognizer = SpeechEmotionRecognizer.from_pretrained(args.checkpoint)
    same = evaluate(recognizer, args.cache) if args.evaluate else True
    bench = {"speed": speed(recognizer), "memory": memory(args.checkpoint)}
    if args.voice:
        bench["voice"] = voice(recognizer)
    if args.plot_voice:
        plot_voice(args.plot_voice)
    if args.write_card:
        from avatar.recognizers.ser_card import model_card
        from rigs.fileio import write_text_atomic

        folder = Path(args.checkpoint)
        recognizer.config["bench"] = {**recognizer.config.get("bench", {}), **bench}
        write_text_atomic(folder / "config.json", json.dumps(recognizer.config, indent=2) + "\n")
        write_text_atomic(folder / "README.md", model_card(recognizer.config))
        print(f"wrote the figures into {folder}/config.json and README.md")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

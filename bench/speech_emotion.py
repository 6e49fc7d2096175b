"""Speech emotion recognizer: leave-one-speaker-out results on EmoDB, recomputed, and inference speed.

The LOSO evaluation is run again from scratch with the hyperparameters stored in the checkpoint's config.json
(the same code as training), so its UAR, recalls and confusion matrix can be checked against the model card.
Speed: real-time factor of `predict` on the first 60 s of a BEAT take.
Run: .venv/bin/python bench/speech_emotion.py [--checkpoint checkpoints/ser-emodb] [--skip-loso]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from avatar.errors import InputError
from avatar.frontend.audio import Audio, load_audio
from avatar.recognizers.speech_emotion import DEFAULT_CHECKPOINT, EMODB_LABELS, SpeechEmotionRecognizer
from avatar.recognizers.train_ser import TrainConfig, _one_thread, confusion_table, extract, find_emodb, loso

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EMODB = DATA / "emodb"
SPEED_WAV = DATA / "beat" / "wav" / "2_scott_0_1_1.wav"


def print_loso(recognizer: SpeechEmotionRecognizer) -> bool:
    """Recompute the LOSO figures; print them and whether they match the checkpoint's. True if they match."""
    training = recognizer.config.get("training", {})
    config = TrainConfig(**{f.name: training[f.name] for f in fields(TrainConfig) if f.name in training})
    started = time.perf_counter()
    with _one_thread():
        data = extract(find_emodb(EMODB))
        results = loso(data, config)
    print(f"LOSO over {len(set(data.speakers))} speakers, {len(data.utterances)} clips "
          f"({time.perf_counter() - started:.0f} s)")
    print(f"  UAR {100 * results['uar']:.1f} %   accuracy {100 * results['accuracy']:.1f} %")
    print("  recall: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in results["recall"].items()))
    print("  accuracy per held-out speaker: "
          + ", ".join(f"{k} {100 * v:.0f} %" for k, v in results["per_speaker_accuracy"].items()))
    print(confusion_table(results["confusion"]))
    card = recognizer.config.get("loso", {})
    same = card.get("confusion") == results["confusion"]
    print(f"  matches the checkpoint's model card: {'yes' if same else 'NO'} "
          f"(card UAR {100 * card.get('uar', float('nan')):.1f} %)")
    return same


def print_speed(recognizer: SpeechEmotionRecognizer, seconds: float = 60.0, repeats: int = 3) -> None:
    """Real-time factor of predict on `seconds` of real speech (best of `repeats`)."""
    audio = load_audio(SPEED_WAV)
    clip = Audio(audio.samples[: int(seconds * audio.sample_rate)], audio.sample_rate, audio.source)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = recognizer.predict(clip)
        times.append(time.perf_counter() - started)
    best = min(times)
    shares = np.mean([w.emodb_vector for w in result.windows], axis=0)
    print(f"predict on {clip.duration:.0f} s of {SPEED_WAV.name}: {best:.2f} s, real-time factor "
          f"{best / clip.duration:.4f}, {len(result.windows)} windows")
    print(f"  utterance: {result.utterance.label} (EmoDB {result.utterance.emodb_label}); mean window probabilities "
          + ", ".join(f"{k} {v:.2f}" for k, v in zip(EMODB_LABELS, shares, strict=True)))


def main() -> int:
    """Run the benchmark; non-zero exit when data or checkpoint is missing, or the figures differ from the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--skip-loso", action="store_true", help="only measure speed")
    args = parser.parse_args()
    if not (EMODB / "wav").is_dir():
        sys.exit(f"EmoDB not found at {EMODB}; this benchmark needs ../shared/data/emodb.")
    try:
        recognizer = SpeechEmotionRecognizer.from_pretrained(args.checkpoint)
    except InputError as error:
        sys.exit(str(error))
    same = True if args.skip_loso else print_loso(recognizer)
    if SPEED_WAV.exists():
        print_speed(recognizer)
    else:
        print(f"speed not measured: {SPEED_WAV} is absent")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

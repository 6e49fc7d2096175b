"""Text emotion recognizer: accuracy per class, confusion matrix, negation figures and speed.

    .venv/bin/python bench/text_emotion.py [--threads 1] [--weights embedding=0.55,lexicon=0.3,polarity=0.15]

Reads tests/data/text_emotion_sentences.tsv (80 clear-cut sentences, 10 per emotion, and 20 negated ones, written for
this evaluation and distinct from the prototype sentences the embedding expert compares against; the script checks
that none is a prototype and prints how close the nearest prototype is). Each expert alone is scored too, to show
what it contributes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from avatar.recognizers.text_emotion import TextEmotionRecognizer
from avatar.recognizers.text_prototypes import PROTOTYPES
from generators.conditioning import EMOTIONS

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "text_emotion_sentences.tsv"
NEGATIVE = ("anger", "sadness", "contempt", "fear", "disgust")


def load_rows(path: Path = DATA) -> list[tuple[str, str, str]]:
    """(kind, emotion, text) rows of the labelled set, comments skipped."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, emotion, text = line.split("\t")
            rows.append((kind, emotion, text))
    return rows


def confusion(gold: list[str], pred: list[str]) -> np.ndarray:
    """Counts (gold row, predicted column) over EMOTIONS."""
    matrix = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    for g, p in zip(gold, pred, strict=True):
        matrix[EMOTIONS.index(g), EMOTIONS.index(p)] += 1
    return matrix


def print_confusion(matrix: np.ndarray) -> None:
    """The confusion matrix with short column names."""
    short = [name[:5] for name in EMOTIONS]
    print(f"{'gold/pred':>11} " + " ".join(f"{s:>5}" for s in short))
    for name, row in zip(EMOTIONS, matrix, strict=True):
        print(f"{name:>11} " + " ".join(f"{v:>5}" for v in row))


def report_clear(recognizer: TextEmotionRecognizer, rows: list[tuple[str, str, str]]) -> None:
    """Per-class accuracy and confusion of the combined model, and each expert alone."""
    gold = [emotion for _, emotion, _ in rows]
    results = recognizer.predict_sentences([text for *_, text in rows])
    pred = [r.label for r in results]
    matrix = confusion(gold, pred)
    print(f"\nClear-cut sentences: {len(rows)}; accuracy {np.trace(matrix) / len(rows):.3f}")
    for k, name in enumerate(EMOTIONS):
        print(f"  {name:>10}: {matrix[k, k]}/{matrix[k].sum()} = {matrix[k, k] / max(matrix[k].sum(), 1):.2f}")
    print_confusion(matrix)
    for expert in ("embedding", "lexicon", "polarity"):
        voted = [(g, max(r.parts[expert], key=r.parts[expert].get)) for g, r in zip(gold, results, strict=True)
                 if expert in r.parts]
        hits = sum(g == p for g, p in voted)
        print(f"  {expert} alone: {hits}/{len(voted)} correct where it voted ({len(voted)}/{len(rows)} voted)")
    print("  misread:")
    for g, r in zip(gold, results, strict=True):
        if r.label != g:
            print(f"    {g:>9} -> {r.label:<9} ({r.confidence:.2f}) {r.text}")


def report_negation(recognizer: TextEmotionRecognizer, rows: list[tuple[str, str, str]]) -> None:
    """How often a negated emotion is (wrongly) read, and whether valence has the right sign."""
    results = recognizer.predict_sentences([text for *_, text in rows])
    avoided = sum(r.label != emotion for (_, emotion, _), r in zip(rows, results, strict=True))
    print(f"\nNegated sentences: {len(rows)}; negated emotion not read in {avoided}/{len(rows)}")
    pos = [r for (_, e, _), r in zip(rows, results, strict=True) if e == "happiness"]
    neg = [r for (_, e, _), r in zip(rows, results, strict=True) if e in NEGATIVE]
    print(f"  negated happiness with valence <= 0: {sum(r.valence <= 0 for r in pos)}/{len(pos)}")
    print(f"  negated negative emotion with valence > -0.1: {sum(r.valence > -0.1 for r in neg)}/{len(neg)}")
    for (_, emotion, _), r in zip(rows, results, strict=True):
        flag = "MISS" if r.label == emotion else "ok  "
        print(f"    {flag} not-{emotion:<9} -> {r.label:<9} p={r.probs[emotion]:.2f} v={r.valence:+.2f}  {r.text}")


def report_overlap(recognizer: TextEmotionRecognizer, rows: list[tuple[str, str, str]]) -> None:
    """Check that no evaluation sentence is a prototype, and how similar the nearest prototype is."""
    prototypes = {s.lower() for group in PROTOTYPES.values() for s in group}
    shared = [text for *_, text in rows if text.lower() in prototypes]
    sims = recognizer.encoder.encode([text for *_, text in rows]) @ recognizer._prototype_embeddings().T
    nearest = sims.max(axis=1)
    print(f"\nEvaluation sentences that are also prototypes: {len(shared)} {shared if shared else ''}")
    print(f"Cosine similarity to the nearest prototype: median {np.median(nearest):.2f}, max {nearest.max():.2f}")


def report_speed(recognizer: TextEmotionRecognizer, rows: list[tuple[str, str, str]]) -> None:
    """Cold start (model load) and warm throughput on the whole set as one text."""
    text = " ".join(text for *_, text in rows)
    start = time.perf_counter()
    recognizer.predict("A first sentence to load the model.")
    cold = time.perf_counter() - start
    start = time.perf_counter()
    result = recognizer.predict(text)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for *_, sentence in rows[:20]:
        recognizer.predict(sentence)
    single = (time.perf_counter() - start) / 20
    print(f"\nSpeed: cold start {cold:.2f} s (model + prototypes); {len(result.sentences)} sentences in one text: "
          f"{warm:.2f} s = {len(result.sentences) / warm:.0f} sentences/s; one-sentence call {single * 1e3:.1f} ms")


def report_ablation(rows: list[tuple[str, str, str]]) -> None:
    """Clear-cut accuracy, contempt and negation for the full model and with parts switched off."""
    clear = [r for r in rows if r[0] == "clear"]
    negated = [r for r in rows if r[0] == "negated"]
    variants = {
        "combined (default)": {},
        "embedding only": {"weights": {"embedding": 1.0, "lexicon": 0.0, "polarity": 0.0}},
        "embedding + lexicon": {"weights": {"embedding": 0.65, "lexicon": 0.35, "polarity": 0.0}},
        "no negation gate": {"negated_keep": 1.0},
        "embedding only, no gate": {"weights": {"embedding": 1.0, "lexicon": 0.0, "polarity": 0.0},
                                    "negated_keep": 1.0},
    }
    print("\nAblation (clear-cut accuracy / contempt / negated emotion not read):")
    for name, kwargs in variants.items():
        recognizer = TextEmotionRecognizer(**kwargs)
        c = recognizer.predict_sentences([text for *_, text in clear])
        n = recognizer.predict_sentences([text for *_, text in negated])
        acc = sum(r.label == g for (_, g, _), r in zip(clear, c, strict=True))
        con = sum(r.label == g == "contempt" for (_, g, _), r in zip(clear, c, strict=True))
        neg = sum(r.label != g for (_, g, _), r in zip(negated, n, strict=True))
        print(f"  {name:<26} {acc}/{len(clear)}  {con}/10  {neg}/{len(negated)}")


def main() -> None:
    """Run every report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="expert weights, e.g. embedding=0.55,lexicon=0.3,polarity=0.15")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own choice)")
    args = parser.parse_args()
    weights = None
    if args.weights:
        weights = {k: float(v) for k, v in (item.split("=") for item in args.weights.split(","))}
    recognizer = TextEmotionRecognizer(weights=weights, num_threads=args.threads or None)
    print(f"weights {recognizer.weights}; torch threads {args.threads or torch.get_num_threads()}")
    rows = load_rows()
    report_speed(recognizer, rows)
    report_clear(recognizer, [r for r in rows if r[0] == "clear"])
    report_negation(recognizer, [r for r in rows if r[0] == "negated"])
    report_overlap(recognizer, rows)
    report_ablation(rows)


if __name__ == "__main__":
    main()

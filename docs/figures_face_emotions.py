"""Contact sheet of the procedural face under the eight emotions mid-sentence: `python docs/figures_face_emotions.py`.

Writes docs/face_emotions.png: the bundled example sentence spoken by the default voice (seed 0), animated with
each emotion at intensity 0.8 (seed 0), rendered by the preview renderer at two moments of the same sentence
(an open vowel and a P/B/M closure), so one sees the expression on a speaking face and that the lips still seal.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from avatar.emotion import constant_emotion  # noqa: E402
from avatar.frontend.speech import speak  # noqa: E402
from generators.conditioning import EMOTIONS  # noqa: E402
from generators.procedural.face import animate_face  # noqa: E402
from generators.render.preview import PreviewRenderer  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402
from rigs.phones import BILABIALS, OPEN_VOWELS  # noqa: E402

DOCS = Path(__file__).resolve().parent


def _moments(content) -> list[tuple[int, str]]:
    """Two frames mid-sentence: the middle of an open vowel and of a bilabial, each with its word."""
    middle = content.duration / 2
    picks = []
    for group, what in ((OPEN_VOWELS, "open vowel"), (BILABIALS, "lips closed")):
        phone = min((p for p in content.phones if p.label in group), key=lambda p: abs(p.start - middle))
        word = next((w.label for w in content.words if w.start <= phone.start < w.end), "")
        picks.append((int(round((phone.start + phone.end) / 2 * content.fps)), f"{what}: {phone.label} in '{word}'"))
    return picks


def _face_box(renderer: PreviewRenderer) -> tuple[slice, slice]:
    """Rows and columns of the preview frame that hold the face (the neutral face's extent, padded)."""
    image = renderer.face_frame(np.zeros(52, np.float32)).astype(int)
    face = np.abs(image - image[0, 0]).sum(-1) > 12
    ys, xs = np.nonzero(face[: int(0.72 * len(face))])  # above the neck
    pad = 12
    return slice(max(ys.min() - pad, 0), ys.max() + pad), slice(max(xs.min() - pad, 0), xs.max() + pad)


def main() -> None:
    text = (DOCS.parent / "demos" / "example" / "sentence.txt").read_text().strip()
    content = speak(text).content()
    renderer = PreviewRenderer(512)
    moments = _moments(content)
    rows, cols = _face_box(renderer)
    fig = Figure(figsize=(16, 2 * 2.75), dpi=110)
    axes = fig.subplots(len(moments), len(EMOTIONS))
    for column, emotion in enumerate(EMOTIONS):
        track = animate_face(content, constant_emotion(emotion, 0.8, content.n_frames), seed=0)
        for row, (frame, caption) in enumerate(moments):
            ax = axes[row, column]
            ax.imshow(renderer.face_frame(track.weights[frame], track.head[frame])[rows, cols])
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(emotion, fontsize=13)
            if column == 0:
                ax.set_ylabel(f"{caption}\n{frame / content.fps:.2f} s", fontsize=10)
    fig.suptitle(f"Procedural face, eight emotions at intensity 0.8 mid-sentence: \"{text}\"", fontsize=11)
    fig.tight_layout()
    path = DOCS / "face_emotions.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Plot the procedural face's key channels over 6 s of real speech: `python docs/figures_procedural_face.py`.

Writes docs/face_curves.png: mouth channels with the phones along the time axis and P/B/M shaded, the emotion layer
(neutral, then happiness at 0.8 from the middle on), blinks and brows, and head and gaze angles. Uses BEAT take
2_scott_0_1_1 from ../shared/data (audio + TextGrid phones); without it, the bundled example sentence spoken by
the TTS voice.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from generators.conditioning import EMOTIONS, Content, EmotionFrames  # noqa: E402
from generators.procedural.face import animate_face  # noqa: E402
from rigs.fileio import atomic_path  # noqa: E402
from rigs.paths import shared_data  # noqa: E402

DOCS = Path(__file__).resolve().parent
BEAT = shared_data("beat")
TAKE, START_S, LENGTH_S = "2_scott_0_1_1", 1.3, 6.0
SWITCH_S = START_S + LENGTH_S / 2  # neutral before, happiness after


def _content() -> tuple[Content, str]:
    if (BEAT / "wav" / f"{TAKE}.wav").is_file():
        from avatar.evaluation.beat import beat_content

        return beat_content(TAKE), f"BEAT {TAKE}"
    from avatar.frontend.speech import speak

    text = (DOCS.parent / "demos" / "example" / "sentence.txt").read_text().strip()
    return speak(text).content(), "the example sentence (TTS)"


def _emotion(n: int, fps: float) -> EmotionFrames:
    """Neutral, switching to happiness at 0.8 at SWITCH_S."""
    categories = np.zeros((n, len(EMOTIONS)), np.float32)
    after = np.arange(n) / fps >= SWITCH_S
    categories[~after, EMOTIONS.index("neutral")] = 1
    categories[after, EMOTIONS.index("happiness")] = 1
    vad = np.where(after[:, None], np.float32([0.81, 0.51, 0.46]) * 0.8, 0).astype(np.float32)
    return EmotionFrames(categories, np.full(n, 0.8, np.float32), vad)


def main() -> None:
    content, source = _content()
    fps = content.fps
    track = animate_face(content, _emotion(content.n_frames, fps), seed=0)
    start = START_S if content.duration > START_S + LENGTH_S else 0.0
    end = min(content.duration, start + LENGTH_S)
    frames = np.arange(int(np.ceil(start * fps)), int(end * fps))
    t = frames / fps
    phones = [p for p in content.phones if p.end > start and p.start < end and p.label.strip()]

    fig = Figure(figsize=(15.5, 10.5), dpi=110)
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.6, 2, 2]})
    mouth, emotion, eyes, head = axes
    for ax in axes:
        for p in phones:
            if p.label.upper() in ("P", "B", "M"):
                ax.axvspan(p.start, p.end, color="tab:red", alpha=0.13, lw=0)
        ax.grid(alpha=0.3)
    for name, colour in (("jawOpen", "k"), ("mouthClose", "tab:red"), ("mouthFunnel", "tab:blue"),
                         ("mouthPucker", "tab:cyan"), ("mouthPressLeft", "tab:purple"),
                         ("mouthRollLower", "tab:olive"), ("mouthStretchLeft", "tab:orange"),
                         ("tongueOut", "tab:pink")):
        mouth.plot(t, track[name][frames], color=colour, lw=2 if name == "jawOpen" else 1.3, label=name)
    gap = track["jawOpen"][frames] - track["mouthClose"][frames]
    mouth.plot(t, gap, color="0.5", lw=1, ls="--", label="jawOpen - mouthClose (lip gap)")
    mouth.set_ylim(-0.17, 0.8)
    for i, p in enumerate(phones):  # phone labels along the time axis, staggered so neighbours do not overlap
        mouth.text((max(p.start, start) + min(p.end, end)) / 2, -0.07 - 0.06 * (i % 2), p.label, ha="center",
                   va="center", fontsize=7, color="tab:red" if p.label.upper() in ("P", "B", "M") else "0.2")
    for w in content.words:
        if w.end > start and w.start < end and w.label.strip():
            mouth.text((w.start + w.end) / 2, 0.76, w.label, ha="center", fontsize=8, style="italic")
    mouth.set_ylabel("weight")
    mouth.set_title(f"Procedural face on {source}: mouth (P/B/M shaded red, phones below, words above)")
    mouth.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)

    for name, colour in (("mouthSmileLeft", "tab:orange"), ("cheekSquintLeft", "tab:brown"),
                         ("eyeSquintLeft", "tab:green")):
        emotion.plot(t, track[name][frames], color=colour, lw=1.4, label=name)
    emotion.axvline(SWITCH_S, color="k", ls=":", lw=1)
    emotion.text(SWITCH_S, 0.9, " emotion: neutral -> happiness 0.8", fontsize=8, va="top")
    emotion.set_ylim(-0.02, 1)
    emotion.set_ylabel("weight")
    emotion.set_title("Emotion layer (smooth onset; the smile yields on rounded vowels, lips still close on P/B/M)")
    emotion.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)

    blink = (track["eyeBlinkLeft"] + track["eyeBlinkRight"])[frames] / 2
    eyes.plot(t, blink, color="k", lw=1.4, label="eyeBlink (mean L/R)")
    eyes.plot(t, track["browInnerUp"][frames], color="tab:blue", lw=1.4, label="browInnerUp")
    eyes.plot(t, track["browOuterUpLeft"][frames], color="tab:cyan", lw=1.1, label="browOuterUpLeft")
    eyes.plot(t, track["eyeLookOutLeft"][frames] - track["eyeLookInLeft"][frames], color="tab:green", lw=1,
              label="eyeLookOut - In (left eye)")
    eyes.set_ylim(-0.4, 1.05)
    eyes.set_ylabel("weight")
    eyes.set_title("Blinks, emphasis brows on pitch accents, gaze shapes")
    eyes.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)

    for k, (name, colour) in enumerate((("yaw", "tab:blue"), ("pitch (+ down)", "tab:red"), ("roll", "tab:green"))):
        head.plot(t, np.degrees(track.head[frames, k]), color=colour, lw=1.5, label=f"head {name}")
    head.plot(t, np.degrees(track.gaze[frames, 0]), color="tab:blue", lw=0.9, ls="--", label="left eye yaw")
    head.plot(t, np.degrees(track.gaze[frames, 1]), color="tab:red", lw=0.9, ls="--", label="left eye pitch")
    head.set_ylabel("degrees")
    head.set_xlabel("time (s)")
    head.set_title("Head from prosody (nods on accents, drift, F0 lift) and eye-in-head gaze")
    head.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)
    head.set_xlim(start, end)
    fig.tight_layout()
    with atomic_path(DOCS / "face_curves.png") as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {DOCS / 'face_curves.png'}")


if __name__ == "__main__":
    main()

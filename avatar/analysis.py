"""`avatar analyze`: the emotion of speech, of text, or of both, as one fused timeline on the frame clock.

Speech is read by the shipped speech emotion recognizer (windows of 1.5 s, hop 0.5 s, on the frame clock), text
sentence by sentence by the text recognizer; sentences get times from the words' alignment when there is one, else
they are spread over the speech (or, for text alone, over the time it takes to say at CHARS_PER_S), and go on the
frame clock the same way (avatar/emotion/windows.py). The fusion (avatar/emotion/fusion.py) weighs each source's
timeline by its confidence. `EmotionAnalysis.to_json()` has this shape:

  {"utterance": {"label", "probs": {all 8}, "valence", "arousal", "dominance", "confidence"},
   "windows": [{"start", "end", "label", "probs", "confidence"}, ...],     # the fused curve, 1.5 s hop 0.5 s
   "sources": ["speech", "text"], "duration_s", "timing": "audio" | "estimated from text length",
   "speech": {"utterance": {...}, "windows": [...]} | null, "text": {"sentences": [...]} | null}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from avatar.emotion.fusion import FusedEmotion, fuse
from avatar.emotion.space import VAD_NAMES
from avatar.emotion.windows import spread
from avatar.errors import InputError
from avatar.frontend.alignment import Alignment
from avatar.frontend.audio import Audio, load_audio
from generators.conditioning import EMOTIONS
from rigs.clock import frame_count

WINDOW_S, HOP_S = 1.5, 0.5
CHARS_PER_S = 14.0  # conversational English, about 170 words a minute
_WORD = re.compile(r"[A-Za-z0-9']+")


@cache
def speech_recognizer():
    """The shipped speech emotion recognizer, loaded once (an InputError naming the fix if its checkpoint is gone)."""
    from avatar.recognizers.speech_emotion import SpeechEmotionRecognizer

    return SpeechEmotionRecognizer.from_pretrained()


@cache
def text_recognizer():
    """The text emotion recognizer, loaded once."""
    from avatar.recognizers.text_emotion import TextEmotionRecognizer

    return TextEmotionRecognizer()


@dataclass(frozen=True)
class EmotionAnalysis:
    """What the recognizers read, per source and fused, over `duration` seconds."""

    fused: FusedEmotion
    duration: float
    timing: str
    speech: object | None = None  # SpeechEmotionResult
    text: object | None = None  # TextEmotionResult
    sentence_times: tuple[tuple[float, float], ...] = ()

    @property
    def sources(self) -> list[str]:
        return [name for name, result in (("speech", self.speech), ("text", self.text)) if result is not None]

    def summary(self, start: float = 0.0, end: float | None = None) -> dict:
        """Fused label, probabilities, VAD and confidence over [start, end), confidence-weighted."""
        fps, n = self.fused.fps, self.fused.emotion.n_frames
        lo, hi = int(round(start * fps)), min(n, max(int(round((self.duration if end is None else end) * fps)), 1))
        lo = min(lo, hi - 1)
        e = self.fused.emotion
        shown = e.categories[lo:hi] * e.intensity[lo:hi, None]
        w = self.fused.confidence[lo:hi].astype(np.float64) + 1e-6
        probs = (w[:, None] * shown).sum(0) / w.sum()
        probs /= probs.sum()
        vad = (w[:, None] * e.vad[lo:hi]).sum(0) / w.sum()
        return {"label": EMOTIONS[int(np.argmax(probs))], "probs": _named(probs),
                **{k: round(float(v), 4) for k, v in zip(VAD_NAMES, vad, strict=True)},
                "confidence": round(float(self.fused.confidence[lo:hi].mean()), 4)}

    def windows(self) -> list[dict]:
        """The fused curve summarised on windows of WINDOW_S with hop HOP_S."""
        # In seconds of the input and clipped to its duration, with no extra window flush with the end (unlike the
        # recognizers' frame windows, avatar/emotion/windows.py): the JSON's summary windows, kept as documented.
        starts = np.arange(0.0, max(self.duration - WINDOW_S, 0.0) + 1e-9, HOP_S)
        return [{"start": round(float(s), 3), "end": round(float(min(s + WINDOW_S, self.duration)), 3),
                 **self.summary(s, s + WINDOW_S)} for s in starts]

    def to_json(self) -> dict:
        """The analysis as plain JSON values (shape in the module docstring)."""
        speech = None
        if self.speech is not None:
            speech = {"utterance": _speech_dict(self.speech.utterance), "windows": [
                _speech_dict(w) for w in self.speech.windows]}
        text = None
        if self.text is not None:
            text = {"sentences": [
                {"index": s.index, "text": s.text, "start_s": round(t0, 3), "end_s": round(t1, 3),
                 "label": s.label, "probs": {k: round(v, 4) for k, v in s.probs.items()},
                 "valence": round(s.valence, 4), "arousal": round(s.arousal, 4), "confidence": round(s.confidence, 4)}
                for s, (t0, t1) in zip(self.text.sentences, self.sentence_times, strict=True)]}
        return {"utterance": self.summary(), "windows": self.windows(), "sources": self.sources,
                "duration_s": round(self.duration, 3), "timing": self.timing, "speech": speech, "text": text}


def analyze_emotion(audio: Audio | Path | None = None, text: str | None = None, alignment: Alignment | None = None,
                    fps: float = 30.0) -> EmotionAnalysis:
    """Recognize the emotion of speech, text or both, and fuse it into one curve on the frame clock.

    Speech may be an Audio or an audio file's path; a path is streamed through the speech recognizer block by
    block, so hours of audio take bounded memory.
    """
    if audio is None and (text is None or not text.strip()):
        raise InputError("nothing to analyze: give speech audio, text, or both")
    timelines = {}
    speech_result = text_result = None
    if audio is not None:
        timing = "audio"
        try:
            recognizer = speech_recognizer()
        except InputError:
            if not (text and text.strip()):
                raise
            recognizer = None  # the speech checkpoint is missing: the words alone carry the analysis
        if recognizer is not None:
            speech_result = recognizer.predict(audio)
            duration = speech_result.utterance.end  # as the recognizer read it (16 kHz)
            timelines["speech"] = speech_result.timeline(fps)
        else:
            duration = (audio if isinstance(audio, Audio) else load_audio(audio)).duration
    else:
        duration, timing = len(text.strip()) / CHARS_PER_S, "estimated from text length"
    n_frames = frame_count(duration, fps)
    times: tuple[tuple[float, float], ...] = ()
    if text is not None and text.strip():
        text_result = text_recognizer().predict(text)
        times = sentence_times(text, text_result.spans, duration, alignment)
        sentences = text_result.sentences
        timelines["text"] = spread(times, [s.vector for s in sentences], [s.confidence for s in sentences],
                                   n_frames, fps, [(s.valence, s.arousal, s.dominance) for s in sentences], "text")
    return EmotionAnalysis(fuse(timelines, n_frames, fps), duration, timing, speech_result, text_result, times)


def sentence_times(text: str, spans, duration: float, alignment: Alignment | None = None):
    """(start, end) seconds of each sentence span: from the aligned words, else spread over the duration by length."""
    words = [w for w in alignment.words if w.label.strip()] if alignment is not None else []
    if words:
        # The n-th word of the text is about the (n x aligned/typed)-th aligned word (numbers may be spelled out).
        counts = [len(_WORD.findall(text[:a])) for a, _ in spans] + [len(_WORD.findall(text))]
        scale = len(words) / max(counts[-1], 1)
        index = [min(int(round(c * scale)), len(words)) for c in counts]
        out = []
        for k in range(len(spans)):
            first, last = index[k], max(index[k + 1] - 1, index[k])
            first, last = min(first, len(words) - 1), min(last, len(words) - 1)
            out.append((words[first].start if k else 0.0, words[last].end if k + 1 < len(spans) else duration))
        return tuple(out)
    lengths = np.array([b - a for a, b in spans], np.float64)
    edges = np.r_[0, np.cumsum(lengths)] / max(lengths.sum(), 1) * duration
    return tuple((float(a), float(b)) for a, b in zip(edges[:-1], edges[1:], strict=True))


def _named(probs) -> dict[str, float]:
    return {name: round(float(p), 4) for name, p in zip(EMOTIONS, probs, strict=True)}


def _speech_dict(window) -> dict:
    return {"start": round(window.start, 3), "end": round(window.end, 3), "label": window.label,
            "probs": _named(window.categories), "valence": round(float(window.valence), 4),
            "arousal": round(float(window.arousal), 4)}


def plot_analysis(analysis: EmotionAnalysis, path: str | Path, title: str = "") -> Path:
    """A PNG: the fused emotion over time (stacked), each source's top reading, valence/arousal, confidence."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from avatar.frontend.plot import EMOTION_COLOURS as colours
    from rigs.fileio import atomic_path
    e, fps = analysis.fused.emotion, analysis.fused.fps
    t = np.arange(e.n_frames) / fps
    shown = e.categories * e.intensity[:, None]
    fig = Figure(figsize=(12, 7.5), dpi=100)
    stack, sources, dims = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]})
    stack.stackplot(t, shown.T, colors=[colours[n] for n in EMOTIONS], labels=EMOTIONS)
    stack.set_ylim(0, 1)
    stack.set_ylabel("fused share")
    summary = analysis.summary()
    stack.set_title(title or f"Emotion of {' + '.join(analysis.sources)}: {summary['label']} "
                    f"(confidence {summary['confidence']:.2f}); timing: {analysis.timing}")
    stack.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    for (t0, t1), s in zip(analysis.sentence_times, getattr(analysis.text, "sentences", []), strict=False):
        stack.axvline(t0, color="k", lw=0.6, ls=":")
        stack.text((t0 + t1) / 2, 0.97, s.text[:40] + ("…" if len(s.text) > 40 else ""), ha="center", va="top",
                   fontsize=7, style="italic")
    for name, probs in analysis.fused.per_source.items():
        top = np.nanmax(probs, axis=1)
        label = np.nanargmax(np.nan_to_num(probs, nan=-1), axis=1)
        style = "-" if name == "text" else "--"
        for k, emotion in enumerate(EMOTIONS):
            mask = np.where(label == k, top, np.nan)
            if np.isfinite(mask).any():
                sources.plot(t, mask, style, color=colours[emotion], lw=2)
        sources.plot([], [], style, color="k", label=f"{name}: top probability, coloured by its label")
    sources.plot(t, analysis.fused.confidence, color="k", lw=1, label="fused confidence")
    sources.set_ylim(0, 1.02)
    sources.set_ylabel("per source")
    sources.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    for k, (name, colour) in enumerate(zip(VAD_NAMES, ("tab:green", "tab:red", "tab:blue"), strict=True)):
        dims.plot(t, e.vad[:, k], color=colour, label=name)
    dims.axhline(0, color="0.6", lw=0.6)
    dims.set_ylim(-1, 1)
    dims.set_ylabel("VAD")
    dims.set_xlabel("time (s)")
    dims.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path

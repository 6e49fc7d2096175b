"""The emotion recognizer in the loop: read the generated face's affect, window by window, and re-generate the
windows that do not show the emotion asked for.

The face is cut into windows of WINDOW_S (a short tail joins the window before it). Each window's target is the
category the emotion curve shows most there (categories x intensity averaged over the window; a window that
shows less than NEUTRAL_BELOW of anything targets neutral). Readers give per-frame probabilities over the eight
EMOTIONS: the face-motion recognizer on the track (always), FER on rendered frames (when there is a video; it reads
FER_RATE frames a second, each reading standing for the frames around it, so checking costs a fraction of rendering
the video, and a frame it has read before is not rendered again). A window is verified when its deciding reader's
mean reading has the target as its top-1 with at least CONFIDENCE.
The deciding reader is the first one that can see the target at all: FER2013 has no contempt, so contempt
windows are decided by the face-motion recognizer, and the report says so.

Attempts: attempt 0 is the face as first generated. While windows stay unverified and attempts are left, attempt
k generates those windows again (each with CONTEXT_S of speech around it, so a gesture or a word is never cut at
its edge; `regenerate`) with the intensity raised by INTENSITY_STEP x k (relative, capped at 1), the
emotion guidance raised by GUIDANCE_STEP x k (learned generator), seed + k, and the emotion's share of the face
amplified by 1 + GAIN_STEP x k (`amplify`: the face's difference from the same speech animated at neutral, so the
lips stay as they were and only the expression grows, past what intensity 1 gives); only the unverified windows
are read again. Each window keeps the first attempt that holds, and attempt 0 when none does: an attempt that
still fails is never kept for a higher probability alone, because each attempt escalates (stronger, amplified,
more guided) and a failing one only showed the face further from what the generator made (past intensity 1, the
amplified expressions distort the face) for a reading that still does not hold; the report says which windows did
not verify. The chosen windows are stitched with a BLEND_S cross-fade inside the window that changed. Every window
is read again after stitching; one that fell below its first reading goes back to attempt 0 (or, if it kept
attempt 0, its changed neighbours do), until none is worse: the loop never makes a window worse. The lips are the
same in every attempt: the content does not change, only the emotion's strength and the seed, so stitching never
cuts a word.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from avatar.emotion.timeline import EmotionTimeline
from avatar.emotion.windows import consecutive_windows
from avatar.errors import InputError
from generators.conditioning import EMOTIONS, EmotionFrames
from rigs.face.track import FaceTrack
from rigs.fileio import atomic_path, write_text_atomic

WINDOW_S = 2.0
NEUTRAL_BELOW = 0.15  # a window showing less of every category than this targets neutral
CONFIDENCE = 0.3  # the least mean probability of the target, besides being top-1, for a window to count verified
INTENSITY_STEP = 0.25  # attempt k multiplies the intensity by 1 + INTENSITY_STEP * k (capped at 1)
GUIDANCE_STEP = 1.0  # attempt k adds this x k to the learned generator's emotion guidance scale
GAIN_STEP = 0.5  # attempt k amplifies the expression (the face minus its neutral twin) by 1 + GAIN_STEP * k
BLEND_S = 0.2  # cross-fade between windows taken from different attempts
CONTEXT_S = 1.0  # speech generated either side of a window an attempt re-generates
MAX_ATTEMPTS = 5  # the first face and four more: by attempt 2 the defining shapes reach 1, later ones try other seeds
FER_RATE = 5.0  # frames a second FER reads: an expression holds for a few hundred ms, and every read frame is rendered
SPEECH_APERTURE = 0.07  # lip gap / mouth width at which a FER reading counts e^-1 (speech vowels open 0.1-0.4)
MOUTH_CORNERS = (61, 291)  # MediaPipe FaceMesh lip corners
RENDER_THREADS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass(frozen=True)
class Attempt:
    """How one attempt generates the face: its number, intensity factor, extra emotion guidance and seed."""

    index: int
    intensity_factor: float
    guidance_boost: float
    seed: int
    expression_gain: float = 1.0

    @classmethod
    def number(cls, k: int, seed: int) -> Attempt:
        """The k-th attempt (0: as asked)."""
        return cls(k, 1.0 + INTENSITY_STEP * k, GUIDANCE_STEP * k, seed + k, 1.0 + GAIN_STEP * k)

    def emotion(self, emotion: EmotionFrames) -> EmotionFrames:
        """The emotion curve with this attempt's intensity."""
        return replace(emotion, intensity=np.clip(emotion.intensity * self.intensity_factor, 0.0, 1.0))


@dataclass(frozen=True)
class Reader:
    """A recognizer in the loop: read(track, start, end) -> its EmotionTimeline of frames start..end."""

    name: str
    read: Callable[[FaceTrack, int, int], EmotionTimeline]
    sees: frozenset[str] = frozenset(EMOTIONS)  # the categories it can recognize at all


@dataclass
class WindowResult:
    """What the loop did in one window."""

    start: int  # frames
    end: int
    target: str
    reader: str  # the deciding reader
    attempts: list[dict] = field(default_factory=list)  # per attempt: its settings, label and target probability
    chosen: int = 0
    before: dict[str, dict] = field(default_factory=dict)  # reader -> {"label", "prob" (of the target), "probs"}
    after: dict[str, dict] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        reading = self.after[self.reader]
        return reading["label"] == self.target and reading["prob"] >= CONFIDENCE


@dataclass
class VerificationReport:
    """The loop's record: windows, readers, and the per-frame readings of the final face (for the plot)."""

    fps: float
    windows: list[WindowResult]
    readers: list[str]
    target: np.ndarray  # (T, 8) shown emotion (categories x intensity)
    final_readings: dict[str, EmotionTimeline]  # reader -> its reading of all T frames
    first_readings: dict[str, EmotionTimeline]
    notes: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(w.verified for w in self.windows)

    def status(self) -> str:
        """One plain line: how many windows hold, and which stayed unverified and why."""
        bad = [w for w in self.windows if not w.verified]
        line = f"emotion verified in {len(self.windows) - len(bad)} of {len(self.windows)} windows"
        if bad:
            line += "; unverified: " + "; ".join(
                f"{w.start / self.fps:.1f}-{w.end / self.fps:.1f} s ({w.target} read as {w.after[w.reader]['label']} "
                f"by {w.reader}, {w.target} {w.after[w.reader]['prob']:.2f})" for w in bad)
        return line

    def to_json(self) -> dict:
        """The report as JSON-ready data."""
        return {
            "verified": self.verified,
            "status": self.status(),
            "readers": self.readers,
            "confidence": CONFIDENCE,
            "window_s": WINDOW_S,
            "notes": self.notes,
            "windows": [{
                "start": round(w.start / self.fps, 3), "end": round(w.end / self.fps, 3), "target": w.target,
                "reader": w.reader, "verified": w.verified, "chosen_attempt": w.chosen, "attempts": w.attempts,
                "before": w.before, "after": w.after} for w in self.windows],
        }

    def save(self, json_path: str | Path, png_path: str | Path | None = None) -> None:
        """Write report.json (and the plot) atomically."""
        write_text_atomic(json_path, json.dumps(self.to_json(), indent=1) + "\n")
        if png_path is not None:
            plot_report(self, png_path)


def amplify(face: FaceTrack, neutral: FaceTrack, gain: float) -> FaceTrack:
    """The face with its expression (its difference from `neutral`, the same speech animated at neutral with the
    same seed) multiplied by gain; head and gaze as in `face`. Weights stay in [0, 1]."""
    if neutral.n_frames != face.n_frames:
        raise ValueError(f"amplify: the neutral face has {neutral.n_frames} frames, the face {face.n_frames}")
    weights = neutral.weights + gain * (face.weights - neutral.weights)
    return FaceTrack(np.clip(weights, 0.0, 1.0).astype(np.float32), face.fps, face.head.copy(), face.gaze.copy())


def regenerate(face: FaceTrack, spans: Sequence[tuple[int, int]], make: Callable[[int, int], FaceTrack],
               context_s: float = CONTEXT_S) -> FaceTrack:
    """`face` with the frames of `spans` made again: make(a, b) generates frames a..b, each span widened by
    context_s either side (spans that then meet are generated together), and its frames replace the face's."""
    context = int(round(context_s * face.fps))
    ranges: list[list[int]] = []
    for a, b in sorted(spans):
        a, b = max(0, a - context), min(face.n_frames, b + context)
        if ranges and a <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], b)
        else:
            ranges.append([a, b])
    weights, head, gaze = face.weights.copy(), face.head.copy(), face.gaze.copy()
    for a, b in ranges:
        piece = make(a, b)
        if piece.n_frames != b - a:
            raise RuntimeError(f"re-generating frames {a}..{b} made {piece.n_frames} frames instead of {b - a}")
        weights[a:b], head[a:b], gaze[a:b] = piece.weights, piece.head, piece.gaze
    return FaceTrack(weights, face.fps, head, gaze)


def window_target(emotion: EmotionFrames, start: int, end: int) -> str:
    """The category the curve shows most in frames start..end (neutral if it shows little of anything)."""
    shown = (emotion.categories[start:end] * emotion.intensity[start:end, None]).mean(0)
    best = int(np.argmax(shown))
    return EMOTIONS[best] if shown[best] >= NEUTRAL_BELOW else "neutral"


def _reading(reading: EmotionTimeline, target: str) -> dict:
    mean = reading.mean()
    return {"label": EMOTIONS[int(np.argmax(mean))], "prob": round(float(mean[EMOTIONS.index(target)]), 4),
            "probs": {name: round(float(p), 4) for name, p in zip(EMOTIONS, mean, strict=True)}}


def _stitch(tracks: Sequence[FaceTrack], choice: Sequence[int], spans: Sequence[tuple[int, int]],
            blend: int) -> FaceTrack:
    """One face from per-window chosen attempts, cross-faded over `blend` frames where the attempt changes.

    Each ramp lies inside the window that takes a new attempt (the later one when both do), so a window that
    keeps the first face keeps it frame for frame.
    """
    n = tracks[0].n_frames
    mix = np.zeros((len(tracks), n))
    for k, (a, b) in zip(choice, spans, strict=True):
        mix[k, a:b] = 1.0
    for i in range(1, len(spans)):
        left, right = choice[i - 1], choice[i]
        if left == right:
            continue
        edge = spans[i][0]
        width = max(1, min(blend, (spans[i][1] - spans[i][0]) // 2, (spans[i - 1][1] - spans[i - 1][0]) // 2))
        frames = np.arange(edge, edge + width) if right else np.arange(edge - width, edge)
        rise = (np.arange(width) + 1) / (width + 1)  # the right window's attempt fades in over the ramp
        mix[:, frames] = 0.0
        mix[left, frames] += 1 - rise
        mix[right, frames] += rise
    weights = sum(m[:, None] * t.weights for m, t in zip(mix, tracks, strict=True))
    head = sum(m[:, None] * t.head for m, t in zip(mix, tracks, strict=True))
    gaze = sum(m[:, None] * t.gaze for m, t in zip(mix, tracks, strict=True))
    return FaceTrack(np.clip(weights, 0, 1).astype(np.float32), tracks[0].fps, head.astype(np.float32),
                     gaze.astype(np.float32))


def verify_face(face: FaceTrack, emotion: EmotionFrames,
                generate: Callable[[Attempt, list[tuple[int, int]]], FaceTrack],
                readers: Sequence[Reader], max_attempts: int = MAX_ATTEMPTS, seed: int = 0,
                window_s: float = WINDOW_S,
                progress: Callable[[str, float], None] | None = None) -> tuple[FaceTrack, VerificationReport]:
    """Check `face` against `emotion` window by window and re-generate what does not hold (see the module doc).

    generate(attempt, spans) makes the face of an Attempt (attempt 0 is `face` itself and is never asked for), a
    track as long as `face` of which only the frames of `spans` (the windows still open) are read, so it may make
    just those (`regenerate`). Returns the final face and the report.
    """
    if max_attempts < 1:
        raise InputError(f"max attempts is {max_attempts}; give 1 (check only) or more")
    if not readers:
        raise InputError("verification needs at least one recognizer")
    if emotion.n_frames != face.n_frames:
        raise InputError(f"the emotion curve has {emotion.n_frames} frames, the face {face.n_frames}")
    if face.n_frames < 1:
        raise InputError("verification: the face track has no frames")
    step = progress or (lambda stage, fraction: None)
    spans = consecutive_windows(face.n_frames, face.fps, window_s)
    results, notes = [], []
    for a, b in spans:
        target = window_target(emotion, a, b)
        reader = next((r for r in readers if target in r.sees), None)
        if reader is None:
            raise InputError(f"no recognizer in the loop can see {target}; add the face-motion recognizer")
        if reader is not readers[0]:
            notes.append(f"{a / face.fps:.1f}-{b / face.fps:.1f} s: {target} is decided by {reader.name}: "
                         f"{readers[0].name} has no {target} class")
        results.append(WindowResult(a, b, target, reader.name))
    by_name = {r.name: r for r in readers}

    def read_all(track: FaceTrack, which: Sequence[int]) -> dict[str, dict[int, EmotionTimeline]]:
        return {r.name: {i: r.read(track, *spans[i]) for i in which} for r in readers}

    tracks = [face]
    first = read_all(face, range(len(spans)))
    for i, w in enumerate(results):
        w.before = {name: _reading(first[name][i], w.target) for name in first}
        w.attempts.append({**_describe(Attempt.number(0, seed)), "label": w.before[w.reader]["label"],
                           "prob": w.before[w.reader]["prob"]})
        w.after = w.before
    step("verify", 1 / max_attempts)
    for k in range(1, max_attempts):
        open_windows = [i for i, w in enumerate(results) if not _holds(w.attempts[w.chosen], w.target)]
        if not open_windows:
            break
        attempt = Attempt.number(k, seed)
        track = generate(attempt, [spans[i] for i in open_windows])
        if track.n_frames != face.n_frames:
            raise RuntimeError(f"attempt {k} made {track.n_frames} frames instead of {face.n_frames}")
        tracks.append(track)
        for i in open_windows:
            w = results[i]
            reading = _reading(by_name[w.reader].read(track, *spans[i]), w.target)
            w.attempts.append({**_describe(attempt), "label": reading["label"], "prob": reading["prob"]})
            if _holds(reading, w.target):  # open windows have not held yet: this is the first attempt that does
                w.chosen = len(w.attempts) - 1
        step("verify", (k + 1) / max_attempts)

    # Attempt numbers of the chosen entries map to tracks: window i tried attempt 0 and then every later attempt.
    choice = [w.attempts[w.chosen]["attempt"] for w in results]
    blend = max(1, int(round(BLEND_S * face.fps)))
    final = _stitch(tracks, choice, spans, blend) if any(choice) else face
    after = read_all(final, range(len(spans)))
    while True:  # ends: choices only go back to 0, and with all at 0 the final face is the first one
        worse = [i for i, w in enumerate(results)
                 if _reading(after[w.reader][i], w.target)["prob"] < w.before[w.reader]["prob"]]
        if not worse:
            break
        for i in worse:  # a new attempt that lost ground, or a neighbour's whose context cost this window
            for j in ([i] if choice[i] else [j for j in (i - 1, i + 1) if 0 <= j < len(spans) and choice[j]]):
                choice[j], results[j].chosen = 0, 0
        final = _stitch(tracks, choice, spans, blend) if any(choice) else face
        after = read_all(final, range(len(spans)))
    for i, w in enumerate(results):
        w.after = {name: _reading(after[name][i], w.target) for name in after}
    shown = emotion.categories * emotion.intensity[:, None]
    frames = lambda readings: {  # noqa: E731
        name: EmotionTimeline.concatenate([readings[name][i] for i in range(len(spans))]) for name in readings}
    report = VerificationReport(face.fps, results, [r.name for r in readers], shown, frames(after), frames(first),
                                notes)
    return final, report


def _holds(attempt: dict, target: str) -> bool:
    return attempt["label"] == target and attempt["prob"] >= CONFIDENCE


def _describe(attempt: Attempt) -> dict:
    return {"attempt": attempt.index, "seed": attempt.seed, "intensity_factor": round(attempt.intensity_factor, 3),
            "guidance_boost": attempt.guidance_boost, "expression_gain": round(attempt.expression_gain, 3)}


def plot_report(report: VerificationReport, path: str | Path) -> Path:
    """PNG: per reader, the target's share over time against what the reader recognized, windows marked."""
    from matplotlib.figure import Figure

    from avatar.frontend.plot import EMOTION_COLOURS

    n = len(report.target)
    t = np.arange(n) / report.fps
    height = 2.2 * (len(report.readers) + 1)
    fig = Figure(figsize=(11, height), dpi=90)
    # Fixed margins (in inches) instead of tight_layout, which lays the figure out twice: a third of the plot's
    # time, paid by every render and every batch job.
    fig.subplots_adjust(left=0.8 / 11, right=1 - 0.2 / 11, top=1 - 0.4 / height, bottom=0.5 / height, hspace=0.25)
    axes = fig.subplots(len(report.readers) + 1, 1, sharex=True, squeeze=False)
    axes = axes[:, 0]
    for j, name in enumerate(EMOTIONS):
        if report.target[:, j].max() > 0.01:
            axes[0].plot(t, report.target[:, j], color=EMOTION_COLOURS[name], lw=2, label=name)
    axes[0].set_ylabel("target")
    axes[0].set_ylim(0, 1.05)
    axes[0].legend(loc="upper right", fontsize=7, ncol=4)
    for ax, reader in zip(axes[1:], report.readers, strict=True):
        final, first = report.final_readings[reader].probs, report.first_readings[reader].probs
        for j, name in enumerate(EMOTIONS):
            if final[:, j].max() > 0.05 or first[:, j].max() > 0.05:
                ax.plot(t, final[:, j], color=EMOTION_COLOURS[name], lw=1.3, label=name)
                ax.plot(t, first[:, j], color=EMOTION_COLOURS[name], lw=0.8, ls=":")
        ax.set_ylabel(reader)
        ax.set_ylim(0, 1.05)
        ax.legend(loc="upper right", fontsize=7, ncol=4)
    for w in report.windows:
        a, b = w.start / report.fps, w.end / report.fps
        for ax in axes[1:]:
            ax.axvspan(a, b, color="tab:green" if w.verified else "tab:red", alpha=0.08, lw=0)
            ax.axvline(a, color="0.7", lw=0.5)
        axes[0].text((a + b) / 2, 1.0, f"{w.target}\n{len(w.attempts)} att., took {w.chosen}", ha="center",
                     va="top", fontsize=6)
    axes[-1].set_xlabel("seconds (solid: final; dotted: first attempt; green/red: verified or not)")
    fig.suptitle(report.status(), fontsize=8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def rendered_face_reader(talking_head, recognizer, rate: float = FER_RATE) -> Reader:
    """FER2013 (`recognizer`, a FaceExpressionRecognizer) on frames rendered by `talking_head` (a
    TalkingHeadRenderer), `rate` frames a second, cropped from the landmarks the renderer drew.

    Speech opens the mouth for its words, and FER2013 learned from still photos, where an open mouth showing teeth
    is mostly anger, fear or surprise: on a talking face it reads the words as those. So it judges the expression
    where speech moves the mouth least: of each 1/rate s it reads the frame whose lips are closest (the drawn
    landmarks cost no pixels), and a reading's confidence falls with how far its lips are apart (`speech_free`).
    Frames are rendered independently of each other, so a frame's reading depends on its own weights, head and
    gaze alone: readings are kept by those, and a frame seen before (a window no attempt changed, read again
    after stitching) is neither rendered nor read twice.
    """
    seen: dict[bytes, tuple[np.ndarray, float]] = {}

    def read(track: FaceTrack, start: int, end: int) -> EmotionTimeline:
        stride = max(1, int(round(track.fps / rate)))
        part = FaceTrack(track.weights[start:end], track.fps, track.head[start:end], track.gaze[start:end])
        aperture = lip_aperture(talking_head.landmarks(part))
        picked = np.array([a + int(np.argmin(aperture[a:a + stride])) for a in range(0, end - start, stride)])
        keys = [track.weights[t].tobytes() + track.head[t].tobytes() + track.gaze[t].tobytes()
                for t in picked + start]
        new: dict[bytes, int] = {}  # frames not read before, by what they show
        for t, key in zip(picked, keys, strict=True):
            if key not in seen:
                new.setdefault(key, int(t))
        if new:
            frames = [start + t for t in new.values()]
            rendered = talking_head.render(FaceTrack(track.weights[frames], track.fps, track.head[frames],
                                                     track.gaze[frames]), threads=RENDER_THREADS)
            readings = recognizer.predict_frames(rendered.frames, rendered.landmarks)
            trust = speech_free(lip_aperture(rendered.landmarks))
            seen.update((key, (reading.categories, float(w)))
                        for key, reading, w in zip(new, readings, trust, strict=True))
        probs = np.stack([seen[key][0] for key in keys])
        trust = np.array([seen[key][1] for key in keys])
        # Each reading stands for the `stride` frames of its stretch.
        stretch = np.arange(end - start) // stride
        return EmotionTimeline(track.fps, probs[stretch].astype(np.float64), trust[stretch])

    return Reader("FER", read, frozenset(EMOTIONS) - {"contempt"})


def lip_aperture(landmarks: np.ndarray) -> np.ndarray:
    """(T,) how far the lips are apart in the middle, over the mouth's width, for drawn landmarks (T, 478, 2)."""
    from generators.talking_head.mouth import inner_lip_gap

    landmarks = np.asarray(landmarks, np.float64)
    width = np.linalg.norm(landmarks[:, MOUTH_CORNERS[0], :2] - landmarks[:, MOUTH_CORNERS[1], :2], axis=-1)
    return inner_lip_gap(landmarks) / np.maximum(width, 1e-6)


def speech_free(aperture: np.ndarray) -> np.ndarray:
    """How much a FER reading counts: 1 with the lips together, e^-1 at SPEECH_APERTURE, never quite 0 (a window
    whose every frame is open-mouthed, e.g. surprise's dropped jaw, is still judged, on its least open frames)."""
    return np.exp(-np.asarray(aperture, np.float64) / SPEECH_APERTURE) + 1e-3


def face_motion_reader() -> Reader:
    """The face-motion recognizer (FACS on the ARKit track) as a loop reader; sees all eight categories."""
    from avatar.recognizers.face_motion import FaceMotionRecognizer

    recognizer, last = FaceMotionRecognizer.from_pretrained(), {}

    def read(track: FaceTrack, start: int, end: int) -> EmotionTimeline:
        # Read the whole track once (its filters need context beyond a window's edges), then slice.
        if last.get("track") is not track:
            last.update(track=track, timeline=recognizer.read(track))
        return last["timeline"].frames(start, end)

    return Reader("face motion", read)

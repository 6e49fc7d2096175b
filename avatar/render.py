"""`avatar render` as a function: speech in; face and body tracks, their files, a preview video and a report out.

Output files (stable names, in the output folder):
  face    -> face.csv (Live Link Face), face.json (ARKit, BEAT layout), face.glb (mesh + 52 morph targets)
  body    -> body.bvh, body.glb (skinned capsule body)
  preview -> preview.mp4 (face and body side by side, H.264 with the speech)
  always  -> render.json (inputs, emotion, style, seed, frames, files, timings); speech.wav when the speech was
             synthesized; emotion.json and emotion.png (what the recognizers read) with emotion "auto"

The emotion is one of: a label held at an intensity; keyframes ("0 s neutral, 2 s anger 0.8"), which win over the
label; or "auto", the fused estimate of the speech and text recognizers (avatar/analysis.py), its probabilities
scaled by the intensity. The style (avatar/frontend/style.py) is read from the speech itself, or from a separate
reference clip, and sets the animators' knobs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from avatar import __version__
from avatar.emotion import check_emotion, check_intensity, constant_emotion, from_keyframes, parse_keyframes
from avatar.errors import InputError
from avatar.frontend.audio import Audio
from avatar.frontend.speech import SpeechContent
from avatar.frontend.style import Style, estimate_style
from generators.procedural.body import animate_body
from generators.procedural.face import animate_face
from rigs.fileio import write_text_atomic
from rigs.formats.export import export

OUTPUTS: tuple[str, ...] = ("face", "body", "preview")
FILES = {"face": ("face.csv", "face.json", "face.glb"), "body": ("body.bvh", "body.glb"), "preview": ("preview.mp4",)}


def parse_outputs(outputs: str | Iterable[str]) -> tuple[str, ...]:
    """Output kinds from a list or a comma-separated string, checked."""
    names = [o.strip().lower() for o in (outputs.split(",") if isinstance(outputs, str) else outputs) if o.strip()]
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown or not names:
        raise InputError(f"unknown output(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(OUTPUTS)}")
    return tuple(name for name in OUTPUTS if name in names)


def check_emotion_request(emotion: str, intensity: float, keyframes: str | None = None) -> str:
    """The canonical emotion label ("auto" allowed), after checking intensity and keyframes; clear errors."""
    check_intensity(intensity)
    if keyframes is not None:
        parse_keyframes(keyframes, intensity)
    return "auto" if str(emotion).strip().lower() == "auto" else check_emotion(emotion)


def emotion_curve(speech: SpeechContent, emotion: str, intensity: float, keyframes: str | None = None):
    """The emotion curve on the speech's frame clock, a description for the report, and the analysis (auto only)."""
    n, fps = speech.features.n_frames, speech.fps
    if keyframes is not None:
        keys = parse_keyframes(keyframes, intensity)
        described = {"keyframes": [{"time": k.time, "label": k.label, "intensity": k.intensity} for k in keys]}
        return from_keyframes(keys, n, fps), described, None
    if emotion == "auto":
        from avatar.analysis import analyze_emotion
        from avatar.emotion import from_display

        analysis = analyze_emotion(speech.audio, speech.alignment.transcript or None, speech.alignment, fps)
        fused = analysis.fused.emotion
        shown = fused.categories[:n] * fused.intensity[:n, None] * intensity
        curve = from_display(np.pad(shown, ((0, n - len(shown)), (0, 0)), mode="edge"))
        summary = analysis.summary()
        return curve, {"label": "auto", "intensity": intensity, "recognized": summary["label"],
                       "confidence": summary["confidence"], "sources": analysis.sources}, analysis
    return constant_emotion(emotion, intensity, n), {"label": emotion, "intensity": intensity}, None


GENERATORS = ("procedural", "learned")


def load_generator(name: str) -> Callable:
    """animate(content, emotion, seed, style) -> (face, body) of the named generator; clear errors."""
    if name not in GENERATORS:
        raise InputError(f"unknown generator {name!r}; choose one of: {', '.join(GENERATORS)}")
    if name == "procedural":
        return lambda content, emotion, seed, style: (
            animate_face(content, emotion, seed, style and style.face_style()),
            animate_body(content, emotion, seed, style and style.body_style()))
    from generators.learned.animate import LearnedAnimator, MissingCheckpointError

    try:
        learned = LearnedAnimator.from_pretrained()
    except MissingCheckpointError as error:
        raise InputError(str(error)) from None
    return lambda content, emotion, seed, style: learned.animate(content, emotion, seed,
                                                                 None if style is None else style.vector())


def speaking_style(speech: SpeechContent, reference: Audio | None = None) -> Style | None:
    """The reference clip's style (its errors are the user's), else the speech's own, else None (default knobs).

    A reference clip is read from its audio alone: no transcript is needed, and none is recognized.
    """
    if reference is not None:
        return estimate_style(reference)
    try:
        return estimate_style(speech.audio, speech.alignment)
    except InputError:  # a very short clip: animate with the default style rather than fail
        return None


def render(speech: SpeechContent, out_dir: str | Path, *, emotion: str = "neutral", intensity: float = 0.8,
           keyframes: str | None = None, style_reference: Audio | None = None, seed: int = 0,
           outputs: str | Iterable[str] = OUTPUTS, audio_path: str | Path | None = None, inputs: dict | None = None,
           generator: str = "procedural", progress: Callable[[str, float], None] | None = None) -> dict:
    """Animate `speech`, write the chosen outputs into out_dir and return the report.

    `generator` is "procedural" or "learned" (the latent-diffusion checkpoint); `emotion` is a label or "auto";
    `keyframes` ("0 s neutral, 2 s anger 0.8") win over it; `style_reference` is another clip whose speaking style
    drives the animators (default: the speech's own). `audio_path` is the speech file muxed into the preview;
    `inputs` describes the request for the report; `progress(stage, fraction)` is called as the work goes on.
    """
    outputs = parse_outputs(outputs)
    emotion = check_emotion_request(emotion, intensity, keyframes)
    animate = load_generator(generator)
    out = Path(out_dir)
    report = progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}

    def timed(stage: str, work):
        report(stage, 0.0)
        start = time.perf_counter()
        result = work()
        timings[stage] = round(time.perf_counter() - start, 3)
        report(stage, 1.0)
        return result

    content = speech.content()
    emotion_frames, described, analysis = timed("emotion", lambda: emotion_curve(speech, emotion, intensity,
                                                                                 keyframes))
    style = timed("style", lambda: speaking_style(speech, style_reference))
    face, body = timed("motion", lambda: animate(content, emotion_frames, seed, style))
    files: list[str] = []
    if analysis is not None:
        from avatar.analysis import plot_analysis

        write_text_atomic(out / "emotion.json", json.dumps(analysis.to_json(), indent=1) + "\n")
        plot_analysis(analysis, out / "emotion.png")
        files += ["emotion.json", "emotion.png"]
    if "face" in outputs:
        files += [p.name for p in timed("face files", lambda: export(face, ["csv", "json", "glb"], out))]
    if "body" in outputs:
        files += [p.name for p in timed("body files", lambda: export(body, ["bvh", "glb"], out))]
    if "preview" in outputs:
        from generators.render.preview import write_preview

        if audio_path is None:
            raise InputError("the preview needs the speech as a file to put in the video; pass audio_path")
        timed("preview", lambda: write_preview(out / "preview.mp4", face, body, audio_path,
                                               progress=lambda done, total: report("preview", done / total)))
        files.append("preview.mp4")

    if audio_path is not None and Path(audio_path).resolve().parent == out.resolve():
        files.insert(0, Path(audio_path).name)  # speech we synthesized into the folder
    summary = {
        "version": __version__,
        "generator": generator,
        "inputs": inputs or {},
        "emotion": described,
        "style": ({"source": "reference clip" if style_reference is not None else "the speech", **style.as_dict()}
                  if style else {"source": "default (too little voiced speech to read a style from)"}),
        "seed": seed,
        "fps": content.fps,
        "frames": content.n_frames,
        "duration_s": round(speech.audio.duration, 3),
        "transcript": speech.alignment.transcript,
        "transcript_source": speech.alignment.transcript_source,
        "alignment_notes": list(speech.alignment.notes),
        "outputs": list(outputs),
        "files": files + ["render.json"],
        "timings_s": timings,
    }
    write_text_atomic(out / "render.json", json.dumps(summary, indent=1) + "\n")
    return summary

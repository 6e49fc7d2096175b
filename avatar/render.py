"""`avatar render` as a function: speech in; face and body tracks, their files, a preview video and a report out.

Output files (stable names, in the output folder):
  face    -> face.csv (Live Link Face), face.json (ARKit, BEAT layout), face.glb (mesh + 52 morph targets)
  body    -> body.bvh, body.glb (skinned capsule body)
  preview -> preview.mp4 (face and body side by side, H.264 with the speech)
  always  -> render.json (inputs, emotion, seed, frames, files, timings); speech.wav when the speech was synthesized
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from avatar import __version__
from avatar.emotion import check_emotion, check_intensity, constant_emotion
from avatar.errors import InputError
from avatar.frontend.speech import SpeechContent
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


def render(speech: SpeechContent, out_dir: str | Path, *, emotion: str = "neutral", intensity: float = 0.8,
           seed: int = 0, outputs: str | Iterable[str] = OUTPUTS, audio_path: str | Path | None = None,
           inputs: dict | None = None, progress: Callable[[str, float], None] | None = None) -> dict:
    """Animate `speech` with one emotion, write the chosen outputs into out_dir and return the report.

    `audio_path` is the speech file muxed into the preview; `inputs` describes the request for the report;
    `progress(stage, fraction)` is called as the work goes on.
    """
    outputs = parse_outputs(outputs)
    emotion, intensity = check_emotion(emotion), check_intensity(intensity)
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
    emotion_frames = constant_emotion(emotion, intensity, content.n_frames)
    face = timed("face", lambda: animate_face(content, emotion_frames, seed))
    body = timed("body", lambda: animate_body(content, emotion_frames, seed))
    files: list[str] = []
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
        "generator": "procedural",
        "inputs": inputs or {},
        "emotion": {"label": emotion, "intensity": intensity},
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

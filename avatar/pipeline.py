"""AvatarPipeline: speech (or text) in; face, body, talking-head video and the verification report out.

The one pipeline behind every surface (the CLI's `avatar render`, the Gradio page, batch jobs, scripts), in plain
stages: speech (TTS for text) -> alignment and features -> emotion curve and style -> motion (learned or
procedural) -> the recognizer in the loop (avatar/verification.py) -> files.

    from avatar.pipeline import AvatarPipeline

    pipe = AvatarPipeline.from_pretrained()                       # the shipped models (the learned generator)
    result = pipe(text="Hello there!", emotion="happiness", intensity=0.8, outputs=("face", "body", "video"))
    result.face, result.body, result.report.status()
    result.save("out/")                                           # face.csv, face.json, ..., video.mp4, report.json

Emotion (one of, later ones winning): `emotion` = a label or "auto" (what the speech and text recognizers read),
`vad` = a (valence, arousal, dominance) point, `emotion_keyframes` = "0 s neutral, 2 s anger 0.8". Outputs: face
(face.csv, face.json, face.glb), body (body.bvh, body.glb), preview (preview.mp4: the 3-D face beside the body),
video (video.mp4: the portrait talking, `size` x `size` H.264 with the speech, 512 unless asked for, 256-1024;
video_body.mp4 beside the body preview).
With `verify` (the default) the face-motion recognizer checks the face track, and FER the rendered video when
there is one; windows that do not show the target are re-generated (up to `max_attempts`), and report.json /
report.png say what held.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avatar import __version__
from avatar.emotion import constant_emotion, from_vad
from avatar.errors import InputError
from avatar.frontend.audio import Audio, save_wav
from avatar.frontend.speech import SpeechContent, analyze_speech
from avatar.frontend.style import Style
from avatar.frontend.tts import check_voice
from avatar.outputs import check_output_folder, folder_written_whole
from avatar.request import VIDEO_SIZE, RenderRequest, check_request, parse_outputs
from avatar.stages import Animator, emotion_curve, speaking_style
from avatar.startup import long_lived
from avatar.verification import (
    MAX_ATTEMPTS,
    RENDER_THREADS,
    Attempt,
    Reader,
    VerificationReport,
    amplify,
    face_motion_reader,
    regenerate,
    rendered_face_reader,
    verify_face,
)
from generators import DEFAULT_GENERATOR
from generators.conditioning import EmotionFrames
from rigs.body.track import BodyTrack
from rigs.clock import check_fps
from rigs.face.track import FaceTrack
from rigs.fileio import write_text_atomic
from rigs.formats.export import export

Progress = Callable[[str, float], None]


@dataclass
class AvatarResult:
    """What one call made: the speech, the emotion curve, the tracks, the verification and how to write it all.

    The tracks are on the pipeline's fps; the speech, the emotion curve and the report on the clock the generator
    made the motion on (the learned generator's 30 fps; the procedural animators take the pipeline's).
    """

    speech: SpeechContent
    emotion: EmotionFrames
    face: FaceTrack
    body: BodyTrack
    outputs: tuple[str, ...]
    summary: dict  # inputs, emotion, style, seed, generator: the render.json report without files and timings
    style: Style | None = None
    analysis: object | None = None  # EmotionAnalysis with emotion "auto"
    report: VerificationReport | None = None
    talking_head: object | None = None  # TalkingHeadRenderer when the video is an output
    speech_file: Path | None = None  # the input file, when the speech came from one
    timings: dict[str, float] = field(default_factory=dict)

    def video_frames(self) -> Iterator[np.ndarray]:
        """The talking-head frames (512x512x3 uint8), rendered as they are read."""
        if self.talking_head is None:
            raise InputError("this result has no video: ask for outputs including 'video'")
        return (frame for frame, _ in self.talking_head.frames(self.face))

    def save(self, out_dir: str | os.PathLike, formats: Iterable[str] | str | None = None,
             progress: Progress | None = None, replace: bool = False) -> dict:
        """Write the outputs (default: those asked for) into out_dir, with render.json; returns it.

        The folder is the render's own (avatar/outputs.py): written beside and swapped in whole, so after an error
        or an interruption it is as it was before. A folder holding other files than a render's is refused, unless
        `replace` says it may go whole (batch job folders).
        """
        given = self.summary["inputs"]
        inputs = [path for path in (self.speech_file, given.get("portrait"), given.get("style_reference"))
                  if path is not None and Path(path).exists()]
        check_output_folder(out_dir, "output folder", inputs, replace=replace)
        with folder_written_whole(out_dir) as folder:
            return self._write(folder, formats, progress)

    def _write(self, out_dir: Path, formats: Iterable[str] | str | None = None,
               progress: Progress | None = None) -> dict:
        """Write the outputs into the fresh folder out_dir (see save)."""
        formats = self.outputs if formats is None else parse_outputs(formats)
        if "video" in formats and self.talking_head is None:
            raise InputError("the video was not rendered in this result: call the pipeline with outputs "
                             "including 'video'")
        out = Path(out_dir)
        step = progress or (lambda stage, fraction: None)
        timings = dict(self.timings)
        files: list[str] = []
        speech_file = self.speech_file  # what the videos carry as their sound
        if speech_file is None:
            speech_file = save_wav(self.speech.audio, out / "speech.wav")
            files.append("speech.wav")
        videos = [name for name in ("preview", "video") if name in formats]
        frames_done = dict.fromkeys(videos, 0)
        lock = threading.Lock()

        def rendered(name: str, done: int, total: int) -> None:  # one progress stage for both videos
            with lock:
                frames_done[name] = done
                step("videos", sum(frames_done.values()) / (total * len(videos)))

        def timed(stage: str, work):
            started = time.perf_counter()
            value = work()
            timings[stage] = round(time.perf_counter() - started, 3)
            return value

        def write_files() -> list[str]:
            written = []
            if self.analysis is not None:
                from avatar.analysis import plot_analysis

                write_text_atomic(out / "emotion.json", json.dumps(self.analysis.to_json(), indent=1) + "\n")
                plot_analysis(self.analysis, out / "emotion.png")
                written += ["emotion.json", "emotion.png"]
            if "face" in formats:
                written += [p.name for p in export(self.face, ["csv", "json", "glb"], out)]
            if "body" in formats:
                written += [p.name for p in export(self.body, ["bvh", "glb"], out)]
            if self.report is not None:
                self.report.save(out / "report.json", out / "report.png")
                written += ["report.json", "report.png"]
            return written

        def write_preview() -> None:
            from generators.render.preview import write_preview

            write_preview(out / "preview.mp4", self.face, self.body, speech_file,
                          progress=lambda done, total: rendered("preview", done, total))

        def write_video() -> None:
            from generators.talking_head import render_video

            render_video(out / "video.mp4", self.talking_head, self.face, speech_file,
                         progress=lambda done, total: rendered("video", done, total), threads=RENDER_THREADS)

        def beside_the_video() -> list[str]:
            written = timed("files", write_files)
            if "preview" in formats:
                timed("preview", write_preview)
            return written

        # The files and the 3-D preview are made on a second thread while this one renders the talking head (itself
        # on RENDER_THREADS threads, so no core idles once the preview is done): the heavy parts (numba kernels,
        # OpenCV, numpy, the ffmpeg encoders) run outside the GIL, so the two videos share the cores. BLAS gets one
        # thread: its small per-chunk products would wake worker threads that then spin on the core the other video
        # needs.
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(1, thread_name_prefix="avatar-save") as side:
            side_work = side.submit(beside_the_video)
            try:
                if "video" in formats:
                    timed("video", write_video)
            finally:
                files += side_work.result()  # waits for the second thread, and raises its error
        timings["save"] = round(time.perf_counter() - started, 3)
        files += [f"{name}.mp4" for name in videos]
        summary = {**self.summary, "outputs": list(formats), "files": files + ["render.json"], "timings_s": timings}
        write_text_atomic(out / "render.json", json.dumps(summary, indent=1) + "\n")
        return summary


class AvatarPipeline:
    """The engine as one callable: load once (models, voice, portrait), call for each input."""

    def __init__(self, generator: str = DEFAULT_GENERATOR, fps: float = 30.0, voice: str = "joe",
                 checkpoint: str | os.PathLike | None = None):
        fps = check_fps(fps)  # the arguments first: a bad one should not wait for the models to load
        check_voice(voice)
        with long_lived():
            self.animator = Animator.load(generator, checkpoint)
        self.generator, self.fps, self.voice = generator, fps, voice
        self._portraits: dict[tuple[str, int], object] = {}
        self._fer = None

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, generator: str | None = None,
                        **kwargs) -> AvatarPipeline:
        """The shipped models (path None), or the learned generator from a checkpoint folder (path given)."""
        if path is not None and generator not in (None, "learned"):
            raise InputError(f"a checkpoint path is for the learned generator, not {generator!r}")
        return cls("learned" if path is not None else generator or DEFAULT_GENERATOR, checkpoint=path, **kwargs)

    def __call__(self, audio: str | os.PathLike | Audio | None = None, text: str | None = None, *,
                 transcript: str | None = None, emotion: str = "neutral", intensity: float = 0.8,
                 vad: tuple[float, float, float] | None = None, emotion_keyframes: str | None = None,
                 style_reference: str | os.PathLike | Audio | None = None, portrait=None, seed: int = 0,
                 outputs: Iterable[str] | str = ("face", "body"), verify: bool = True,
                 max_attempts: int = MAX_ATTEMPTS, size: int = VIDEO_SIZE, progress: Progress | None = None
                 ) -> AvatarResult:
        """Animate speech (an audio file, an Audio or (samples, sample_rate)) or text (spoken by the offline voice);
        see the module doc. Every argument is checked first (avatar/request.py): InputError names a bad one."""
        if progress is not None and not callable(progress):
            raise InputError(f"progress is {type(progress).__name__}; give a function (stage, fraction) or None")
        return self.render(check_request(audio, text, transcript=transcript, emotion=emotion, intensity=intensity,
                                         vad=vad, emotion_keyframes=emotion_keyframes,
                                         style_reference=style_reference, portrait=portrait, seed=seed,
                                         outputs=outputs, verify=verify, max_attempts=max_attempts, size=size),
                           progress)

    def render(self, request: RenderRequest, progress: Progress | None = None) -> AvatarResult:
        """Animate a checked RenderRequest (avatar.request.check_request): what every surface calls once its input
        is checked, so nothing is checked or decoded twice.

        numpy's BLAS runs on one thread here: its products split over several threads sum in another order, so the
        same request gave other bits in a batch worker (one thread) than in this process (all cores; 2e-7 apart on
        an AMD EPYC's OpenBLAS), and its products here are too small to gain from threads.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            return self._render(request, progress)

    def _render(self, request: RenderRequest, progress: Progress | None) -> AvatarResult:
        """render, with BLAS on one thread."""
        outputs, emotion, intensity, vad, seed = (request.outputs, request.emotion, request.intensity, request.vad,
                                                  request.seed)
        text, transcript, max_attempts = request.text, request.transcript, request.max_attempts
        emotion_keyframes, portrait, verify = request.emotion_keyframes, request.portrait, request.verify
        style_reference = request.style_reference_file
        step = progress or (lambda stage, fraction: None)
        timings: dict[str, float] = {}

        def timed(stage: str, work):
            step(stage, 0.0)
            started = time.perf_counter()
            value = work()
            timings[stage] = round(time.perf_counter() - started, 3)
            step(stage, 1.0)
            return value

        reference = request.style_reference
        talking_head = (timed("portrait", lambda: self._talking_head(portrait, request.size)) if "video" in outputs
                        else None)
        speech_file = request.speech_file
        prosody = voice_check = None
        if text is not None:
            from avatar.frontend.emotional_prosody import emotion_prosody, read_voice
            from avatar.frontend.tts import Prosody, get_voice

            # The voice takes on a held emotion (keyframed, VAD or recognized emotions leave it neutral).
            held = emotion not in ("auto", "neutral") and emotion_keyframes is None and vad is None
            prosody = emotion_prosody(emotion, intensity) if held else Prosody()
            speech_audio = timed("speech", lambda: get_voice(self.voice).synthesize(text, prosody, seed=seed))
            if held:  # the voice in the loop: does the coloured voice read as its emotion?
                voice_check = timed("voice check", lambda: read_voice(speech_audio, emotion))
            transcript = text
        else:
            speech_audio = request.audio
        # Motion is made on the generator's own clock (the learned one's is 30 fps) and resampled to self.fps last.
        clock = self.animator.fps or self.fps
        speech = timed("alignment", lambda: analyze_speech(speech_audio, transcript, clock))
        n = speech.features.n_frames
        if vad is not None and emotion_keyframes is None:
            curve, described, analysis = from_vad(vad, n), {"vad": [float(v) for v in vad]}, None
        else:
            curve, described, analysis = timed("emotion", lambda: emotion_curve(speech, emotion, intensity,
                                                                                emotion_keyframes))
        style = timed("style", lambda: speaking_style(speech, reference))
        content = speech.content()
        face, body = timed("motion", lambda: self.animator(content, curve, seed, style))

        report = None
        if verify:
            readers = [self._fer_reader(talking_head)] if talking_head is not None else []
            readers.append(face_motion_reader())

            def again(attempt: Attempt, spans: list[tuple[int, int]]) -> FaceTrack:
                def make(a: int, b: int) -> FaceTrack:
                    stronger = self.animator.face(content, attempt.emotion(curve), attempt.seed, style,
                                                  attempt.guidance_boost, frames=(a, b))
                    neutral = self.animator.face(content, neutral_curve, attempt.seed, style, frames=(a, b))
                    return amplify(stronger, neutral, attempt.expression_gain)

                return regenerate(first_face, spans, make)

            neutral_curve = constant_emotion("neutral", 1.0, n)
            first_face = face

            face, report = timed("verify", lambda: verify_face(face, curve, again, readers, max_attempts, seed,
                                                               progress=step))
        if clock != self.fps:  # the tracks on the clock asked for (the report keeps the generator's)
            face, body = face.resampled(self.fps), body.resampled(self.fps)
            n = face.n_frames
        summary = {
            "version": __version__, "generator": self.generator,
            "inputs": {"audio": None if speech_file is None else str(speech_file), "text": text,
                       "transcript": transcript, "voice": self.voice if text is not None else None,
                       "voice_prosody": vars(prosody) if prosody is not None else None, "voice_check": voice_check,
                       "style_reference": str(style_reference) if isinstance(style_reference, str | os.PathLike)
                       else None, "portrait": None if "video" not in outputs else
                       str(portrait) if isinstance(portrait, str | os.PathLike) else "default (grace_hopper.jpg)",
                       "video_size": request.size if "video" in outputs else None},
            "emotion": described,
            "style": ({"source": "reference clip" if reference is not None else "the speech", **style.as_dict()}
                      if style else {"source": "default (too little voiced speech to read a style from)"}),
            "seed": seed, "fps": self.fps, "frames": n, "duration_s": round(speech.audio.duration, 3),
            "transcript": speech.alignment.transcript, "transcript_source": speech.alignment.transcript_source,
            "alignment_notes": list(speech.alignment.notes),
            "verification": report.status() if report is not None else "off",
        }
        return AvatarResult(speech, curve, face, body, outputs, summary, style, analysis, report, talking_head,
                            speech_file, timings)

    def warm_up(self, outputs: Iterable[str] | str = ("face", "body", "preview", "video")) -> AvatarPipeline:
        """Load everything a call needs (voice, default portrait, recognizers, compiled kernels, encoders) by making
        one short clip into a temporary folder, so the next call starts at once; returns self."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="avatar-warm-up-") as folder:
            self(text="Hello.", emotion="happiness", outputs=outputs).save(folder)
        return self

    def _talking_head(self, portrait, size: int):
        """The talking-head renderer of a portrait (a path, an RGB array or None for the default) at size x size
        pixels, cached by path and size."""
        from generators.talking_head import Portrait, TalkingHeadRenderer

        key = (str(portrait), size) if portrait is None or isinstance(portrait, str | os.PathLike) else None
        if key is not None and key in self._portraits:
            return self._portraits[key]
        renderer = TalkingHeadRenderer(Portrait.load(portrait, size=size))
        if key is not None:
            self._portraits[key] = renderer
        return renderer

    def _fer_reader(self, talking_head) -> Reader:
        """FER2013 on frames of the talking head (the recognizer is loaded once per pipeline)."""
        from avatar.recognizers.face_expression import FaceExpressionRecognizer

        if self._fer is None:
            with long_lived():
                self._fer = FaceExpressionRecognizer.from_pretrained()
        return rendered_face_reader(talking_head, self._fer)


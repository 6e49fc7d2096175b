"""The Gradio page: speech or text in; the talking-head video, the body preview, the verification plot and every
export out, all made by AvatarPipeline (avatar/pipeline.py).

    make serve                                   # or: avatar serve [--host 127.0.0.1] [--port 7860]
    python -m avatar.page --port 7861            # the same page

It binds to 127.0.0.1 unless told otherwise, runs one generation at a time (a short queue waits behind it), and
refuses uploads over 50 MB, speech over 120 s and text over 1000 characters before any work starts. Each generation
writes into its own temporary folder; bad input is shown as a one-line message, never a traceback.
"""

from __future__ import annotations

import os

# Before gradio is imported: it reads the setting at import time, and the page must not phone home.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import atexit  # noqa: E402
import html  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

from avatar.errors import InputError  # noqa: E402
from avatar.pipeline import AvatarPipeline  # noqa: E402
from avatar.request import VIDEO_SIZE, check_request  # noqa: E402
from avatar.verification import MAX_ATTEMPTS  # noqa: E402
from generators import DEFAULT_GENERATOR, GENERATORS  # noqa: E402
from generators.conditioning import EMOTIONS  # noqa: E402
from rigs.errors import RigInputError  # noqa: E402

HOST, PORT = "127.0.0.1", 7860
MAX_FILE_SIZE = "50mb"  # per upload, enforced by gradio before the file reaches the handler
MAX_AUDIO_S = 120.0  # speech and style reference clips; longer ones take minutes and hold the queue
MAX_TEXT_CHARS = 1000  # about a minute of speech
VIDEO_CHOICES = (256, 384, 512, 768, 1024)  # the talking head's side; 512 keeps a generation under 5 s
QUEUE_SIZE = 8  # generations waiting behind the running one; more are turned away with a message
KEEP_RUNS = 8  # run folders kept on disk (gradio serves its own copies of the files shown)
OUTPUTS = ("face", "body", "preview", "video")
# The first is the sentence `make render` speaks (demos/example/sentence.txt), which an installed engine lacks.
EXAMPLE_TEXTS = (
    "Hello, my name is Ava. I am really happy to meet you today! Will you please tell me about your week?",
    "Hurry, we are going to be late for the show!",
)

# The share of the progress bar each pipeline stage fills, in the order they run (video rendering dominates).
_STAGES = {"portrait": 2, "speech": 2, "alignment": 2, "emotion": 1, "style": 1, "motion": 1, "verify": 4, "videos": 8}
_STAGE_TEXT = {
    "portrait": "reading the portrait",
    "speech": "speaking the text",
    "alignment": "aligning words and phones",
    "emotion": "reading the emotion",
    "style": "reading the speaking style",
    "motion": "animating face and body",
    "verify": "checking the emotion with the recognizers",
    "videos": "rendering the talking head and the 3-D preview",
}

_pipelines: dict[str, AvatarPipeline] = {}
_lock = threading.Lock()
_generating = threading.Lock()  # one generation at a time: the warm-up or a visitor's
_runs_root = Path(tempfile.mkdtemp(prefix="avatar-page-"))
atexit.register(shutil.rmtree, _runs_root, ignore_errors=True)


def default_portrait() -> Path:
    """The bundled public-domain portrait the page starts with (matplotlib's grace_hopper.jpg)."""
    from generators.talking_head.portrait import default_portrait_path

    return default_portrait_path()


def pipeline(generator: str) -> AvatarPipeline:
    """One loaded pipeline per generator, shared by all visitors (models, voice and portraits load once)."""
    with _lock:
        if generator not in _pipelines:
            _pipelines[generator] = AvatarPipeline(generator)
        return _pipelines[generator]


def warm_up(generator: str = DEFAULT_GENERATOR) -> None:
    """Load and exercise the default pipeline (see AvatarPipeline.warm_up), holding the page's one generation slot
    meanwhile: a visitor who comes early waits for it instead of paying for it twice."""
    from concurrent.futures import ThreadPoolExecutor

    from avatar.frontend.tts import get_voice

    try:
        with _generating, ThreadPoolExecutor(1, thread_name_prefix="avatar-voice") as side:
            voice = side.submit(get_voice)  # onnxruntime builds the voice beside the models' loading: about 1 s sooner
            pipe = pipeline(generator)
            voice.result()
            pipe.warm_up()
    except Exception as error:  # the page still works: the first visitor then loads what failed, and sees why
        print(f"warning: the page could not warm up ({type(error).__name__}: {error})", flush=True)


def audio_duration(path: str) -> float:
    """Seconds of audio in the file at path, read from its header when it has one (no decoding)."""
    import soundfile as sf

    try:
        return sf.info(path).duration
    except (sf.LibsndfileError, RuntimeError, ValueError):
        from avatar.frontend.audio import load_audio

        return load_audio(path).duration  # decodes; raises the usual readable InputError for a bad file


def _optional(text: str | None) -> str | None:
    """None for an empty or blank text box."""
    return text.strip() if text and text.strip() else None


def _progress_callback(progress, stages: list[str]):
    """A pipeline progress(stage, fraction) callback that fills gr.Progress across the expected stages."""
    weights = [_STAGES[s] for s in stages]
    total = float(sum(weights))

    def step(stage: str, fraction: float) -> None:
        if stage not in stages:
            return
        i = stages.index(stage)
        done = (sum(weights[:i]) + weights[i] * min(max(fraction, 0.0), 1.0)) / total
        progress(done, desc=_STAGE_TEXT.get(stage, stage))

    return step


def _trim_runs() -> None:
    """Delete all but the newest KEEP_RUNS run folders."""
    runs = sorted(_runs_root.iterdir(), key=lambda p: p.stat().st_mtime)
    for old in runs[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)


def _readable(error: Exception, uploads: dict[str, str]) -> gr.Error:
    """The error as a page message: upload paths shown by their file names, HTML escaped (gr.Error renders it)."""
    message = str(error)
    for path, name in uploads.items():
        message = message.replace(path, name)
    return gr.Error(html.escape(message, quote=False), duration=None, print_exception=False)


def generate(
    audio: str | None,
    text: str | None,
    transcript: str | None,
    emotion: str,
    intensity: float,
    keyframes: str | None,
    use_vad: bool,
    valence: float,
    arousal: float,
    dominance: float,
    style_reference: str | None,
    portrait: str | None,
    seed: float | None,
    generator: str,
    verify: bool,
    max_attempts: float,
    size: float = VIDEO_SIZE,
    progress=gr.Progress(),  # noqa: B008 (gradio's documented idiom)
) -> tuple:
    """The page's handler: checks the inputs, runs the pipeline into a new run folder, returns what to show."""
    uploads = {p: Path(p).name for p in (audio, style_reference, portrait) if p}
    try:
        return _generate(
            audio,
            _optional(text),
            _optional(transcript),
            emotion,
            intensity,
            _optional(keyframes),
            (valence, arousal, dominance) if use_vad else None,
            style_reference,
            portrait,
            seed,
            generator,
            verify,
            max_attempts,
            size,
            progress,
        )
    except (InputError, RigInputError) as error:
        raise _readable(error, uploads) from None


def _generate(
    audio,
    text,
    transcript,
    emotion,
    intensity,
    keyframes,
    vad,
    style_reference,
    portrait,
    seed,
    generator,
    verify,
    max_attempts,
    size,
    progress,
) -> tuple:
    """generate() after the text boxes are tidied; raises InputError for bad input."""
    if audio is None and text is None:
        raise InputError("nothing to animate: upload or record speech, or type text for the voice to speak")
    if audio is not None and text is not None:
        raise InputError("give the speech once: clear the audio to use the text, or clear the text to use the audio")
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"the text is {len(text)} characters long; give at most {MAX_TEXT_CHARS} (about a minute "
            "of speech), or split it"
        )
    for path, what in ((audio, "speech"), (style_reference, "style reference")):
        if path is not None and (seconds := audio_duration(path)) > MAX_AUDIO_S:
            raise InputError(
                f"the {what} '{Path(path).name}' is {seconds:.0f} s long; this page takes at most "
                f"{MAX_AUDIO_S:.0f} s: trim it, or use `avatar render` for long files"
            )
    try:
        whole = float(seed).is_integer() and 0 <= float(seed) < 2**31
    except (TypeError, ValueError):  # the page sends numbers; the API may send anything
        whole = False
    if not whole:
        raise InputError(f"seed is {seed!r}; give a whole number from 0 to {2**31 - 1}")
    if generator not in GENERATORS:
        raise InputError(f"unknown generator {generator!r}; choose one of: {', '.join(GENERATORS)}")
    if portrait is not None and Path(portrait).read_bytes() == default_portrait().read_bytes():
        portrait = None  # the page shows the bundled photo: use the pipeline's cached default
    request = check_request(
        audio,
        text,
        transcript=transcript,
        emotion=emotion,
        intensity=float(intensity),
        vad=vad,
        emotion_keyframes=keyframes,
        style_reference=style_reference,
        portrait=portrait,
        seed=int(seed),
        outputs=OUTPUTS,
        verify=bool(verify),
        max_attempts=int(max_attempts),
        size=size,
    )
    pipe = pipeline(generator)
    skipped = {"speech"} if text is None else set()
    skipped |= {"emotion"} if vad is not None and keyframes is None else set()  # a VAD point needs no estimate
    skipped |= set() if verify else {"verify"}
    stages = [s for s in _STAGES if s not in skipped]
    step = _progress_callback(progress, stages)
    started = time.perf_counter()
    with _generating:
        result = pipe.render(request, step)
    # Uploaded portraits are cached by path inside the pipeline; keep the default and the latest few only.
    for key in [k for k in pipe._portraits if k[0] != "None"][:-2]:
        del pipe._portraits[key]
    run = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=_runs_root))
    try:
        summary = result.save(run, progress=step)
    except BaseException:
        shutil.rmtree(run, ignore_errors=True)
        raise
    _trim_runs()
    progress(1.0, desc="done")
    files = [str(run / name) for name in summary["files"] if name != "report.png"]
    report = str(run / "report.png") if result.report is not None else None
    return str(run / "video.mp4"), str(run / "preview.mp4"), report, files, _describe(summary, result, started)


def _describe(summary: dict, result, started: float) -> str:
    """A few Markdown lines on what was made."""
    described = summary["emotion"]
    if "keyframes" in described:
        what = "keyframed: " + ", ".join(
            f"{k['time']:g} s {k['label']} {k['intensity']:g}" for k in described["keyframes"]
        )
    elif "vad" in described:
        what = "valence {:+.2f}, arousal {:+.2f}, dominance {:+.2f}".format(*described["vad"])
    elif described.get("label") == "auto":
        what = f"auto: recognized {described['recognized']} ({described['confidence']:.2f})"
    else:
        what = f"{described['label']} {described['intensity']:g}"
    words = summary["transcript"] or "(no words recognized)"
    source = summary["transcript_source"]
    lines = [
        f"**{summary['duration_s']:.1f} s** of speech, {summary['frames']} frames at {summary['fps']:g} fps, "
        f"{summary['generator']} generator, seed {summary['seed']}, in {time.perf_counter() - started:.0f} s.",
        f"**Emotion:** {html.escape(what)}.",
        f"**Words** ({html.escape(str(source))}): {html.escape(words)}",
        f"**Verification:** {html.escape(result.report.status() if result.report is not None else 'off')}.",
    ]
    return "\n\n".join(lines)


CSS = """
#title h1 { margin-bottom: 0; }
#title p { margin-top: 4px; color: var(--body-text-color-subdued); }
#generate { margin-top: 8px; }
"""


def build() -> gr.Blocks:
    """The page's layout and its one event."""
    emotions = ["auto", *EMOTIONS]
    with gr.Blocks(title="avatar: emotion-conditioned talking head", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# avatar\nSpeech or text in: an animated portrait, a 3-D face and body, and what emotion "
            "recognizers read back from them. Everything runs offline on this machine.",
            elem_id="title",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=360):
                audio = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label="Speech (upload or record)",
                    elem_id="speech",
                )
                text = gr.Textbox(
                    label="…or text to speak",
                    info=f"spoken by the offline voice; at most {MAX_TEXT_CHARS} characters",
                    lines=2,
                    max_length=MAX_TEXT_CHARS,
                    elem_id="text",
                    placeholder=EXAMPLE_TEXTS[0],
                )
                transcript = gr.Textbox(
                    label="Transcript of the speech (optional)",
                    elem_id="transcript",
                    info="what the audio says, for better lip timing; left empty, the words are recognized",
                )
                emotion = gr.Radio(
                    emotions,
                    value="happiness",
                    label="Emotion (auto: read from the speech and its words)",
                    elem_id="emotion",
                )
                intensity = gr.Slider(0, 1, value=0.8, step=0.05, label="Intensity", elem_id="intensity")
                with gr.Accordion("Emotion timeline and valence/arousal/dominance", open=False):
                    keyframes = gr.Textbox(
                        label="Emotion keyframes (win over the emotion above)",
                        elem_id="keyframes",
                        placeholder="0 s neutral, 2 s anger 0.8, 5 s sadness 0.5",
                    )
                    use_vad = gr.Checkbox(
                        label="Use valence/arousal/dominance instead of the emotion above",
                        value=False,
                        elem_id="use-vad",
                    )
                    with gr.Row():
                        valence = gr.Slider(-1, 1, value=0.5, step=0.05, label="Valence")
                        arousal = gr.Slider(-1, 1, value=0.3, step=0.05, label="Arousal")
                        dominance = gr.Slider(-1, 1, value=0.2, step=0.05, label="Dominance")
                with gr.Accordion("Portrait, style and generator", open=False):
                    with gr.Row():
                        portrait = gr.Image(
                            value=str(default_portrait()),
                            type="filepath",
                            image_mode=None,
                            sources=["upload"],
                            label="Portrait (a photo with one clear face)",
                            height=220,
                            elem_id="portrait",
                        )
                        style_reference = gr.Audio(
                            sources=["upload"],
                            type="filepath",
                            elem_id="style-reference",
                            label="Style reference (optional: another clip's speaking style drives the motion)",
                        )
                    with gr.Row():
                        generator = gr.Radio(
                            list(GENERATORS),
                            value=DEFAULT_GENERATOR,
                            label="Generator (learned: the latent-diffusion checkpoint; procedural: fast, explainable)",
                        )
                        seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
                    with gr.Row():
                        verify = gr.Checkbox(
                            value=True, label="Verify the emotion (re-generate windows that miss it)", elem_id="verify"
                        )
                        max_attempts = gr.Slider(1, 8, value=MAX_ATTEMPTS, step=1, label="Attempts per window")
                        size = gr.Dropdown(VIDEO_CHOICES, value=VIDEO_SIZE, label="Talking-head video (pixels a side)")
                go = gr.Button("Generate", variant="primary", elem_id="generate")
                gr.Examples([[sentence] for sentence in EXAMPLE_TEXTS], inputs=[text], label="Example text")
            with gr.Column(scale=7, min_width=400):
                # Scales follow the videos' shapes (512x512 and 1024x512), so both show at about the same height.
                with gr.Row(equal_height=True):
                    video = gr.Video(label="Talking head (video.mp4)", elem_id="video", scale=2, min_width=240)
                    preview = gr.Video(
                        label="Face and body preview (preview.mp4)", elem_id="preview", scale=3, min_width=300
                    )
                summary = gr.Markdown(elem_id="summary")
                report = gr.Image(
                    label="Verification: what the recognizers read, window by window (report.png)",
                    elem_id="report",
                    type="filepath",
                    interactive=False,
                )
                files = gr.File(
                    label="Downloads: Live Link CSV, ARKit JSON, BVH, GLB, MP4, reports",
                    file_count="multiple",
                    elem_id="downloads",
                    interactive=False,
                    height=300,
                )
        go.click(
            generate,
            [
                audio,
                text,
                transcript,
                emotion,
                intensity,
                keyframes,
                use_vad,
                valence,
                arousal,
                dominance,
                style_reference,
                portrait,
                seed,
                generator,
                verify,
                max_attempts,
                size,
            ],
            [video, preview, report, files, summary],
            concurrency_limit=1,
        )
    return demo


def serve(host: str = HOST, port: int = PORT, prevent_thread_lock: bool = False, quiet: bool = False) -> gr.Blocks:
    """Build the page and serve it at http://host:port (one generation at a time, a short queue behind it); the
    default pipeline warms up in the background meanwhile."""
    threading.Thread(target=warm_up, name="avatar-warm-up", daemon=True).start()
    demo = build()
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        max_file_size=MAX_FILE_SIZE,
        share=False,
        show_error=False,
        css=CSS,
        theme=gr.themes.Soft(),
        footer_links=["gradio"],
        ssr_mode=False,
    )
    return demo


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Serve the avatar page.")
    parser.add_argument("--host", default=HOST, help="Address to bind (default 127.0.0.1: this machine only).")
    parser.add_argument("--port", type=int, default=PORT, help="Port (default 7860).")
    args = parser.parse_args()
    serve(args.host, args.port)

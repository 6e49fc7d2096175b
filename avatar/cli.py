"""The `avatar` command line."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Annotated

import click
import typer
from tqdm import tqdm

from avatar import __version__
from avatar.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, InputError
from avatar.outputs import (
    check_output_file,
    check_output_folder,
    check_writable_folder,
    clear_interrupt,
    describe_os_error,
    interrupted,
    note_interrupt,
)
from avatar.request import VIDEO_SIZE
from avatar.verification import MAX_ATTEMPTS
from generators import DEFAULT_GENERATOR
from generators.learned.train_config import MotionTrainConfig
from rigs.errors import RigInputError
from rigs.paths import shared_data

RECIPE = MotionTrainConfig()  # the shipped training recipe, whose values the `train motion` help shows

app = typer.Typer(
    name="avatar",
    help="Emotion-conditioned avatar engine: speech (or text) in; face, body and talking-head video out.\n\n"
    "Commands: render (speech to face, body, a preview and a talking-head video, "
    "with the recognizer in the loop), batch (a manifest of renders, in processes or on Ray), analyze (emotion of "
    "speech and text), stream (Live Link to Unreal), the speech front end (say, align, features), format "
    "conversion (export) and training (train).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: outputs are left as they were, and the exit code says which signal."""


def _user_errors(command):
    """Any failure as one line on stderr and an exit code (avatar.errors), never a traceback: bad input and
    unwritable outputs 2, Ctrl-C or SIGTERM 130, a fault of the engine 70 (AVATAR_TRACEBACK=1 shows its trace)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        clear_interrupt()
        try:
            result = command(*args, **kwargs)
            if interrupted():  # a Ctrl-C whose exception was swallowed on its way up, after the outputs were complete
                _fail("interrupted (Ctrl-C) as the command finished; its outputs are complete", EXIT_INTERRUPTED)
            return result
        except (typer.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except InputError as error:
            _fail(str(error), EXIT_BAD_INPUT)
        except OSError as error:  # a disk that fills, a folder made read-only during the work
            where = f"'{error.filename}': " if error.filename else ""
            _fail(f"{where}{describe_os_error(error)}; the outputs are as they were before the command",
                  EXIT_BAD_INPUT)
        except KeyboardInterrupt as interrupt:
            what = "stopped (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted (Ctrl-C)"
            _fail(f"{what}; the outputs are as they were before the command", EXIT_INTERRUPTED)
        except Exception as error:
            if os.environ.get("AVATAR_TRACEBACK"):
                raise
            _fail(f"internal error ({type(error).__name__}: {error}); please report it with the command "
                  "(AVATAR_TRACEBACK=1 shows where it happened)", EXIT_INTERNAL)

    return run


def _fail(message: str, code: int):
    typer.echo(f"error: {' '.join(message.split())}", err=True)  # one line, whatever the message held
    raise typer.Exit(code)


def _interrupt(signum, frame):
    note_interrupt()
    raise KeyboardInterrupt


def _terminate(signum, frame):
    note_interrupt()
    raise Terminated()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"avatar {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Emotion-conditioned avatar engine."""
    # Warnings about the user's files (e.g. a BVH header that disagrees with its rows) read as one plain line.
    warnings.showwarning = lambda message, *_args, **_kwargs: typer.echo(
        f"warning: {' '.join(str(message).split())}", err=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where Ctrl-C is ignored (nohup)
            signal.signal(signal.SIGINT, _interrupt)


@app.command()
@_user_errors
def say(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What to say (English).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="WAV file to write.")],
    rate: Annotated[float, typer.Option(help="Speaking rate: 1 normal, 0.5 half speed, 2 double.")] = 1.0,
    pitch: Annotated[float, typer.Option(help="Pitch shift in semitones (-6..6).")] = 0.0,
    expressiveness: Annotated[float, typer.Option(help="Prosodic variation: 0 flat, 1 default, 2 lively.")] = 1.0,
    pitch_range: Annotated[float, typer.Option(
        help="Intonation's swing around the median pitch: 0 monotone, 1 the voice's own, 2 twice as wide.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same text and seed give the same audio.")] = 0,
    voice: Annotated[str, typer.Option(help="Voice name (available: joe).")] = "joe",
) -> None:
    """Speak TEXT with the offline neural voice and write a WAV.

    Example: avatar say "Hello, my name is Ava." -o hello.wav --rate 1.1
    """
    from avatar.frontend.audio import SUFFIXES, save_audio
    from avatar.frontend.tts import Prosody, check_text, check_voice, get_voice
    from avatar.request import check_seed

    check_output_file(output, "-o", SUFFIXES)
    prosody = Prosody(rate=rate, pitch_semitones=pitch, expressiveness=expressiveness, pitch_range=pitch_range).check()
    text, seed = check_text(text), check_seed(seed, "--seed")
    audio = get_voice(check_voice(voice)).synthesize(text, prosody, seed=seed)
    save_audio(audio, output)
    typer.echo(f"wrote {output} ({audio.duration:.2f} s, {audio.sample_rate} Hz, voice {voice})")


@app.command()
@_user_errors
def align(
    audio_path: Annotated[Path, typer.Argument(metavar="AUDIO", help="Speech: wav, flac, ogg or mp3.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write .TextGrid (Praat) or .json.")],
    text: Annotated[str | None, typer.Option(help="The transcript. Left out, it is recognized.")] = None,
    text_file: Annotated[Path | None, typer.Option(help="Read the transcript from a text file.")] = None,
) -> None:
    """Time the words and phones of AUDIO; without --text, recognize them first.

    Example: avatar align hello.wav --text "Hello, my name is Ava." -o hello.TextGrid
    """
    from avatar.frontend.alignment import align as run_alignment
    from avatar.frontend.audio import load_audio

    if output.suffix.lower() not in (".textgrid", ".json"):
        raise InputError(f"Output '{output}' must end in .TextGrid or .json.")
    check_output_file(output, "-o")
    transcript = _transcript(text, text_file)
    audio = load_audio(audio_path)
    with tqdm(total=100, unit="%", desc="aligning", disable=None, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}") as bar:
        alignment = run_alignment(audio, transcript, progress=lambda f: bar.update(round(100 * f) - bar.n))
    _save_alignment(alignment, output)
    typer.echo(alignment.summary())
    typer.echo(f"wrote {output}")


@app.command()
@_user_errors
def features(
    audio_path: Annotated[Path, typer.Argument(metavar="AUDIO", help="Speech: wav, flac, ogg or mp3.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="NPZ file of (T, D) float32 arrays.")],
    fps: Annotated[float, typer.Option(help="Frames per second of the animation clock.")] = 30.0,
    alignment_path: Annotated[Path | None, typer.Option("--alignment", help="A TextGrid from `avatar align`: "
                                                        "adds the per-frame viseme track.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Also draw the features to this PNG.")] = None,
) -> None:
    """Frame features of AUDIO on the animation clock: log-mel, RMS, F0, onsets.

    Example: avatar features hello.wav --alignment hello.TextGrid -o hello.npz --plot hello.png
    """
    from avatar.frontend.audio import load_audio
    from avatar.frontend.features import extract_features
    from avatar.frontend.textgrid import load_alignment_textgrid
    from generators.visemes import VISEMES, viseme_track
    from rigs.clock import check_fps

    fps = check_fps(fps)
    check_output_file(output, "-o", (".npz",))
    if plot:
        check_output_file(plot, "--plot", (".png",))
    frames = extract_features(load_audio(audio_path), fps)
    alignment = load_alignment_textgrid(alignment_path) if alignment_path else None
    extra = {}
    if alignment is not None:
        extra = {"visemes": viseme_track(alignment.phones, fps, frames.n_frames),
                 "viseme_names": list(VISEMES)}
    frames.save_npz(output, extra)
    typer.echo(f"wrote {output}: {frames.n_frames} frames at {fps:g} fps"
               + (f", with a {len(VISEMES)}-viseme track" if extra else ""))
    if plot:
        from avatar.frontend.plot import plot_features

        plot_features(frames, plot, alignment=alignment, title=audio_path.name)
        typer.echo(f"wrote {plot}")


def _transcript(text: str | None, text_file: Path | None) -> str | None:
    if text is not None and text_file is not None:
        raise InputError("Give the transcript once: either --text or --text-file, not both.")
    if text_file is None:
        return _checked_transcript(text)
    if not text_file.is_file():
        raise InputError(f"Transcript file '{text_file}' does not exist. Check the path.")
    try:
        text = text_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"Transcript file '{text_file}' is not UTF-8 text ({error.reason} at byte {error.start}); "
                         "give a plain-text file of the words (saved as UTF-8)") from None
    return _checked_transcript(text, f"transcript file '{text_file}'")


def _checked_transcript(text: str | None, what: str = "--text") -> str | None:
    from avatar.frontend.tts import check_text

    return None if text is None else check_text(text, what, spoken=False)


def _save_alignment(alignment, output: Path) -> None:
    from dataclasses import asdict

    from avatar.frontend.textgrid import save_alignment_textgrid
    from rigs.fileio import write_text_atomic

    if output.suffix.lower() == ".json":
        write_text_atomic(output, json.dumps(asdict(alignment), indent=1))
    else:
        save_alignment_textgrid(alignment, output)



@app.command("export")
@_user_errors
def export_tracks(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="TRACK...", help="Face and/or body tracks: Live Link .csv, ARKit .json, .bvh or .glb.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write into.")],
    formats: Annotated[str | None, typer.Option(
        "--formats", help="Comma-separated: csv (Live Link), json (ARKit, BEAT layout, 60 fps), a2f (Audio2Face "
        "JSON), glb, bvh, smplx (SMPL-X poses, body.npz). Default: every format that fits the inputs but smplx.",
    )] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="Resample to this frame rate first.")] = None,
    floor: Annotated[str, typer.Option(
        "--floor", help="Where bodies stand in BVH and GLB: feet (on y = 0) or hips (at the origin, as BEAT)."
    )] = "feet",
) -> None:
    """Convert face and body tracks between file formats."""
    from rigs.formats.export import FORMATS, export, read_track

    check_writable_folder(output, "-o")
    tracks = [read_track(path) for path in inputs]
    if fps is not None:
        tracks = [track.resampled(fps) for track in tracks]
    if formats is None:
        formats = [name for name, writers in FORMATS.items()
                   if name != "smplx" and any(type(t) in writers for t in tracks)]
    for path in export(tracks, formats, output, floor=floor):
        typer.echo(str(path))


@app.command()
@_user_errors
def render(
    audio_path: Annotated[Path | None, typer.Argument(
        metavar="[AUDIO]", help="Speech: wav, flac, ogg or mp3. Or give --text instead.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write into.")] = Path("out"),
    text: Annotated[str | None, typer.Option(help="Text to speak with the offline voice instead of AUDIO.")] = None,
    transcript: Annotated[str | None, typer.Option(
        help="What AUDIO says (better timing); left out, it is recognized.")] = None,
    emotion: Annotated[str, typer.Option(
        help="neutral, happiness, anger, sadness, contempt, surprise, fear, disgust, or auto (recognized from the "
        "speech and its words).")] = "neutral",
    intensity: Annotated[float, typer.Option(help="Emotion intensity, 0 to 1 (with auto: scales what is "
                                                  "recognized).")] = 0.8,
    keyframes: Annotated[str | None, typer.Option(
        help="An emotion timeline, e.g. \"0 s neutral, 2 s anger 0.8, 5 s sadness 0.5\"; wins over --emotion.")] = None,
    style_reference: Annotated[Path | None, typer.Option(
        help="Another speech clip whose speaking style (pitch, rate, loudness, pauses) drives the motion.")] = None,
    seed: Annotated[int, typer.Option(help="Same input and seed give the same animation.")] = 0,
    outputs: Annotated[str, typer.Option(
        help="Comma-separated: face (face.csv, face.json, face.glb), body (body.bvh, body.glb), "
        "preview (preview.mp4: 3-D face and body), video (video.mp4: the portrait talking).")] = "face,body,preview",
    portrait: Annotated[Path | None, typer.Option(
        help="Photo (jpg/png) for the video output; default: the bundled public-domain grace_hopper.jpg.")] = None,
    verify: Annotated[bool, typer.Option(
        help="Check the rendered affect with the recognizers and re-generate windows that miss the emotion; "
        "writes report.json and report.png.")] = True,
    max_attempts: Annotated[int, typer.Option(help="Attempts per window for --verify (1: check only).")] = MAX_ATTEMPTS,
    size: Annotated[int, typer.Option(
        help="Side of the talking-head video in pixels, even, 256 to 1024 (video.mp4 is size x size).")] = VIDEO_SIZE,
    fps: Annotated[float, typer.Option(help="Frames per second of the animation.")] = 30.0,
    voice: Annotated[str, typer.Option(help="Voice for --text (available: joe).")] = "joe",
    generator: Annotated[str, typer.Option(
        help="learned (the latent-diffusion checkpoint) or procedural (fast, explainable).")] = DEFAULT_GENERATOR,
) -> None:
    """Animate speech: face (ARKit-52 + head + gaze), body (BEAT skeleton), videos and a report.

    Examples: avatar render speech.wav --emotion anger --intensity 0.8 -o out/
              avatar render --text "Hello there!" --emotion happiness -o out/ --outputs face,body
              avatar render speech.wav --emotion sadness --outputs video --portrait photo.jpg -o out/
    """
    from avatar.frontend.tts import check_voice
    from avatar.request import check_request
    from generators import GENERATORS
    from rigs.clock import check_fps

    # Everything is checked before the models load (seconds), so bad input fails at once.
    check_output_folder(output, "-o", [audio_path, style_reference, portrait])
    check_fps(fps)
    check_voice(voice)
    if generator not in GENERATORS:
        raise InputError(f"unknown generator {generator!r}; choose one of: {', '.join(GENERATORS)}")
    request = check_request(audio_path, text, transcript=transcript, emotion=emotion, intensity=intensity,
                            emotion_keyframes=keyframes, style_reference=style_reference, portrait=portrait,
                            seed=seed, outputs=outputs, verify=verify, max_attempts=max_attempts, size=size)

    from avatar.pipeline import AvatarPipeline

    pipe = AvatarPipeline(generator, fps=fps, voice=voice)
    stages = tqdm(total=None, desc="speech", disable=None, leave=False, bar_format="{desc} {elapsed}")

    def progress(stage: str, fraction: float) -> None:
        stages.set_description(f"{stage} {100 * fraction:3.0f}%")

    result = pipe.render(request, progress)
    summary = result.save(output, progress=progress)
    stages.close()
    described = summary["emotion"]
    what = ("keyframed emotion" if keyframes else f"auto: recognized {described['recognized']}"
            if described.get("label") == "auto" else f"{described['label']} {intensity:g}")
    typer.echo(f"rendered {summary['duration_s']:.1f} s ({summary['frames']} frames at {fps:g} fps, {what}, "
               f"seed {seed}) into {output}/: {', '.join(summary['files'])}")
    if result.report is not None:
        typer.echo(result.report.status())


@app.command()
@_user_errors
def batch(
    manifest: Annotated[Path, typer.Argument(
        metavar="MANIFEST", help="CSV, one job per row: id, audio or text, and optionally emotion, intensity, "
        "portrait, seed, outputs, transcript, keyframes, style_reference, generator, verify, max_attempts.")],
    address: Annotated[str | None, typer.Argument(
        metavar="ADDRESS", help="With --ray: the cluster (host:6379, ray://host:10001 or auto); left out, a "
        "local Ray is started.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write into: one folder per job id, "
                                         "summary.json and summary.csv.")] = Path("out/batch"),
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (default 1: jobs run one by one in this process); with --ray, the local Ray's "
        "CPUs, or the workers on a cluster (default: one per CPU of the cluster).")] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Run the jobs on Ray workers that each load the models once: "
                                      "on a local Ray, or on the cluster at ADDRESS (token from RAY_AUTH_TOKEN or "
                                      "~/.ray/auth_token).")] = False,
    ship_files: Annotated[bool, typer.Option("--ship-files", help="With --ray: send each job's input files to its "
                                             "worker and its finished files back here, for nodes that share no "
                                             "file system.")] = False,
    ship_limit: Annotated[float | None, typer.Option(
        "--ship-limit", metavar="MB", help="With --ship-files: the most megabytes shipped per job each way "
        "(default 200).")] = None,
    fps: Annotated[float, typer.Option(help="Frames per second of the animation.")] = 30.0,
    voice: Annotated[str, typer.Option(help="Voice for text rows (available: joe).")] = "joe",
) -> None:
    """Render every row of a manifest CSV; re-running skips finished jobs and retries failed ones.

    \b
    Examples: avatar batch demos/batch/manifest.csv -o out/batch
              avatar batch manifest.csv -o out/batch --workers 2
              avatar batch manifest.csv -o out/batch --ray 10.0.0.5:6379
              avatar batch manifest.csv -o out/batch --ray ray://10.0.0.5:10001 --ship-files
    """
    from avatar.batch import run_batch

    check_writable_folder(output, "-o")
    if address is not None and not ray:
        raise InputError(f"'{address}' is an extra argument; a Ray address goes after --ray (avatar batch MANIFEST "
                         "--ray ADDRESS), and one manifest is read per run")
    if address is not None and address.lower().endswith(".csv"):
        raise InputError(f"the Ray address '{address}' looks like a manifest; give the manifest first: avatar "
                         "batch MANIFEST -o OUT --ray ADDRESS")
    try:
        summary = run_batch(manifest, output, workers=workers, ray=(address or True) if ray else None, fps=fps,
                            voice=voice, ship_files=ship_files, ship_limit_mb=ship_limit)
    except KeyboardInterrupt:
        typer.echo(f"stopped; what finished is kept, and {output / 'summary.json'} says which (run again to go "
                   "on)", err=True)
        raise typer.Exit(130) from None
    for job in summary["jobs"]:
        if job.get("lost_workers"):
            typer.echo(f"retried {job['id']} (line {job['line']}): {'; '.join(job['lost_workers'])}", err=True)
        if job["status"] == "failed":
            typer.echo(f"failed {job['id']} (line {job['line']}): {job['error']}", err=True)
    counts, backend = summary["counts"], summary["backend"]
    where = "" if backend == "nothing to run" else f" on {backend}"
    typer.echo(f"{counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped (finished before) in "
               f"{summary['seconds']:.1f} s{where}; summary: {output / 'summary.json'}, {output / 'summary.csv'}")
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
@_user_errors
def analyze(
    audio_path: Annotated[Path | None, typer.Argument(
        metavar="[AUDIO]", help="Speech: wav, flac, ogg or mp3. Or give only --text.")] = None,
    text: Annotated[str | None, typer.Option(
        help="Text to read the emotion of; with AUDIO, what the audio says (its sentences get aligned times).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the analysis as JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw the emotion timeline to this PNG.")] = None,
    fps: Annotated[float, typer.Option(help="Frames per second of the timeline.")] = 30.0,
) -> None:
    """The emotion of speech, text or both: an utterance label and a timeline (1.5 s windows, hop 0.5 s).

    Examples: avatar analyze speech.wav --json emotion.json --plot emotion.png
              avatar analyze --text "I can't believe you did that! Get out." --json emotion.json
    """
    from avatar.analysis import analyze_emotion, plot_analysis
    from avatar.frontend.alignment import align as run_alignment
    from avatar.frontend.audio import load_audio
    from avatar.frontend.voice_activity import voice_activity
    from rigs.clock import check_fps
    from rigs.fileio import write_text_atomic

    if json_path is not None:
        check_output_file(json_path, "--json", (".json",))
    if plot is not None:
        check_output_file(plot, "--plot", (".png",))
    check_fps(fps)
    text = _checked_transcript(text)
    if audio_path is None and not (text and text.strip()):
        raise InputError("nothing to analyze: give an AUDIO file, --text \"...\", or both")
    activity = voice_activity(load_audio(audio_path)) if audio_path is not None else None
    if activity is not None and not activity.has_speech:
        warnings.warn(f"no speech detected in '{audio_path}': it sounds like {activity.describe()}; what the "
                      "speech recognizer reads from it is not an emotion of a voice", stacklevel=1)
    # With words to align the whole clip is needed; speech alone streams from the file (bounded memory).
    audio = load_audio(audio_path) if audio_path is not None and text else audio_path
    alignment = run_alignment(audio, text) if audio is not None and text else None
    analysis = analyze_emotion(audio, text, alignment, fps)
    result = analysis.to_json()
    if activity is not None and not activity.has_speech:
        result["speech"] = "none detected"  # what the speech recognizer read from it is not a voice's emotion
    u = result["utterance"]
    typer.echo(f"utterance ({' + '.join(result['sources'])}): {u['label']} (confidence {u['confidence']:.2f}; "
               f"valence {u['valence']:+.2f}, arousal {u['arousal']:+.2f}, dominance {u['dominance']:+.2f})")
    for w in result["windows"]:
        typer.echo(f"  {w['start']:6.1f}-{w['end']:6.1f} s  {w['label']:<9} {w['probs'][w['label']]:.2f}")
    for s in (result["text"] or {}).get("sentences", []):
        typer.echo(f"  sentence {s['index'] + 1} ({s['start_s']:.1f}-{s['end_s']:.1f} s): {s['label']} "
                   f"{s['probs'][s['label']]:.2f}  {s['text']!r}")
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(result, indent=1) + "\n")
        typer.echo(f"wrote {json_path}")
    if plot is not None:
        plot_analysis(analysis, plot, title=f"Emotion of {audio_path.name if audio_path else 'the text'}")
        typer.echo(f"wrote {plot}")


TRACK_SUFFIXES = (".csv", ".json", ".glb")


@app.command()
@_user_errors
def stream(
    livelink: Annotated[str, typer.Option(
        "--livelink", metavar="HOST[:PORT]", help="Where to send Live Link Face packets (UDP): the machine running "
        "Unreal, e.g. 192.168.1.20:11111; the port defaults to 11111, the Live Link Face app's.")],
    source: Annotated[Path | None, typer.Argument(
        metavar="[INPUT]", help="A face track (face.csv, face.json or face.glb, as `avatar render` writes), or "
        "speech (wav, flac, ogg, mp3) to animate first, as `avatar render` does. Or give --text.")] = None,
    text: Annotated[str | None, typer.Option(help="Text to speak with the offline voice and animate.")] = None,
    transcript: Annotated[str | None, typer.Option(help="What speech INPUT says (better lip timing).")] = None,
    emotion: Annotated[str, typer.Option(help="For speech: neutral, happiness, anger, sadness, contempt, surprise, "
                                              "fear, disgust, or auto.")] = "neutral",
    intensity: Annotated[float, typer.Option(help="For speech: emotion intensity, 0 to 1.")] = 0.8,
    keyframes: Annotated[str | None, typer.Option(
        help="For speech: an emotion timeline, e.g. \"0 s neutral, 2 s anger 0.8\"; wins over --emotion.")] = None,
    seed: Annotated[int, typer.Option(help="For speech: same input and seed give the same animation.")] = 0,
    fps: Annotated[float | None, typer.Option(
        help="Frames per second sent: a track is resampled to it; speech is animated at it (default 30).")] = None,
    voice: Annotated[str, typer.Option(help="Voice for --text (available: joe).")] = "joe",
    subject: Annotated[str, typer.Option(help="Live Link subject name shown in Unreal.")] = "Avatar",
    device_id: Annotated[str, typer.Option(help="Device id in each packet (Unreal tells senders apart by it).")] = (
        "avatar-engine"),
    realtime: Annotated[bool, typer.Option("--realtime/--no-realtime", help="Pace packets at the track's fps, or "
                                           "send them as fast as possible.")] = True,
    loop: Annotated[bool, typer.Option("--loop", help="Repeat the track until Ctrl-C.")] = False,
    generator: Annotated[str, typer.Option(
        help="For speech: learned (the latent-diffusion checkpoint) or procedural.")] = DEFAULT_GENERATOR,
    verify: Annotated[bool, typer.Option(
        help="For speech: check the face's affect with the face-motion recognizer and re-generate windows that "
        "miss the emotion (no video, so no FER).")] = True,
) -> None:
    """Stream a face track live to Unreal as the Live Link Face app does (UDP, one packet per frame).

    Examples: avatar stream out/face.csv --livelink 192.168.1.20:11111 --subject Avatar --loop
              avatar stream --text "Hello there!" --emotion happiness --livelink 127.0.0.1
    """
    from avatar.livelink_udp import check_name, parse_address, resolve, stream_track
    from avatar.request import check_seed
    from generators import GENERATORS
    from rigs.clock import check_fps

    host, port = parse_address(livelink)
    check_seed(seed, "--seed")
    if fps is not None:
        check_fps(fps)
    text, transcript = _checked_transcript(text), _checked_transcript(transcript, "--transcript")
    check_name(subject, "--subject")
    check_name(device_id, "--device-id")
    if (source is None) == (text is None):
        raise InputError("give one input: a face track or speech file, or --text, not both and not neither")
    if source is not None and not source.is_file():
        raise InputError(f"input '{source}' does not exist or is not a file; give a face track (face.csv, "
                         "face.json, face.glb) or a speech file (wav, flac, ogg, mp3)")
    is_track = source is not None and source.suffix.lower() in TRACK_SUFFIXES
    if is_track and (transcript is not None or keyframes is not None):
        raise InputError(f"--transcript and --keyframes are for speech input; '{source}' is already a face track")
    if source is not None and source.suffix.lower() == ".bvh":
        raise InputError(f"'{source}' is a body track (BVH); Live Link Face streams faces: give face.csv, face.json "
                         "or face.glb")
    if generator not in GENERATORS:
        raise InputError(f"unknown generator {generator!r}; choose one of: {', '.join(GENERATORS)}")
    resolve(host, port)  # an unknown host fails here, before any slow work
    track = _stream_face_track(source, is_track, text, transcript, emotion, intensity, keyframes, seed, fps, voice,
                               generator, verify)

    typer.echo(f"streaming {track.n_frames} frames ({track.duration:.1f} s at {track.fps:g} fps) to {host}:{port} "
               f"as Live Link subject '{subject}'" + ("; looping, Ctrl-C stops" if loop else ""))
    bar = tqdm(total=None if loop else track.n_frames, unit="frame", desc="streaming", disable=None, leave=False)
    sent = [0]

    def advance(count: int) -> None:
        sent[0] = count
        bar.update(1)

    try:
        stream_track(track, host, port, subject=subject, device_id=device_id, realtime=realtime, loop=loop,
                     on_frame=advance)
    except KeyboardInterrupt:  # Ctrl-C is how a stream ends: handled here, not an interruption of the command
        clear_interrupt()
        typer.echo("stopped", err=True)
    finally:
        bar.close()
    typer.echo(f"sent {sent[0]} packets to {host}:{port} (subject '{subject}', device id '{device_id}')")


def _stream_face_track(source: Path | None, is_track: bool, text: str | None, transcript: str | None, emotion: str,
                       intensity: float, keyframes: str | None, seed: int, fps: float | None, voice: str,
                       generator: str, verify: bool):
    """The face track to stream: read from a track file, or animated from speech by the pipeline."""
    from rigs.face.track import FaceTrack
    from rigs.formats.export import read_track
    from rigs.formats.livelink import read_livelink_csv

    if is_track:
        try:
            track = read_track(source)
        except RigInputError as error:
            # A one-frame Live Link CSV does not reveal its frame rate: --fps names it.
            if source.suffix.lower() != ".csv":
                raise
            if fps is None:
                raise InputError(f"{error} (here: --fps)") from None
            return read_livelink_csv(source, fps=fps)
        if not isinstance(track, FaceTrack):
            raise InputError(f"'{source}' holds a body track; Live Link Face streams faces: give face.csv, "
                             "face.json or face.glb")
        return track if fps is None else track.resampled(fps)

    from avatar.request import check_request

    if text is not None and transcript is not None:
        raise InputError("--transcript is for speech INPUT; with --text the words are already known")
    request = check_request(source, text, transcript=transcript, emotion=emotion, intensity=intensity,
                            emotion_keyframes=keyframes, seed=seed, outputs="face", verify=verify)

    from avatar.pipeline import AvatarPipeline

    return AvatarPipeline(generator, fps=30.0 if fps is None else fps, voice=voice).render(request).face


@app.command()
@_user_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to bind: 127.0.0.1 serves this machine only; 0.0.0.0 "
                                           "serves the network (the page has no login).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
) -> None:
    """Serve the Gradio page (avatar/page.py): speech or text in, the talking head, previews and downloads out.

    Example: avatar serve --port 7860, then open http://127.0.0.1:7860
    """
    import socket

    if not 1 <= port <= 65535:
        raise InputError(f"--port {port} is not a port; give a number from 1 to 65535, such as 7860")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # a taken port: one line, not gradio's trace
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(f"cannot listen on {host}:{port} ({error.strerror}); give another --port or "
                             "--host") from None
    try:
        from avatar import page
    except ModuleNotFoundError as error:  # gradio is needed by the page alone, so an install may lack it
        if error.name != "gradio":
            raise
        raise InputError("avatar serve needs gradio, which is not installed: install the version requirements.lock "
                         "pins (make setup does), then run it again") from None
    typer.echo(f"serving the page at http://{host}:{port} (Ctrl-C stops)")
    page.serve(host, port, quiet=True)
    clear_interrupt()  # Ctrl-C is how a server stops (gradio handles it): not an interruption of the command


train_app = typer.Typer(help="Train the engine's models and write checkpoints.", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("ser")
@_user_errors
def train_ser(
    data: Annotated[Path | None, typer.Option(
        help="The speech emotion corpora folder (manifest.csv inside); default: the shared data's ser/.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Checkpoint folder to write.")] = Path(
        "checkpoints/ser"),
    cache: Annotated[Path | None, typer.Option(
        help="Log-mel cache folder (default ~/.cache/avatar/ser); it changes no result.")] = None,
    cnn_steps: Annotated[int | None, typer.Option(
        help="Steps of the log-mel CNN, averaged with the MLPs (0: the MLPs alone); default: the shipped "
        "model's.")] = None,
    workers: Annotated[int, typer.Option(
        help="Processes for the features and the models (default: one per CPU); any number gives the same "
        "weights.")] = 0,
) -> None:
    """Train the speech emotion recognizer on RAVDESS, CREMA-D, TESS and EmoDB: speaker folds, cross-corpus, all.

    Example: avatar train ser -o checkpoints/ser (--data: the shared data's ser/ folder unless given)
    """
    from avatar.recognizers.train_ser import TrainConfig
    from avatar.recognizers.train_ser import train_ser as run

    def report(stage: str, fraction: float) -> None:
        typer.echo(f"\r{stage}: {100 * fraction:5.1f} %", nl=fraction >= 1, err=True)

    config = TrainConfig() if cnn_steps is None else TrainConfig(cnn_steps=cnn_steps)
    results = run(data or shared_data("ser"), output, report, config, cache_dir=cache,
                  workers=workers or os.cpu_count() or 1)
    corpora = results["speaker_folds"]["corpora"]
    typer.echo(f"wrote {output}: UAR on held-out speakers " + ", ".join(
        f"{name} {100 * r['uar']:.1f} %" for name, r in corpora.items()))


@train_app.command("motion")
@_user_errors
def train_motion(
    data: Annotated[Path, typer.Option(help="A corpus folder (python -m avatar.training.corpus) or BEAT takes.")],
    output: Annotated[Path, typer.Option("-o", "--out", "--output", help="Checkpoint folder to write.")] = Path(
        "checkpoints/motion-diffusion"),
    config: Annotated[Path | None, typer.Option(
        help="A train_config.json (or a checkpoint folder holding one) whose last run's settings to start from; "
        "default: the shipped recipe (docs/training.md).")] = None,
    max_minutes: Annotated[float | None, typer.Option(
        help=f"Wall-clock budget; the model is saved when it runs out. [recipe: {RECIPE.max_minutes:g}]")] = None,
    vae_steps: Annotated[int | None, typer.Option(
        help=f"Steps of the VAE stage (at most). [recipe: {RECIPE.vae.steps}]")] = None,
    denoiser_steps: Annotated[int | None, typer.Option(
        help="Steps of the denoiser stage, or of its fine-tuning with --finetune (at most). "
        f"[recipe: {RECIPE.denoiser.steps}; fine-tuning {RECIPE.finetune.steps}]")] = None,
    seed: Annotated[int | None, typer.Option(
        help=f"Seed of the data order and initialisation. [recipe: {RECIPE.seed}]")] = None,
    finetune: Annotated[Path | None, typer.Option(
        help="A trained checkpoint folder to continue from: its VAEs are kept (a body decoder that reads the speech "
        "is first replaced by one that does not) and its denoiser trains --denoiser-steps more.")] = None,
    event_weight: Annotated[float | None, typer.Option(
        help="Weight of the denoiser's loss on decoded blinks, eye movements and gaze. "
        f"[recipe: {RECIPE.denoiser.event_weight:g}]")] = None,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", metavar="NAME=VALUE", help="Any other setting, e.g. --set denoiser.lr=3e-4 (repeatable; the "
        "names are in docs/training.md).")] = None,
) -> None:
    """Train the latent-diffusion face and body generator; resumes from OUT when a run was cut short.

    Writes OUT/train_config.json (every setting of this run and of the runs before it) beside the weights.
    Example: avatar train motion --data data/corpus --out checkpoints/motion-diffusion
    """
    from avatar.training.motion import recipe
    from avatar.training.motion import train_motion as run

    stage = "finetune" if finetune is not None else "denoiser"
    flags = {"max_minutes": max_minutes, "vae.steps": vae_steps, f"{stage}.steps": denoiser_steps, "seed": seed,
             f"{stage}.event_weight": event_weight}
    chosen = recipe(config, {k: v for k, v in flags.items() if v is not None}, settings or [])
    path = run(data, output, chosen, finetune=finetune)
    typer.echo(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(app())

"""What a render is asked for (RenderRequest), checked once, before any model loads.

Every surface builds its RenderRequest with check_request and hands it to AvatarPipeline.render: `avatar render` and
`avatar stream` before they load the models, so bad input costs a second, not the minutes of a render; the page
after its own limits; AvatarPipeline.__call__ from its arguments; `avatar batch` for each job as it runs, after
check_arguments (all but the speech) has checked every row of the manifest. Speech files are decoded here (once:
the decoder keeps the last file it read) and must hold speech; text must be speakable English. It imports no model
code, so `avatar batch` checks a whole manifest in the time Python takes to start.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.emotion import check_emotion, check_intensity, parse_keyframes
from avatar.errors import InputError
from avatar.frontend.audio import Audio, as_audio
from avatar.frontend.tts import check_text
from avatar.verification import MAX_ATTEMPTS

OUTPUTS: tuple[str, ...] = ("face", "body", "preview", "video")


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


SEED_MAX = 2**32 - 1  # numpy's and torch's generators both take it, with room for the loop's derived seeds
MAX_ATTEMPTS_LIMIT = 20
MAX_WORDS_PER_S = 8.0  # faster than any speaker: a transcript with more words than this is not of this audio
VIDEO_SIZE, VIDEO_SIZES = 512, (256, 1024)  # the talking head's side in pixels: default and range


@dataclass(frozen=True)
class RenderRequest:
    """A render's arguments, checked: decoded speech, clean text, canonical emotion and outputs."""

    audio: Audio | None  # the speech when it came as audio (16 kHz or its own rate), else None (text)
    speech_file: Path | None  # the file it came from, if any
    text: str | None
    transcript: str | None
    emotion: str
    intensity: float
    vad: tuple[float, float, float] | None
    emotion_keyframes: str | None
    style_reference: Audio | None
    style_reference_file: Path | None  # the file the style reference came from, if any
    portrait: object
    seed: int
    outputs: tuple[str, ...]
    verify: bool
    max_attempts: int
    size: int  # the talking-head video's side in pixels


def check_arguments(
    audio=None,
    text=None,
    *,
    transcript=None,
    emotion="neutral",
    intensity=0.8,
    vad=None,
    emotion_keyframes=None,
    style_reference=None,
    portrait=None,
    seed=0,
    outputs: Iterable[str] | str = ("face", "body"),
    verify=True,
    max_attempts=MAX_ATTEMPTS,
    size=VIDEO_SIZE,
) -> dict:
    """Every check of check_request but the speech's (InputError naming the first bad argument): the arguments
    normalised (outputs a tuple, the emotion's label canonical, text cleaned), audio and style reference as given.

    `avatar batch` runs it on every manifest row before any job starts, so a bad cell fails at once; the speech is
    decoded (by check_request) when the job runs.
    """
    if not isinstance(outputs, str) and not (
        isinstance(outputs, Iterable) and all(isinstance(o, str) for o in outputs)
    ):
        raise InputError(f'outputs is {outputs!r:.40}; give names such as "face,body" or ("face", "video")')
    outputs = parse_outputs(outputs)
    if not isinstance(emotion, str):
        raise InputError(
            f'emotion is {type(emotion).__name__} {emotion!r:.40}; give a label such as "happiness" or "auto"'
        )
    if isinstance(intensity, bool) or not isinstance(intensity, numbers.Real):
        raise InputError(
            f"intensity is {type(intensity).__name__} {intensity!r:.40}; give a number from 0 to 1, such as 0.8"
        )
    if emotion_keyframes is not None and not isinstance(emotion_keyframes, str):
        raise InputError(
            f'emotion_keyframes is {type(emotion_keyframes).__name__}; give text such as "0 s neutral, 2 s anger 0.8"'
        )
    emotion = check_emotion_request(emotion, float(intensity), emotion_keyframes)
    if vad is not None:
        vad = _check_vad(vad)
    seed = check_seed(seed)
    if (
        isinstance(max_attempts, bool)
        or not isinstance(max_attempts, numbers.Integral)
        or not (1 <= max_attempts <= MAX_ATTEMPTS_LIMIT)
    ):
        raise InputError(f"max_attempts is {max_attempts!r}; give 1 (check only) to {MAX_ATTEMPTS_LIMIT}")
    if not isinstance(verify, bool | np.bool_):
        raise InputError(f"verify is {verify!r:.40}; give True or False")
    if (audio is None) == (text is None):
        raise InputError("give the speech once: audio (a file or Audio) or text, not both and not neither")
    if text is not None and transcript is not None:
        raise InputError("transcript is for audio; with text the words are already known")
    if text is not None:
        text = check_text(text, "text")
        if not any(c.isalnum() for c in text):
            raise InputError(f"text {text!r:.60} has no words in it; give at least one word")
    if transcript is not None:
        transcript = check_text(transcript, "transcript", spoken=False)
    portrait = _check_portrait(portrait) if "video" in outputs else portrait
    size = check_video_size(size)
    return {
        "audio": audio,
        "text": text,
        "transcript": transcript,
        "emotion": emotion,
        "intensity": float(intensity),
        "vad": vad,
        "emotion_keyframes": emotion_keyframes,
        "style_reference": style_reference,
        "portrait": portrait,
        "seed": seed,
        "outputs": outputs,
        "verify": bool(verify),
        "max_attempts": int(max_attempts),
        "size": size,
    }


def check_request(audio=None, text=None, **arguments) -> RenderRequest:
    """The arguments of AvatarPipeline.__call__ (those of check_arguments) as a RenderRequest, checked (InputError
    naming the first bad one) and normalised, the speech decoded."""
    checked = check_arguments(audio, text, **arguments)
    speech, speech_file, transcript = None, None, checked["transcript"]
    if audio is not None:
        speech, speech_file = _speech(audio, "audio"), Path(audio) if isinstance(audio, str | os.PathLike) else None
        if transcript is not None:
            _check_transcript_length(transcript, speech)
    style_reference = checked["style_reference"]
    reference = _speech(style_reference, "style reference") if style_reference is not None else None
    reference_file = Path(style_reference) if isinstance(style_reference, str | os.PathLike) else None
    return RenderRequest(
        speech,
        speech_file,
        checked["text"],
        transcript,
        checked["emotion"],
        checked["intensity"],
        checked["vad"],
        checked["emotion_keyframes"],
        reference,
        reference_file,
        checked["portrait"],
        checked["seed"],
        checked["outputs"],
        checked["verify"],
        checked["max_attempts"],
        checked["size"],
    )


def check_video_size(size, name: str = "size") -> int:
    """The talking-head video's side in pixels: an even whole number in VIDEO_SIZES, or an InputError naming it.
    Even, because H.264 stores colour at half the resolution: an odd side would be padded to the next even one."""
    low, high = VIDEO_SIZES
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not low <= size <= high or size % 2:
        raise InputError(f"{name} {size!r:.40} is not an even whole number of pixels from {low} to {high} (the "
                         f"talking-head video is size x size); give e.g. {VIDEO_SIZE}")
    return int(size)


def check_seed(seed, name: str = "seed") -> int:
    """A seed as an int in 0..SEED_MAX, or an InputError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= SEED_MAX:
        raise InputError(f"{name} {seed!r:.40} is not a whole number from 0 to {SEED_MAX} (2^32 - 1); give e.g. 3")
    return int(seed)


def _speech(source, what: str) -> Audio:
    """Checked audio that holds speech (a voice, not a tone, noise or an offset)."""
    from avatar.frontend.voice_activity import voice_activity

    audio = as_audio(source)
    activity = voice_activity(audio)
    if not activity.has_speech:
        raise InputError(
            f"{what} '{audio.source}' has no speech in it: it sounds like {activity.describe()} "
            f"({activity.speech_s:.2f} s of voice in {activity.duration_s:.1f} s); give a recording "
            "of someone speaking"
        )
    return audio


def _check_transcript_length(transcript: str, audio: Audio) -> None:
    from avatar.frontend.pronounce import normalize_transcript

    words = len(normalize_transcript(transcript))
    if words > max(10.0, MAX_WORDS_PER_S * audio.duration):
        raise InputError(
            f"the transcript has {words} words for {audio.duration:.1f} s of speech in "
            f"'{audio.source}' (more than {MAX_WORDS_PER_S:g} a second); give what this audio says"
        )


def _check_vad(vad) -> tuple[float, float, float]:
    from avatar.emotion import check_vad

    try:
        values = check_vad(vad)
    except (TypeError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"vad is {vad!r:.40}; give three numbers (valence, arousal, dominance) in [-1, 1]") from None
    if values.shape != (3,):
        raise InputError(f"vad has shape {values.shape}; give one point: (valence, arousal, dominance)")
    return tuple(float(v) for v in np.asarray(vad, np.float64))  # as given, not rounded to float32


def _check_portrait(portrait):
    """A portrait path that exists and is not too large, an image array, or None (the default)."""
    from generators.talking_head.portrait import check_portrait_file

    if portrait is None or isinstance(portrait, np.ndarray):
        return portrait
    if isinstance(portrait, str | os.PathLike):
        check_portrait_file(portrait)
        return portrait
    raise InputError(
        f"portrait is {type(portrait).__name__}; give a photo's path, an RGB array or None for the default"
    )

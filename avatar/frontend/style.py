"""The speaker's style from prosody: pitch level and range, speaking rate, loudness dynamics and pause habits.

Measured from the input speech or from a separate reference clip (AMUSE-style: content from one clip, style
from another). Pitch and loudness come from the audio; rate and pauses from the clip's alignment when one is
given (vowel phones per second of word time; silences between words), else from the audio alone (less exact:
it finds about 85 % of the syllables of the BEAT takes). Dimensions of `Style.vector()`, each
centred and scaled by a typical adult conversational value so 0 is ordinary and +-1 is clearly more or less:

  0 f0_level      median F0 in semitones re 150 Hz, / 6       (low voice < 0 < high voice)
  1 f0_range      10th-90th percentile F0 span in semitones, (x - 8) / 4
  2 speech_rate   syllable nuclei per second of speaking time, (x - 4) / 1.5
  3 energy_range  10th-90th percentile loudness span in dB over speech, (x - 20) / 6
  4 pause_ratio   share of the utterance spent in pauses >= 0.15 s, (x - 0.15) / 0.1
  5 pause_length  mean pause length in seconds, (x - 0.45) / 0.3

Without an alignment, syllable nuclei are peaks of the 300-2000 Hz band loudness in voiced frames, at least 2 dB
above the dips around them and 0.08 s apart (after de Jong & Wempe 2009, "Praat script to detect syllable
nuclei"), and pauses are runs of frames 30 dB below the loud ones. The reference values are
round figures for conversational English, not a fitted norm. `face_style()` and `body_style()` turn a style into
the procedural animators' knobs: livelier pitch -> more head and brow motion, wider loudness -> larger
articulation and gestures, faster speech -> more frequent gestures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from avatar.errors import InputError
from avatar.frontend.alignment import Alignment
from avatar.frontend.audio import Audio, check_audio
from avatar.frontend.features import extract_features
from rigs.phones import VOWELS

STYLE_DIMS = ("f0_level", "f0_range", "speech_rate", "energy_range", "pause_ratio", "pause_length")
_CENTRE = np.array([0.0, 8.0, 4.0, 20.0, 0.15, 0.45])
_SCALE = np.array([6.0, 4.0, 1.5, 6.0, 0.1, 0.3])
_FPS = 100.0
_MIN_PAUSE_S = 0.15
_SPEECH_FLOOR_DB = 30.0  # frames this far below the loud frames are silence
_BAND = slice(8, 45)  # log-mel bands covering about 300-2000 Hz, where vowels are loudest


@dataclass(frozen=True)
class Style:
    """Prosodic habits of a speaker, in natural units (see the module docstring)."""

    f0_median_hz: float
    f0_range_st: float
    syllables_per_s: float
    energy_range_db: float
    pause_ratio: float
    mean_pause_s: float

    def vector(self) -> np.ndarray:
        """The six documented dimensions, centred and scaled (float32)."""
        f0_level = 12 * np.log2(self.f0_median_hz / 150.0)
        raw = np.array([f0_level, self.f0_range_st, self.syllables_per_s, self.energy_range_db, self.pause_ratio,
                        self.mean_pause_s])
        return ((raw - _CENTRE) / _SCALE).astype(np.float32)

    @classmethod
    def from_vector(cls, vector) -> Style:
        """The style whose vector() is `vector` (six values; see STYLE_DIMS)."""
        v = np.asarray(vector, np.float64) * _SCALE + _CENTRE
        if v.shape != (len(STYLE_DIMS),) or not np.isfinite(v).all():
            raise InputError(f"a style vector has {len(STYLE_DIMS)} finite values ({', '.join(STYLE_DIMS)})")
        return cls(float(150.0 * 2 ** (v[0] / 12)), float(max(v[1], 0.0)), float(max(v[2], 0.5)),
                   float(max(v[3], 0.0)), float(np.clip(v[4], 0.0, 0.9)), float(max(v[5], 0.0)))

    def as_dict(self) -> dict:
        """Natural units and the vector, for reports."""
        return {**{k: round(v, 4) for k, v in asdict(self).items()},
                "vector": dict(zip(STYLE_DIMS, np.round(self.vector(), 3).tolist(), strict=True))}

    def face_style(self):
        """The procedural face's knobs for this style."""
        from generators.procedural.face import FaceStyle

        v = np.clip(self.vector(), -2, 2)
        return FaceStyle(articulation=float(1 + 0.1 * v[3]), head_motion=float(1 + 0.2 * v[1]),
                         brow_motion=float(1 + 0.2 * v[1]), gaze_aversion=float(1 + 0.15 * v[4]))

    def body_style(self):
        """The procedural body's knobs for this style."""
        from generators.procedural.gestures import BodyStyle

        v = np.clip(self.vector(), -2, 2)
        return BodyStyle(rate=float(1 + 0.15 * v[2]), amplitude=float(1 + 0.12 * v[3] + 0.08 * v[1]))


def estimate_style(audio: Audio, alignment: Alignment | None = None) -> Style:
    """The style of one speaker's clip (at least a few words), using its alignment when given."""
    audio = check_audio(audio)
    f = extract_features(audio, _FPS)
    db = 20 * np.log10(f.rms[:, 0].astype(np.float64) + 1e-5)
    speech = gaussian_filter1d(db, 2) > np.percentile(db, 95) - _SPEECH_FLOOR_DB
    voiced = speech & (f.voiced_prob[:, 0] > 0.5) & (f.f0_hz[:, 0] > 0)
    if voiced.sum() < 0.3 * _FPS:
        raise InputError("the clip has under 0.3 s of voiced speech, too little to read a speaking style from; "
                         "give a clip with at least a few words")
    semitones = 12 * np.log2(f.f0_hz[voiced, 0] / 150.0)
    low, high = np.percentile(semitones, [10, 90])
    e_low, e_high = np.percentile(db[speech], [10, 90])
    words = [w for w in alignment.words if w.label.strip()] if alignment is not None else []
    if words:
        syllables = sum(p.label.rstrip("012") in VOWELS for p in alignment.phones)
        speaking = sum(w.end - w.start for w in words)
        gaps = [b.start - a.end for a, b in zip(words, words[1:], strict=False)]
        pauses = [g for g in gaps if g >= _MIN_PAUSE_S]
        span = words[-1].end - words[0].start
    else:
        pauses = [n / _FPS for n in _pauses(speech)]
        first, last = np.flatnonzero(speech)[[0, -1]]
        span = (last - first + 1) / _FPS
        speaking = span - sum(pauses)
        syllables = len(_syllable_nuclei(f.log_mel, voiced))
    return Style(
        f0_median_hz=float(150.0 * 2 ** (np.median(semitones) / 12)),
        f0_range_st=float(high - low),
        syllables_per_s=float(syllables / max(speaking, 1e-3)),
        energy_range_db=float(e_high - e_low),
        pause_ratio=float(sum(pauses) / max(span, 1e-3)),
        mean_pause_s=float(np.mean(pauses)) if pauses else 0.0,
    )


def _pauses(speech: np.ndarray) -> list[int]:
    """Lengths (frames) of the silent runs of at least _MIN_PAUSE_S between the first and last speech frame."""
    inside = speech[np.flatnonzero(speech)[0] : np.flatnonzero(speech)[-1] + 1]
    edges = np.flatnonzero(np.diff(np.r_[1, inside.astype(np.int8), 1]))
    runs = edges[1::2] - edges[::2]  # silent runs, from the changes 1->0 and 0->1
    return [int(r) for r in runs if r >= _MIN_PAUSE_S * _FPS]


def _syllable_nuclei(log_mel: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Frame indices of 300-2000 Hz loudness peaks in voiced frames: about one per syllable."""
    band = 10 * np.log10(np.exp(log_mel[:, _BAND].astype(np.float64)).sum(1) + 1e-9)
    peaks = prominent_peaks(gaussian_filter1d(band, 1.0), prominence=2.0, distance=int(0.08 * _FPS))
    return peaks[voiced[peaks]]


def prominent_peaks(x: np.ndarray, prominence: float, distance: int) -> np.ndarray:
    """Indices of the local maxima of x at least `distance` apart (the higher kept) and `prominence` above the
    higher of the two lowest points between them and the nearest higher sample on each side.

    The peaks scipy.signal.find_peaks(x, prominence=, distance=) finds, without importing scipy.signal (half a
    second of every process start, for this one call).
    """
    rising = np.flatnonzero(np.diff(x) > 0) + 1  # x[i - 1] < x[i]: a maximum or a plateau may start at i
    peaks = []
    for start in rising:
        end = start
        while end < len(x) - 1 and x[end + 1] == x[start]:
            end += 1
        if end < len(x) - 1 and x[end + 1] < x[start]:
            peaks.append((start + end) // 2)  # the middle of a flat top
    peaks = np.asarray(peaks, np.int64)
    keep = np.ones(len(peaks), bool)
    for j in np.argsort(x[peaks])[::-1]:  # the highest first; each removes its lower neighbours within distance
        if keep[j]:
            near = np.abs(peaks - peaks[j]) < distance
            near[j] = False
            keep &= ~near
    peaks = peaks[keep]
    prominent = []
    for peak in peaks:
        higher = np.flatnonzero(x > x[peak])
        left, right = higher[higher < peak], higher[higher > peak]
        low_left = x[(left[-1] + 1 if len(left) else 0): peak + 1].min()
        low_right = x[peak: (right[0] if len(right) else len(x))].min()
        prominent.append(x[peak] - max(low_left, low_right) >= prominence)
    return peaks[np.asarray(prominent, bool)] if len(peaks) else peaks

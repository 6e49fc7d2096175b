"""Prosody of a span of speech: the pitch (F0), voicing and loudness statistics that carry arousal and emotion.

The log-mel functionals (`ser_functionals`) see the spectrum; 64 mel bands are too coarse for the voice's pitch, which
the vocal-affect literature ranks among the strongest cues (anger, fear, happiness and surprise raise F0 and widen
its range; sadness and boredom lower and flatten it). So each span also gets statistics of a pitch track on the
same 100 Hz frame grid as the log-mel: F0 from the project's YIN tracker (`avatar.frontend.features`), its voicing
probability and the frame's RMS level. Pitch is in semitones re 100 Hz; loudness in dB relative to the span's
loudest frame, so recording gain does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from avatar.frontend.audio import Audio
from avatar.frontend.features import extract_features
from avatar.recognizers.ser_logmel import FPS, HOP, SAMPLE_RATE, n_frames

TRACK_COLUMNS = 3  # F0 in Hz (0 where unvoiced), voicing probability, RMS level
ACTIVE_RANGE_DB = 40.0  # frames within this of the span's loudest are speech (as the log-mel functionals)
_STATS = 5  # mean, standard deviation, 10th, 50th and 90th percentile
N_PROSODY = 2 * _STATS + 12


def pitch_track(samples: np.ndarray) -> np.ndarray:
    """(n_frames(len(samples)), TRACK_COLUMNS) float32 track of 16 kHz samples, frame j centred on sample HOP j."""
    features = extract_features(Audio(np.asarray(samples, np.float32), SAMPLE_RATE, "speech"), fps=float(FPS))
    track = np.hstack([features.f0_hz, features.voiced_prob, features.rms]).astype(np.float32)
    n = n_frames(len(samples))
    if len(track) >= n:
        return track[:n]
    return np.vstack([track, np.zeros((n - len(track), TRACK_COLUMNS), np.float32)])


def pitch_track_stream(blocks: Iterable[np.ndarray], block_samples: int) -> Iterator[np.ndarray]:
    """The track of audio arriving in blocks of any size, in pieces that together have n_frames(total) frames.

    The audio is tracked in pieces of block_samples (a multiple of HOP), each on its own, so memory stays bounded
    however long the input; a clip shorter than that is tracked whole, as `pitch_track` does."""
    assert block_samples % HOP == 0
    buffer, last = np.zeros(0, np.float32), None
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, np.float32)])
        while len(buffer) > block_samples:  # strictly more: the stream's final piece is tracked with its end frame
            last = pitch_track(buffer[:block_samples])
            buffer = buffer[block_samples:]
            yield last[:-1]  # its last frame is centred on the next piece's first sample
    if len(buffer) or last is None:
        yield pitch_track(buffer)


def _stats(x: np.ndarray) -> list[float]:
    if len(x) < 2:
        return [0.0] * _STATS
    return [float(x.mean()), float(x.std()), *np.percentile(x, (10, 50, 90)).tolist()]


def prosody_functionals(track: np.ndarray) -> np.ndarray:
    """One float32 vector of N_PROSODY statistics of a (T, TRACK_COLUMNS) span of a pitch track."""
    f0, voicing, rms = (np.asarray(track[:, k], np.float64) for k in range(TRACK_COLUMNS))
    level = 20 * np.log10(np.maximum(rms, 1e-7))
    level = level - level.max() if len(level) else level  # relative to the span's loudest frame
    active = level > -ACTIVE_RANGE_DB
    voiced = active & (f0 > 0)
    semitones = 12 * np.log2(np.maximum(f0, 1.0) / 100.0)
    st, lv = semitones[voiced], level[voiced]
    # Frame-to-frame changes within voiced runs: pitch and loudness micro-variation (jitter and shimmer at 10 ms).
    both = voiced[1:] & voiced[:-1]
    d_st, d_level = np.diff(semitones)[both], np.diff(level)[both]
    starts = np.diff(np.concatenate([[0], voiced.astype(np.int8)])) == 1
    seconds = max(len(f0), 1) / FPS
    runs = int(starts.sum())
    t = np.flatnonzero(voiced) / FPS
    slope = float(np.polyfit(t, st, 1)[0]) if len(st) > 2 and np.ptp(t) > 0 else 0.0
    correlation = float(np.corrcoef(st, lv)[0, 1]) if len(st) > 2 and st.std() > 0 and lv.std() > 0 else 0.0
    unvoiced = active & ~voiced
    values = [
        *_stats(st),
        float(np.ptp(st)) if len(st) else 0.0,
        slope,
        float(np.abs(d_st).mean()) if len(d_st) else 0.0,
        float(d_st.std()) if len(d_st) else 0.0,
        float((d_st > 0).mean()) if len(d_st) else 0.0,
        float(voiced.sum() / max(active.sum(), 1)),
        runs / seconds,
        float(voiced.sum() / FPS / runs) if runs else 0.0,
        *_stats(lv),
        float(np.abs(d_level).mean()) if len(d_level) else 0.0,
        correlation,
        float(voicing[active].mean()) if active.any() else 0.0,
        float(lv.mean() - level[unvoiced].mean()) if len(lv) and unvoiced.any() else 0.0,
    ]
    return np.nan_to_num(np.asarray(values, np.float64)).astype(np.float32)

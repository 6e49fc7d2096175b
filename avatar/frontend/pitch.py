"""Pitch for the voice: its level moved and its range widened or narrowed by pitch-synchronous overlap-add
(TD-PSOLA), which keeps the formants.

The voice (Piper) has no pitch control of its own, so the emotion presets reshape the rendered speech's pitch: its
level by a few semitones, and its range (the intonation's swing around the utterance's median pitch, which the
vocal-affect literature finds wider in anger, happiness, fear and surprise and narrower in sadness). The method is
Moulines and Charpentier's (1990, Speech Communication 9): cut the voiced speech into grains two periods long, each
centred on a pitch mark (one per glottal cycle), and lay them down again closer together to raise the pitch or
further apart to lower it, by a factor that may differ from cycle to cycle. Each grain carries the vocal tract's
response to one glottal pulse, so the formants, and with them the speaker's size and vowel colour, stay where they
were; the earlier shifter (a phase-vocoder stretch, then resampling) moved every frequency, formants too, which
made a raised voice thinner and smaller and left a phasey colour. Unvoiced stretches (fricatives, pauses) are
copied through.
"""

from __future__ import annotations

import numpy as np

WEAK_VOICING = 0.15  # voicing probability from which a frame next to voiced ones is shifted with them
EDGE_FRAMES = 5  # ... when within this many 10 ms frames of them
UNVOICED_STEP_S = 0.005  # grain spacing where there is no pitch (half the grain: the windows sum to one)
RANGE_SMOOTHING = 7  # cycles over which the pitch contour is median-smoothed before its range is scaled
RANGE_CAP = 0.75  # octaves from the median that a widened range may reach (lively speech spans about 1.5 in all)


def shift_pitch(samples: np.ndarray, sample_rate: float, semitones: float, pitch_range: float = 1.0) -> np.ndarray:
    """The mono samples with the pitch moved by `semitones` and its range around the median pitch scaled by
    `pitch_range` (1 keeps it, 0 makes it flat, 2 doubles its swing in semitones), the formants kept; same length and
    dtype."""
    if (not semitones and pitch_range == 1.0) or len(samples) == 0:
        return samples
    x = np.asarray(samples, np.float64)
    period = periods(x, sample_rate)
    marks = pitch_marks(x, period, round(UNVOICED_STEP_S * sample_rate))
    factors = 2.0 ** (semitones / 12.0 + _range_change(_octaves_from_median(marks, period), pitch_range))
    return _overlap_add(x, marks, period, factors).astype(samples.dtype)


def _range_change(octaves: np.ndarray, pitch_range: float) -> np.ndarray:
    """The octaves to add at each mark so that its distance from the median pitch is scaled by `pitch_range`; a
    widened swing stops at RANGE_CAP (a voice's high onset, already far above, would squeak), and a stretch already
    beyond it stays where it is."""
    limit = np.maximum(np.abs(octaves), RANGE_CAP)
    return np.clip(octaves * pitch_range, -limit, limit) - octaves


def _octaves_from_median(marks: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Each voiced mark's pitch in octaves above the median voiced pitch, from the cycle lengths between marks,
    smoothed over RANGE_SMOOTHING cycles (the intonation, not the cycle-to-cycle jitter, is what a range change
    should scale) and kept within one octave (a tracking slip must not swing the pitch); 0 at unvoiced marks."""
    voiced = (period[marks] > 0) & np.append(period[marks[1:]] > 0, False)
    octaves = np.zeros(len(marks))
    if voiced.sum() < 2:
        return octaves
    cycles = np.diff(marks)[voiced[:-1]].astype(float)
    pitch = -np.log2(cycles / np.median(cycles))
    padded = np.pad(pitch, RANGE_SMOOTHING // 2, mode="edge")
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(padded, RANGE_SMOOTHING), axis=1)
    octaves[np.flatnonzero(voiced)] = np.clip(smooth, -1.0, 1.0)
    return octaves


def periods(x: np.ndarray, sample_rate: float) -> np.ndarray:
    """The pitch period in samples at every sample (0 where unvoiced), from the project's YIN tracker at 100 Hz.

    Frames the tracker finds only weakly voiced (the edges of voiced stretches, quiet voicing) are shifted too, at the
    pitch of the nearest voiced frame within EDGE_FRAMES: left as they were they would keep the old pitch there."""
    from avatar.frontend.audio import Audio
    from avatar.frontend.features import extract_features

    fps = 100.0
    features = extract_features(Audio(x.astype(np.float32), int(sample_rate), "speech"), fps=fps)
    f0, weak = features.f0_hz[:, 0], features.voiced_prob[:, 0] >= WEAK_VOICING
    voiced = np.flatnonzero(f0 > 0)
    if len(voiced):
        frames = np.arange(len(f0))
        nearest = voiced[np.clip(np.searchsorted(voiced, frames), 1, len(voiced) - 1) - 1]
        after = voiced[np.clip(np.searchsorted(voiced, frames), 0, len(voiced) - 1)]
        nearest = np.where(np.abs(after - frames) < np.abs(nearest - frames), after, nearest)
        fill = weak & (f0 == 0) & (np.abs(nearest - frames) <= EDGE_FRAMES)
        f0 = np.where(fill, f0[nearest], f0)
    frame = np.minimum((np.arange(len(x)) * fps / sample_rate).astype(int), len(f0) - 1)
    f0 = f0[frame]
    return np.where(f0 > 0, sample_rate / np.maximum(f0, 1e-6), 0.0)


def pitch_marks(x: np.ndarray, period: np.ndarray, unvoiced_step: int) -> np.ndarray:
    """Sample indices of the analysis marks: one per glottal cycle where voiced, every unvoiced_step elsewhere.

    A voiced run's first mark is its strongest peak within one period; each next mark is one cycle on, the cycle
    being the lag (within 20 % of the tracked period) at which the waveform best repeats the one around the last
    mark. So the marks sit at the same point of every cycle, as PSOLA needs, whichever peak is tallest."""
    polarity = 1.0 if x.max() >= -x.min() else -1.0
    marks, t = [], 0
    while t < len(x):
        p = int(round(period[t]))
        if not p:
            marks.append(t)
            t += unvoiced_step
            continue
        if not marks or not period[marks[-1]]:
            mark = t + int(np.argmax(polarity * x[t : t + p]))
        else:
            mark = marks[-1] + _best_lag(x, marks[-1], p)
        if mark >= len(x):
            break
        marks.append(mark)
        t = mark + p
    return np.array(marks)


def _best_lag(x: np.ndarray, at: int, p: int) -> int:
    """The lag in [0.8 p, 1.2 p] at which the period of x centred on `at` is best repeated (normalised correlation)."""
    half = p // 2
    lo, hi = int(0.8 * p), int(np.ceil(1.2 * p))
    if at - half < 0 or at + hi + half + 1 > len(x):
        return p
    reference = x[at - half : at + half + 1]
    candidates = np.lib.stride_tricks.sliding_window_view(x[at + lo - half : at + hi + half + 1], len(reference))
    energy = np.einsum("ij,ij->i", candidates, candidates)
    score = candidates @ reference / np.sqrt(np.maximum(energy, 1e-12))
    return lo + int(np.argmax(score))


def _overlap_add(x: np.ndarray, marks: np.ndarray, period: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Grains of x, Hann-windowed and centred on the analysis marks, laid down again and normalised by the summed
    windows (so the level stays). In a voiced run each synthesis mark takes the nearest analysis mark's grain, two of
    its cycles long (a cycle: the distance to the next mark), and the next synthesis mark follows that cycle / its
    factor later; the run starts on its first analysis mark. Elsewhere each grain goes back where it was, reaching to
    both neighbouring marks. At factors of 1 every grain goes back where it was: the speech comes back as it was."""
    gaps = np.diff(marks)
    voiced = (period[marks] > 0) & np.append(period[marks[1:]] > 0, False)
    reach = np.maximum(np.append(gaps, 1), np.insert(gaps, 0, 1))  # to the farther neighbour
    # Voiced grains reach one cycle each way, or one output cycle when that is shorter (raising the pitch): then
    # each output cycle is made of two grains, never three, which keeps it from sounding reverberant.
    half = np.where(voiced, np.round(np.append(gaps, 1) / np.maximum(factors, 1.0)).astype(int), reach)
    pad = int(half.max()) + 2
    padded = np.pad(x, pad)
    out, weight = np.zeros(len(padded)), np.zeros(len(padded))
    k, s = 0, float(marks[0])
    while k < len(marks):
        if voiced[k]:
            at = int(round(s))
        else:
            at = marks[k]
        window = np.hanning(2 * half[k] + 1)
        out[at + pad - half[k] : at + pad + half[k] + 1] += (
            padded[marks[k] + pad - half[k] : marks[k] + pad + half[k] + 1] * window
        )
        weight[at + pad - half[k] : at + pad + half[k] + 1] += window
        if voiced[k]:
            s += gaps[k] / factors[k]
            nearest = int(np.searchsorted(marks, s))  # the next synthesis mark's grain: the nearest in the run
            if nearest == len(marks) or (nearest > 0 and s - marks[nearest - 1] < marks[nearest] - s):
                nearest -= 1
            k = nearest if voiced[nearest] or nearest > k else k + 1
        else:
            k += 1
            s = float(marks[k]) if k < len(marks) else s
    out = out[pad : pad + len(x)]
    weight = weight[pad : pad + len(x)]
    return out / np.maximum(weight, 1e-3) * (weight > 1e-3)

"""Lip-sync from timed phones: ARPAbet phones -> articulator targets -> coarticulated motion -> ARKit mouth shapes.

Coarticulation follows Cohen & Massaro (1993), "Modeling coarticulation in synthetic visual speech": every phone
sets a target for each articulator together with a dominance, which is flat over the middle of the phone and
decays exponentially before it (anticipation) and after it (carry-over). At every instant an articulator is the
dominance-weighted mean of all the targets around it. Phones that do not care about an articulator hold it only
weakly, so their neighbours win: a rounded vowel rounds the consonants before it, the jaw stays low through a
short schwa between two consonants (undershoot), and /h/ simply takes the shape of what follows. Bilabials hold the
lips hard, and `seal_bilabials` runs last, after every other layer, to guarantee that the lips meet on every
P, B and M however short.

Articulators (all in [0, 1]) and the ARKit shapes they drive (see `mouth_shapes`):

| articulator | meaning                                      | ARKit                                         |
|-------------|----------------------------------------------|-----------------------------------------------|
| jaw         | jaw opening: vowel height, scaled by loudness | jawOpen                                       |
| seal        | lips meet in front of the (open) jaw           | mouthClose = seal * jawOpen                   |
| press       | lips pressed together (P > B > M)             | mouthPress L/R, a little mouthRollUpper       |
| pucker      | lips protruded and rounded (UW, W, OW)        | mouthPucker                                   |
| funnel      | lips funnelled open (OW, AO, SH, ER)           | mouthFunnel                                   |
| spread      | lip corners pulled wide (IY, IH, EY, S)       | mouthStretch L/R                              |
| tuck        | lower lip tucked under the upper teeth (F, V) | mouthRollLower, mouthShrugLower, mouthUpperUp |
| tongue      | tongue tip visible (TH, DH; a little for L)   | tongueOut (ARKit's only tongue shape)         |
| show        | lips part beyond the jaw, teeth show          | mouthUpperUp, mouthLowerDown L/R              |
"""

from __future__ import annotations

import numpy as np

from generators.conditioning import Content, Segment
from generators.procedural.signals import is_silence, loudness, smooth
from rigs.clock import frame_times
from rigs.face.arkit import INDEX, N_BLENDSHAPES
from rigs.phones import BILABIALS

ARTICULATORS = ("jaw", "seal", "press", "pucker", "funnel", "spread", "tuck", "tongue", "show")
A = {name: i for i, name in enumerate(ARTICULATORS)}

# Targets per phone, in ARTICULATORS order. Jaw openings follow vowel height (open AA/AE/AO > mid > close IY/UW);
# consonants keep the jaw nearly closed, sibilants closest (the teeth meet to make the hiss).
#          jaw   seal  press pucker funnel spread tuck  tongue show
_TARGETS: dict[str, tuple[float, ...]] = {
    "AA": (0.62, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 0.35),
    "AE": (0.55, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.40),
    "AH": (0.48, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.25),
    "AO": (0.55, 0.0, 0.0, 0.25, 0.45, 0.0, 0.0, 0.0, 0.20),
    "AW": (0.58, 0.0, 0.0, 0.0, 0.10, 0.05, 0.0, 0.0, 0.30),  # start of the glide to UH
    "AY": (0.55, 0.0, 0.0, 0.0, 0.0, 0.10, 0.0, 0.0, 0.30),  # start of the glide to IH
    "EH": (0.38, 0.0, 0.0, 0.0, 0.0, 0.30, 0.0, 0.0, 0.35),
    "EY": (0.34, 0.0, 0.0, 0.0, 0.0, 0.30, 0.0, 0.0, 0.30),  # glides to IY
    "ER": (0.22, 0.0, 0.0, 0.25, 0.35, 0.0, 0.0, 0.0, 0.15),
    "IH": (0.22, 0.0, 0.0, 0.0, 0.0, 0.40, 0.0, 0.0, 0.25),
    "IY": (0.15, 0.0, 0.0, 0.0, 0.0, 0.55, 0.0, 0.0, 0.25),
    "OW": (0.38, 0.0, 0.0, 0.35, 0.55, 0.0, 0.0, 0.0, 0.10),  # glides to UW
    "OY": (0.42, 0.0, 0.0, 0.30, 0.45, 0.0, 0.0, 0.0, 0.10),  # glides to IY
    "UH": (0.22, 0.0, 0.0, 0.45, 0.30, 0.0, 0.0, 0.0, 0.05),
    "UW": (0.15, 0.0, 0.0, 0.75, 0.25, 0.0, 0.0, 0.0, 0.0),
    "P": (0.04, 1.0, 0.55, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "B": (0.05, 1.0, 0.40, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "M": (0.05, 1.0, 0.30, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "F": (0.08, 0.35, 0.0, 0.0, 0.0, 0.0, 0.75, 0.0, 0.0),
    "V": (0.08, 0.35, 0.0, 0.0, 0.0, 0.0, 0.70, 0.0, 0.0),
    "TH": (0.14, 0.0, 0.0, 0.0, 0.0, 0.10, 0.0, 0.40, 0.15),
    "DH": (0.12, 0.0, 0.0, 0.0, 0.0, 0.10, 0.0, 0.30, 0.15),
    "T": (0.12, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.20),
    "D": (0.13, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.20),
    "N": (0.12, 0.0, 0.0, 0.0, 0.0, 0.10, 0.0, 0.0, 0.15),
    "L": (0.18, 0.0, 0.0, 0.0, 0.0, 0.10, 0.0, 0.12, 0.15),
    "S": (0.05, 0.0, 0.0, 0.0, 0.0, 0.35, 0.0, 0.0, 0.30),
    "Z": (0.05, 0.0, 0.0, 0.0, 0.0, 0.30, 0.0, 0.0, 0.30),
    "SH": (0.08, 0.0, 0.0, 0.35, 0.55, 0.0, 0.0, 0.0, 0.35),
    "ZH": (0.08, 0.0, 0.0, 0.35, 0.50, 0.0, 0.0, 0.0, 0.35),
    "CH": (0.08, 0.0, 0.0, 0.30, 0.50, 0.0, 0.0, 0.0, 0.30),
    "JH": (0.08, 0.0, 0.0, 0.30, 0.45, 0.0, 0.0, 0.0, 0.30),
    "K": (0.18, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.15),
    "G": (0.18, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.15),
    "NG": (0.15, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.10),
    "R": (0.14, 0.0, 0.0, 0.40, 0.25, 0.0, 0.0, 0.0, 0.10),
    "W": (0.10, 0.0, 0.0, 0.85, 0.20, 0.0, 0.0, 0.0, 0.0),
    "Y": (0.12, 0.0, 0.0, 0.0, 0.0, 0.40, 0.0, 0.0, 0.20),
    "HH": (0.20, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.10),
    "REST": (0.02, 0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
}
# Diphthongs glide to a second target over their last 40 % (lax glide targets: the glide undershoots).
_GLIDES = {"AW": "UH", "AY": "IH", "EY": "IY", "OW": "UW", "OY": "IY"}
_GLIDE_FRACTION = 0.4

# How hard each phone class holds each articulator: Cohen-Massaro's dominance magnitude alpha (relative).
#               jaw  seal press pucker funnel spread tuck tongue show
_STRENGTH: dict[str, tuple[float, ...]] = {
    "vowel": (1.0, 0.5, 0.4, 0.45, 0.45, 0.5, 0.4, 0.3, 0.6),
    "rounded": (0.9, 0.5, 0.4, 1.2, 1.0, 0.8, 0.4, 0.3, 0.5),
    "bilabial": (2.0, 4.0, 3.0, 0.15, 0.15, 0.15, 2.0, 1.0, 3.0),
    "labiodental": (0.9, 1.0, 0.5, 0.15, 0.15, 0.3, 3.0, 1.0, 1.0),
    "dental": (0.6, 0.4, 0.3, 0.1, 0.1, 0.2, 0.6, 2.0, 0.4),
    "alveolar": (0.45, 0.3, 0.3, 0.1, 0.1, 0.25, 0.5, 0.8, 0.3),
    "sibilant": (0.9, 0.3, 0.3, 0.15, 0.15, 0.5, 0.5, 0.8, 0.5),
    "postalveolar": (0.8, 0.3, 0.3, 0.8, 0.8, 0.4, 0.5, 0.8, 0.5),
    "velar": (0.35, 0.3, 0.3, 0.1, 0.1, 0.2, 0.5, 0.5, 0.2),
    "approximant": (0.4, 0.3, 0.3, 0.8, 0.6, 0.4, 0.5, 0.5, 0.3),
    "weak": (0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05),  # /h/ and unknown labels: neighbours decide
    "rest": (0.6, 0.8, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.6),
}
_CLASS = {
    **dict.fromkeys(("AA", "AE", "AH", "AW", "AY", "EH", "EY", "IH", "IY", "OY"), "vowel"),
    **dict.fromkeys(("AO", "ER", "OW", "UH", "UW"), "rounded"),
    **dict.fromkeys(("P", "B", "M"), "bilabial"),
    **dict.fromkeys(("F", "V"), "labiodental"),
    **dict.fromkeys(("TH", "DH"), "dental"),
    **dict.fromkeys(("T", "D", "N", "L"), "alveolar"),
    **dict.fromkeys(("S", "Z"), "sibilant"),
    **dict.fromkeys(("SH", "ZH", "CH", "JH"), "postalveolar"),
    **dict.fromkeys(("K", "G", "NG"), "velar"),
    **dict.fromkeys(("R", "W", "Y"), "approximant"),
    "HH": "weak",
    "REST": "rest",
}
# Dominance decay time constants (anticipation, carry-over) in seconds: the lips round early (Benguerel & Cowan
# 1974 saw rounding start up to several consonants ahead), the lips close and part fast, the jaw is in between.
_TAU = np.array([
    (0.060, 0.050),  # jaw
    (0.025, 0.025),  # seal
    (0.025, 0.025),  # press
    (0.110, 0.070),  # pucker
    (0.090, 0.060),  # funnel
    (0.050, 0.045),  # spread
    (0.030, 0.030),  # tuck
    (0.030, 0.030),  # tongue
    (0.040, 0.040),  # show
])
_PLATEAU = 0.6  # dominance is flat over the middle 60 % of a phone
_RATE = 100.0  # internal blending rate (Hz): phones of 30 ms get a few samples
_MAX_PIECE_S = 0.4  # long pauses are cut into pieces so every segment's dominance window stays short
_SMOOTH_S = 0.015  # articulator inertia: a light Gaussian smoothing after blending


def _label(raw: str) -> str:
    label = raw.strip().upper().rstrip("012")
    return "REST" if is_silence(label) else label


def _segments(phones: tuple[Segment, ...], duration: float) -> list[Segment]:
    """Phones with rest segments in every gap and pause, diphthongs split, long segments cut into pieces."""
    out: list[Segment] = []
    clock = 0.0
    for start, end, raw in sorted(phones):
        if end <= start:
            continue
        if start > clock + 1e-3:
            out.append(Segment(clock, start, "REST"))
        label = _label(raw)
        if label in _GLIDES:
            split = end - _GLIDE_FRACTION * (end - start)
            out += [Segment(start, split, label), Segment(split, end, _GLIDES[label])]
        else:
            out.append(Segment(start, end, label))
        clock = max(clock, end)
    if duration > clock + 1e-3:
        out.append(Segment(clock, duration, "REST"))
    pieces = []
    for start, end, label in out:
        n = int(np.ceil((end - start) / _MAX_PIECE_S))
        step = (end - start) / n
        pieces += [Segment(start + i * step, start + (i + 1) * step, label) for i in range(n)]
    return pieces


def coarticulate(phones: tuple[Segment, ...], duration: float, times: np.ndarray) -> np.ndarray:
    """(len(times), 9) articulator values at `times` (seconds) from timed ARPAbet phones."""
    segments = _segments(phones, duration)
    targets = np.array([_TARGETS.get(label, _TARGETS["HH"]) for _, _, label in segments])  # (S, A)
    alpha = np.array([_STRENGTH[_CLASS.get(label, "weak")] for _, _, label in segments])  # (S, A)
    start = np.array([s.start for s in segments])
    end = np.array([s.end for s in segments])
    centre, half = (start + end) / 2, _PLATEAU * (end - start) / 2

    # Each segment influences samples within a few time constants of it: a band of K samples per segment.
    n = int(np.ceil(duration * _RATE)) + 1
    reach = 6 * _TAU.max()
    first = np.floor((start - reach) * _RATE).astype(int)
    width = int(np.ceil((_MAX_PIECE_S + 2 * reach) * _RATE)) + 2
    index = first[:, None] + np.arange(width)  # (S, K)
    t = index / _RATE - centre[:, None]
    distance = np.maximum(np.abs(t) - half[:, None], 0.0)  # (S, K)
    valid = ((index >= 0) & (index < n)).ravel()
    flat = index.ravel()[valid]
    blended = np.empty((n, len(ARTICULATORS)))
    for a, (tau_before, tau_after) in enumerate(_TAU):
        dominance = alpha[:, a, None] * np.exp(-distance / np.where(t < 0, tau_before, tau_after))
        d = dominance.ravel()[valid]
        weight = np.bincount(flat, d, n)
        blended[:, a] = np.bincount(flat, d * np.repeat(targets[:, a], width)[valid], n) / np.maximum(weight, 1e-12)
    blended = smooth(blended, _SMOOTH_S, _RATE)
    grid = np.arange(n) / _RATE
    return np.stack([np.interp(times, grid, blended[:, a]) for a in range(len(ARTICULATORS))], 1)


def articulate(content: Content, articulation: float = 1.0, jaw_gain: np.ndarray | float = 1.0) -> np.ndarray:
    """(T, 9) articulators for the content's phones, the jaw following loudness; from loudness alone without phones."""
    times = frame_times(content.n_frames, content.fps)
    loud = smooth(loudness(content.rms), 0.04, content.fps)
    if any(not is_silence(p.label) for p in content.phones):
        artic = coarticulate(content.phones, content.duration, times)
        # Louder speech opens the jaw wider (about x0.75 when quiet to x1.25 at the loud level).
        artic[:, A["jaw"]] *= 0.75 + 0.5 * loud
    else:  # no alignment: an open-close jaw from loudness and voicing, lips apart while sounding
        artic = np.zeros((content.n_frames, len(ARTICULATORS)))
        sounding = smooth(loud * np.clip(content.voiced * 1.5, 0, 1), 0.03, content.fps)
        artic[:, A["jaw"]] = 0.45 * sounding
        artic[:, A["seal"]] = np.clip(1 - 4 * sounding, 0, 1)
        artic[:, A["show"]] = 0.25 * sounding
    moving = [A[name] for name in ("jaw", "pucker", "funnel", "spread", "tuck", "show")]
    artic[:, moving] *= articulation
    artic[:, A["jaw"]] *= jaw_gain
    return np.clip(artic, 0.0, 1.0)


# Articulator -> ARKit shape weights (mouthClose is set from the final jaw, see `seal_lips`).
_SHAPES: dict[str, tuple[tuple[str, float], ...]] = {
    "jaw": (("jawOpen", 1.0),),
    "press": (("mouthPressLeft", 1.0), ("mouthPressRight", 1.0), ("mouthRollUpper", 0.2)),
    "pucker": (("mouthPucker", 1.0),),
    "funnel": (("mouthFunnel", 1.0),),
    "spread": (("mouthStretchLeft", 0.45), ("mouthStretchRight", 0.45)),
    "tuck": (("mouthRollLower", 0.8), ("mouthShrugLower", 0.25), ("mouthUpperUpLeft", 0.15),
             ("mouthUpperUpRight", 0.15)),
    "tongue": (("tongueOut", 1.0),),
    "show": (("mouthUpperUpLeft", 0.35), ("mouthUpperUpRight", 0.35), ("mouthLowerDownLeft", 0.7),
             ("mouthLowerDownRight", 0.7)),
}
MOUTH_MATRIX = np.zeros((len(ARTICULATORS), N_BLENDSHAPES))
for _name, _pairs in _SHAPES.items():
    for _shape, _w in _pairs:
        MOUTH_MATRIX[A[_name], INDEX[_shape]] = _w


def mouth_shapes(artic: np.ndarray) -> np.ndarray:
    """(T, 52) ARKit weights of the articulators (mouthClose still 0: set it with `seal_lips`)."""
    return artic @ MOUTH_MATRIX


def seal_lips(weights: np.ndarray, seal: np.ndarray) -> np.ndarray:
    """Set mouthClose so the lips meet by `seal` (0..1) in front of whatever the jaw ends up doing; in place."""
    weights[:, INDEX["mouthClose"]] = np.clip(seal, 0, 1) * weights[:, INDEX["jawOpen"]]
    return weights


# The closure pass: at a P/B/M the jaw comes up to at most this, and the lips part by no more than this.
CLOSURE_JAW = 0.08
CLOSURE_LIP = 0.08
_CLOSURE_SPREAD = (1.0, 0.55, 0.15)  # closure strength on the closure frame and one and two frames away
_APERTURE = [INDEX[n] for n in ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight")]


def closure_strength(phones: tuple[Segment, ...], n_frames: int, fps: float) -> np.ndarray:
    """(T,) how fully the lips must be closed: 1 on every frame inside a P/B/M (or the nearest one), tapering."""
    strength = np.zeros(n_frames)
    for start, end, raw in phones:
        if _label(raw) not in BILABIALS:
            continue
        inside = np.arange(int(np.ceil(start * fps - 1e-9)), int(np.ceil(end * fps - 1e-9)))
        if len(inside) == 0:  # shorter than a frame: close on the frame nearest its middle
            inside = np.array([int(round((start + end) / 2 * fps))])
        for offset, value in enumerate(_CLOSURE_SPREAD):
            for frames in (inside - offset, inside + offset):
                frames = frames[(frames >= 0) & (frames < n_frames)]
                strength[frames] = np.maximum(strength[frames], value)
    return strength


def seal_bilabials(weights: np.ndarray, phones: tuple[Segment, ...], fps: float) -> np.ndarray:
    """Close the lips on every P/B/M, whatever the layers above did: the last pass over the weights; in place."""
    c = closure_strength(phones, len(weights), fps)
    jaw = weights[:, INDEX["jawOpen"]]
    jaw += c * (np.minimum(jaw, CLOSURE_JAW) - jaw)
    close = weights[:, INDEX["mouthClose"]]
    close += c * (jaw - close)
    np.minimum(close, jaw, out=close)  # a lowered jaw takes the seal down with it: the lips never overlap
    aperture = weights[:, _APERTURE]
    weights[:, _APERTURE] = aperture + c[:, None] * (np.minimum(aperture, CLOSURE_LIP) - aperture)
    tongue = weights[:, INDEX["tongueOut"]]
    tongue *= 1 - c
    return weights

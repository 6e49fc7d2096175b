"""Phones to visemes: the 15 Oculus/Meta visemes, and a per-frame viseme track on the animation clock.

It sits in generators/ because both sides use it: the front end makes the viseme track, and the learned
generators read it as part of their content features.

The Oculus set is the de-facto standard of real-time lip-sync (Meta's OVRLipSync, Ready Player Me, VRChat,
many game rigs), so a track in it drops into existing avatars; its 15 classes keep the distinctions a viewer
sees (closed lips, lip-teeth, tongue-teeth, rounding, openness) and merge what only sounds different.

| viseme | ARPAbet phones          | what the mouth does                         |
|--------|-------------------------|---------------------------------------------|
| sil    | silence, pauses         | rest                                        |
| PP     | P B M                   | lips pressed together                       |
| FF     | F V                     | lower lip under the upper teeth             |
| TH     | TH DH                   | tongue tip between the teeth                |
| DD     | T D                     | tongue on the ridge, jaw slightly open      |
| kk     | K G NG                  | back of the tongue up, jaw open             |
| CH     | CH JH SH ZH             | lips pushed forward, teeth close            |
| SS     | S Z                     | teeth close, lips spread                    |
| nn     | N L                     | tongue on the ridge, jaw mid                |
| RR     | R ER                    | lips slightly rounded                       |
| aa     | AA AE AH (AW, AY start) | jaw wide open                               |
| E      | EH (EY start)           | mid-open, spread                            |
| I      | IH IY Y                 | narrow, spread                              |
| O      | AO OW (OY start)        | rounded, open                               |
| U      | UH UW W                 | rounded, narrow                             |

Diphthongs move: AW = aa then U, AY = aa then I, EY = E then I, OW = O then U, OY = O then I (the glide
takes the last 40 % of the phone). HH has no mouth shape of its own; it takes the shape of the next phone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generators.conditioning import Segment
from rigs.errors import RigInputError

VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")

PHONE_TO_VISEME = {
    "SIL": "sil", "SP": "sil",
    # Aligners' non-speech labels (Montreal Forced Aligner's spoken and non-spoken noise, as in BEAT's TextGrids):
    # no articulation to show, so the mouth rests.
    "SPN": "sil", "NSN": "sil",
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa",
    "EH": "E",
    "IH": "I", "IY": "I", "Y": "I",
    "AO": "O",
    "UH": "U", "UW": "U", "W": "U",
}
DIPHTHONGS = {"AW": ("aa", "U"), "AY": ("aa", "I"), "EY": ("E", "I"), "OW": ("O", "U"), "OY": ("O", "I")}
GLIDE_FRACTION = 0.4
# Phones whose mouth shape is that of the phone after them.
TRANSPARENT = {"HH"}


def phone_visemes(phones: Sequence[Segment]) -> list[Segment]:
    """Viseme intervals for ARPAbet phone intervals (stress digits allowed, gaps left as silence)."""
    labels = [_strip_stress(p.label) for p in phones]
    out: list[Segment] = []
    for index, (phone, label) in enumerate(zip(phones, labels, strict=True)):
        if label in TRANSPARENT:
            following = labels[index + 1] if index + 1 < len(labels) else "SIL"
            adjacent = index + 1 < len(phones) and phones[index + 1].start - phone.end < 1e-3
            label = following if adjacent and following not in TRANSPARENT else "SIL"
            if label in DIPHTHONGS:  # the breath holds the glide's starting shape only
                out.append(Segment(phone.start, phone.end, DIPHTHONGS[label][0]))
                continue
        if label in DIPHTHONGS:
            first, glide = DIPHTHONGS[label]
            split = phone.end - GLIDE_FRACTION * (phone.end - phone.start)
            out += [Segment(phone.start, split, first), Segment(split, phone.end, glide)]
        elif label in PHONE_TO_VISEME:
            out.append(Segment(phone.start, phone.end, PHONE_TO_VISEME[label]))
        else:
            raise RigInputError(f"Phone {phone.label!r} at {phone.start:.2f} s is not ARPAbet. Use CMUdict phones.")
    return out


def viseme_track(phones: Sequence[Segment], fps: float, n_frames: int) -> np.ndarray:
    """(n_frames, 15) float32: the share of each frame's span [t - 0.5/fps, t + 0.5/fps) held by each viseme."""
    track = np.zeros((n_frames, len(VISEMES)), np.float32)
    half = 0.5 / fps
    lows = np.arange(n_frames) / fps - half
    for v in phone_visemes(phones):
        overlap = np.clip(np.minimum(lows + 2 * half, v.end) - np.maximum(lows, v.start), 0.0, None) * fps
        track[:, VISEMES.index(v.label)] += overlap.astype(np.float32)
    # Whatever no phone covers is silence.
    track[:, 0] += np.clip(1.0 - track.sum(axis=1), 0.0, None)
    return track


def _strip_stress(label: str) -> str:
    return label.rstrip("012").upper()

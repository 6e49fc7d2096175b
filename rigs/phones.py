"""The ARPAbet phone sets the engine reasons with (CMUdict's phones, stress digits stripped), in one place.

Alignments (pocketsphinx, BEAT's TextGrids, the corpora's converted labels) name phones in ARPAbet; pauses come as an
empty label, SIL or SP (BEAT, Montreal Forced Aligner) or as pocketsphinx's <sil>, <s> and </s> (upper-cased).
"""

from __future__ import annotations

MONOPHTHONGS = frozenset({"AA", "AE", "AH", "AO", "EH", "ER", "IH", "IY", "UH", "UW"})
DIPHTHONGS = frozenset({"AW", "AY", "EY", "OW", "OY"})
VOWELS = MONOPHTHONGS | DIPHTHONGS
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})  # the jaw opens wide for these
BILABIALS = frozenset({"P", "B", "M"})  # the lips close for these
SILENCE = frozenset({"", "SIL", "SP", "<SIL>", "<S>", "</S>"})

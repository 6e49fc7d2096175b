"""Transcript normalisation and ARPAbet pronunciations (CMUdict, with espeak-ng for unknown words)."""

from __future__ import annotations

import re
from functools import cache

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals "}


def spell_number(n: int) -> str:
    """English words for a non-negative integer below one billion."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{spell_number(n // size)} {name}" + (f" {spell_number(rest)}" if rest else "")
    raise ValueError(n)  # unreachable


def _spell_digits(match: re.Match) -> str:
    text = match.group(0).replace(",", "")
    if "." in text:
        whole, frac = text.split(".", 1)
        return f" {spell_number(int(whole or 0))} point {' '.join(_ONES[int(d)] for d in frac)} "
    value = int(text)
    if len(text) == 4 and 1100 <= value <= 2099 and value % 100 and value // 100 != 20:
        return f" {spell_number(value // 100)} {spell_number(value % 100)} "  # years: 1984, 1850s
    return f" {spell_number(value)} " if value < 1_000_000_000 else " " + " ".join(_ONES[int(d)] for d in text)


def normalize_transcript(text: str) -> list[str]:
    """Lower-case spoken words of a transcript: numbers and symbols spelled out, punctuation dropped."""
    text = text.lower().replace("’", "'")
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    text = re.sub(r"\d[\d,]*(\.\d+)?", _spell_digits, text)
    text = re.sub(r"[^a-z' ]+", " ", text)  # hyphens, dashes, punctuation
    return [w.strip("'") for w in text.split() if w.strip("'")]


# espeak-ng IPA (en-us) to ARPAbet; longest symbols first when tokenising.
_IPA_TO_ARPABET = {
    "aɪ": "AY", "aʊ": "AW", "ɔɪ": "OY", "oʊ": "OW", "eɪ": "EY", "tʃ": "CH", "dʒ": "JH",
    "ɜː": "ER", "ɚ": "ER", "ɝ": "ER", "iː": "IY", "uː": "UW", "ɑː": "AA", "ɔː": "AO", "oː": "AO",
    "i": "IY", "ɪ": "IH", "ᵻ": "IH", "ʊ": "UH", "u": "UW", "ɛ": "EH", "e": "EH", "æ": "AE", "a": "AE",
    "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "o": "OW",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "ɡ": "G", "f": "F", "v": "V",
    "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M", "n": "N",
    "ŋ": "NG", "l": "L", "ɹ": "R", "r": "R", "w": "W", "j": "Y", "ɾ": "T", "ʔ": "T", "x": "K",
}
_IPA_KEYS = sorted(_IPA_TO_ARPABET, key=len, reverse=True)


def ipa_to_arpabet(ipa: str) -> list[str]:
    """ARPAbet phones for an espeak-ng IPA string (stress and length marks dropped)."""
    ipa = re.sub(r"[ˈˌ\s\u0303\u0329\u032f.-]", "", ipa)
    phones, i = [], 0
    while i < len(ipa):
        key = next((k for k in _IPA_KEYS if ipa.startswith(k, i)), None)
        if key is None:
            i += 1  # a symbol with no English counterpart (length mark, tie bar): skip it
            continue
        phones.append(_IPA_TO_ARPABET[key])
        i += len(key)
    # "ER R" comes out of rhotic vowels followed by ɹ; CMUdict writes one ER.
    return [p for j, p in enumerate(phones) if not (p == "R" and j and phones[j - 1] == "ER")]


@cache
def _espeak():
    from piper.phonemize_espeak import EspeakPhonemizer

    return EspeakPhonemizer()


def guess_pronunciation(word: str) -> list[str]:
    """ARPAbet for a word missing from the dictionary, from espeak-ng's letter-to-sound rules."""
    ipa = "".join("".join(sentence) for sentence in _espeak().phonemize("en-us", word))
    return ipa_to_arpabet(ipa)

"""Praat TextGrid files (interval tiers), read in long or short text format and written in long format."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from avatar.errors import InputError
from avatar.frontend.alignment import Alignment, Interval
from rigs.fileio import write_text_atomic

# Praat's text formats are a stream of numbers, quoted strings and flags; keys and "[n]" indices are decoration.
_TOKEN = re.compile(r'"(?:[^"]|"")*"|\[\s*\d+\s*\]|<exists>|<absent>|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?')


def read_textgrid(path: str | os.PathLike) -> tuple[dict[str, list[Interval]], float]:
    """Interval tiers by name (empty intervals dropped) and the grid's end time."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"TextGrid '{path}' does not exist. Check the path.")
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    tokens = [t for t in _TOKEN.findall(raw.decode(encoding, errors="replace")) if not t.startswith("[")]
    try:
        return _parse(tokens)
    except StopIteration:
        raise InputError(f"'{path}' is not a readable Praat TextGrid (it ends early). Re-save it from Praat.") from None
    except ValueError as error:
        raise InputError(f"'{path}' is not a readable Praat TextGrid ({error}). Re-save it from Praat.") from None


def _parse(tokens: list[str]) -> tuple[dict[str, list[Interval]], float]:
    it = iter(tokens)

    def string() -> str:
        token = next(it)
        if not token.startswith('"'):
            raise ValueError(f"expected a quoted string, found {token}")
        return token[1:-1].replace('""', '"')

    if string() != "ooTextFile" or string() != "TextGrid":
        raise ValueError("missing the 'ooTextFile' / 'TextGrid' header")
    float(next(it))
    xmax = float(next(it))
    tiers: dict[str, list[Interval]] = {}
    if next(it) != "<exists>":
        return tiers, xmax
    for _ in range(int(next(it))):
        kind, name = string(), string()
        float(next(it))
        float(next(it))
        count = int(next(it))
        if kind == "IntervalTier":
            spans = [(float(next(it)), float(next(it)), string()) for _ in range(count)]
            tiers[name] = [Interval(a, b, text) for a, b, text in spans if text.strip()]
        else:  # TextTier: points, kept as zero-length intervals
            points = [(float(next(it)), string()) for _ in range(count)]
            tiers[name] = [Interval(t, t, text) for t, text in points]
    return tiers, xmax


def write_textgrid(path: str | os.PathLike, tiers: Mapping[str, Sequence[Interval]], duration: float) -> None:
    """Write interval tiers in Praat's long text format, filling the gaps with empty intervals."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {duration:g}",
             "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for index, (name, intervals) in enumerate(tiers.items(), start=1):
        filled = _fill_gaps(intervals, duration)
        lines += [f"    item [{index}]:", '        class = "IntervalTier"', f'        name = "{_quote(name)}"',
                  "        xmin = 0", f"        xmax = {duration:g}", f"        intervals: size = {len(filled)}"]
        for k, (start, end, label) in enumerate(filled, start=1):
            lines += [f"        intervals [{k}]:", f"            xmin = {start:g}", f"            xmax = {end:g}",
                      f'            text = "{_quote(label)}"']
    write_text_atomic(path, "\n".join(lines) + "\n")


def _fill_gaps(intervals: Sequence[Interval], duration: float) -> list[tuple[float, float, str]]:
    out, cursor = [], 0.0
    for i in sorted(intervals, key=lambda i: i.start):
        start, end = max(i.start, cursor), min(i.end, duration)
        if end <= start:
            continue
        if start > cursor:
            out.append((cursor, start, ""))
        out.append((start, end, i.label))
        cursor = end
    if cursor < duration:
        out.append((cursor, duration, ""))
    return out


def _quote(text: str) -> str:
    return text.replace('"', '""')


def save_alignment_textgrid(alignment: Alignment, path: str | os.PathLike) -> None:
    """Write an alignment as a TextGrid with 'words' and 'phones' tiers (the BEAT layout)."""
    write_textgrid(path, {"words": alignment.words, "phones": alignment.phones}, alignment.duration)


def load_alignment_textgrid(path: str | os.PathLike) -> Alignment:
    """Read an alignment from a TextGrid with 'words' and 'phones' tiers (stress digits dropped)."""
    tiers, duration = read_textgrid(path)
    missing = [name for name in ("words", "phones") if name not in tiers]
    if missing:
        raise InputError(
            f"TextGrid '{path}' has no {' or '.join(missing)} tier (it has: {', '.join(tiers) or 'none'}). "
            "Name the tiers 'words' and 'phones', as in BEAT."
        )
    phones = tuple(Interval(p.start, p.end, re.sub(r"\d", "", p.label).upper()) for p in tiers["phones"])
    words = tuple(tiers["words"])
    return Alignment(words, phones, duration, " ".join(w.label for w in words), "textgrid")

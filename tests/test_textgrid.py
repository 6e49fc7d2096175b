"""Praat TextGrid reading and writing, in BEAT's words + phones layout."""

from __future__ import annotations

import pytest

from avatar.errors import InputError
from avatar.frontend.alignment import Alignment, Interval
from avatar.frontend.textgrid import (
    load_alignment_textgrid,
    read_textgrid,
    save_alignment_textgrid,
    write_textgrid,
)

ALIGNMENT = Alignment(
    words=(Interval(0.5, 0.8, "hello"), Interval(0.8, 1.25, 'say "hi"')),
    phones=(Interval(0.5, 0.6, "HH"), Interval(0.6, 0.7, "AH"), Interval(0.7, 0.8, "L"),
            Interval(0.8, 1.0, "S"), Interval(1.0, 1.25, "EY")),
    duration=2.0, transcript='hello say "hi"',
)


def test_round_trip(tmp_path):
    path = tmp_path / "a.TextGrid"
    save_alignment_textgrid(ALIGNMENT, path)
    back = load_alignment_textgrid(path)
    assert back.words == ALIGNMENT.words and back.phones == ALIGNMENT.phones
    assert back.duration == 2.0 and back.transcript_source == "textgrid"
    # Gaps are written as empty intervals, so the tier covers the whole file, as Praat expects.
    text = path.read_text()
    assert text.count('text = ""') == 4 and "intervals: size = 4" in text


def test_reads_praat_short_format(tmp_path):
    path = tmp_path / "short.TextGrid"
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n1.5\n<exists>\n1\n"IntervalTier"\n'
                    '"words"\n0\n1.5\n2\n0\n0.7\n"yes"\n0.7\n1.5\n""\n')
    tiers, duration = read_textgrid(path)
    assert duration == 1.5 and tiers == {"words": [Interval(0.0, 0.7, "yes")]}


def test_reads_utf16_files_praat_writes(tmp_path):
    path = tmp_path / "u16.TextGrid"
    write_textgrid(path, {"words": [Interval(0.1, 0.4, "café")]}, 1.0)
    path.write_bytes(path.read_text().encode("utf-16"))
    assert read_textgrid(path)[0]["words"][0].label == "café"


def test_reads_beat_textgrids(beat_dir):
    for path in sorted((beat_dir / "textgrid").glob("*.TextGrid")):
        alignment = load_alignment_textgrid(path)
        assert len(alignment.words) > 150 and len(alignment.phones) > 600
        assert alignment.words[0].label == alignment.words[0].label.lower()
        assert all(not any(c.isdigit() for c in p.label) for p in alignment.phones)


def test_missing_tier_and_garbage_are_clear_errors(tmp_path):
    path = tmp_path / "w.TextGrid"
    write_textgrid(path, {"words": [Interval(0, 1, "a")]}, 1.0)
    with pytest.raises(InputError, match="no phones tier"):
        load_alignment_textgrid(path)
    junk = tmp_path / "junk.TextGrid"
    junk.write_text("this is not a textgrid")
    with pytest.raises(InputError, match="not a readable Praat TextGrid"):
        read_textgrid(junk)
    with pytest.raises(InputError, match="does not exist"):
        read_textgrid(tmp_path / "absent.TextGrid")

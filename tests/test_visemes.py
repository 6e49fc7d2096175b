"""The phone-to-viseme table and the per-frame viseme track."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.frontend.alignment import Interval
from generators.visemes import (
    DIPHTHONGS,
    PHONE_TO_VISEME,
    TRANSPARENT,
    VISEMES,
    phone_visemes,
    viseme_track,
)
from rigs.errors import RigInputError

ARPABET = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z "
           "ZH").split()


def test_every_arpabet_phone_has_a_viseme():
    assert set(ARPABET) <= set(PHONE_TO_VISEME) | set(DIPHTHONGS) | TRANSPARENT
    assert set(PHONE_TO_VISEME.values()) == set(VISEMES)


def test_visible_distinctions():
    for phones, viseme in (("P B M", "PP"), ("F V", "FF"), ("TH DH", "TH"), ("UW W", "U"), ("AA AE", "aa")):
        assert {PHONE_TO_VISEME[p] for p in phones.split()} == {viseme}


def test_diphthongs_glide_and_hh_takes_the_next_shape():
    out = phone_visemes([Interval(0.0, 0.1, "HH"), Interval(0.1, 0.3, "AY1"), Interval(0.5, 0.6, "HH")])
    assert [v.label for v in out] == ["aa", "aa", "I", "sil"]
    assert out[1].end == pytest.approx(0.1 + 0.6 * 0.2)


@pytest.mark.parametrize("fps", [24, 30, 60, 100])
def test_track_is_a_distribution_on_the_frame_clock(fps):
    phones = [Interval(0.2, 0.3, "M"), Interval(0.3, 0.5, "AA1"), Interval(0.5, 0.55, "P")]
    n = int(np.ceil(0.8 * fps))
    track = viseme_track(phones, fps, n)
    assert track.shape == (n, 15) and track.dtype == np.float32
    assert np.allclose(track.sum(axis=1), 1.0, atol=1e-5)
    names = np.array(VISEMES)[track.argmax(axis=1)]
    assert names[round(0.25 * fps)] == "PP" and names[round(0.4 * fps)] == "aa" and names[0] == "sil"
    # A frame that straddles the M/AA boundary shares itself between them.
    assert track[:, VISEMES.index("PP")].sum() / fps == pytest.approx(0.15, abs=0.5 / fps)


def test_non_arpabet_phone_is_a_clear_error():
    with pytest.raises(RigInputError, match="not ARPAbet"):
        phone_visemes([Interval(0.0, 0.1, "ʃ")])


def test_aligner_noise_labels_rest_the_mouth():
    phones = [Interval(0.0, 0.3, "SPN"), Interval(0.3, 0.5, "AA1"), Interval(0.5, 0.7, "NSN")]
    assert [v.label for v in phone_visemes(phones)] == ["sil", "aa", "sil"]

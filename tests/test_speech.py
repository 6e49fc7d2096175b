"""The front end as one stage: every output shares one frame clock and one timing."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.frontend.speech import analyze_speech
from generators.visemes import VISEMES, viseme_track
from rigs.clock import frame_count
from tests.conftest import EXAMPLE_TEXT


@pytest.mark.parametrize("fps", [30, 60])
def test_content_shares_the_frame_clock(spoken_example, fps):
    content = analyze_speech(spoken_example, EXAMPLE_TEXT, fps=fps)
    n = frame_count(content.audio.duration, fps)
    assert content.audio.sample_rate == 16_000 and content.fps == fps
    visemes = viseme_track(content.alignment.phones, fps, content.features.n_frames)  # as the generators read it
    assert content.features.n_frames == n and visemes.shape == (n, len(VISEMES))
    # Lips close for the M of every "my"/"me"/"meet": the PP viseme wins at the middle of each M phone ...
    names = np.array(VISEMES)[visemes.argmax(axis=1)]
    for m in (p for p in content.alignment.phones if p.label == "M"):
        assert names[round((m.start + m.end) / 2 * fps)] == "PP"
    # ... and speech is loud where words are and quiet in the pauses between sentences.
    rms = content.features.rms[:, 0]
    inside = np.zeros(n, bool)
    for w in content.alignment.words:
        inside[round(w.start * fps): round(w.end * fps)] = True
    assert np.median(rms[inside]) > 20 * np.median(rms[~inside])

"""The front end's generated tables: forced alignment, frame features, the speech detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar.evaluation.markdown import percent, prose, rows, source
from avatar.evaluation.results import read_results


def alignment_table(folder: Path) -> str:
    """Forced alignment on the BEAT takes (bench/alignment.py)."""
    document = read_results("alignment", folder)
    takes, long = document["figures"]["takes_one_by_one"], document["figures"]["long_input"]
    both = lambda key, show: [show(takes[key]), show(long[key])]  # noqa: E731
    milliseconds = lambda v: f"{v:.0f} ms"  # noqa: E731
    body = [
        ["word-start error, median", *both("word_median_ms", milliseconds), "≤ 40 ms"],
        ["words starting within 100 ms", *both("word_within_100ms", percent), "≥ 90 %"],
        ["phone-start error, median", *both("phone_median_ms", milliseconds), "≤ 40 ms"],
        ["phones starting within 50 ms", *both("phone_within_50ms", percent), "—"],
        ["real-time factor (alignment time / audio time)", *both("rtf", lambda v: f"{v:.3f}"), "≤ 0.15"],
        ["peak resident memory of the whole run", "", f"{document['figures']['peak_rss_mb']:.0f} MB", "bounded"],
    ]
    header = [
        "measure",
        "three takes, one by one",
        f"one {long['minutes']:.1f}-minute input (the takes three times)",
        "target",
    ]
    return rows(header, body) + "\n" + source(document)


def features_paragraph(folder: Path) -> str:
    """The front end's frame features on the first input: speed, F0 and voicing against pYIN, memory."""
    document = read_results("features", folder)
    name, f = next(iter(document["figures"]["inputs"].items()))
    peak = document["figures"]["peak_mib"]
    voicing = ""
    if "voiced_in_vowel" in f:
        voicing = (
            f" Against the TextGrid's phones it voices {percent(f['voiced_in_vowel'])} of vowel frames, "
            f"{percent(f['voiced_in_unvoiced_consonant'])} of unvoiced-consonant frames and "
            f"{percent(f['voiced_in_pause'])} of pause frames (pYIN: {percent(f['pyin_voiced_in_vowel'])}, "
            f"{percent(f['pyin_voiced_in_unvoiced_consonant'])}, {percent(f['pyin_voiced_in_pause'])})."
        )
    return prose(
        f"Frame features on the {f['duration_s']:.0f} s take `{name}`: `extract_features` runs at a real-time "
        f"factor of {f['rtf']:.3f} ({f['seconds']:.2f} s); its F0 tracker (vectorised YIN, chosen because librosa's "
        f"pYIN runs at RTF {f['pyin_rtf']:.2f} here) agrees with pYIN to a median {f['median_cents']:.0f} cents on "
        f"frames both call voiced (90th percentile {f['p90_cents']:.0f} cents, {percent(f['over_100_cents'])} off "
        f"by more than 100 cents), and its voicing agrees with pYIN on {percent(f['voicing_agreement'])} of frames."
        f"{voicing} Peak memory: {peak['1']:.0f} MiB for one minute of audio, {peak['10']:.0f} MiB for ten."
    ) + source(document)


def voice_activity_counts(figures: dict) -> tuple[int, int, int, int]:
    """Of bench/voice_activity.py's figures: real clips refused and all real clips; non-speech clips accepted and all
    non-speech clips."""
    rejected, clips = np.sum(list(figures["false_rejects_by_version"].values()), axis=0)
    accepts = figures["false_accepts"]
    accepted = sum(seconds >= figures["min_speech_s"] for seconds in accepts.values())
    return int(rejected), int(clips), accepted, len(accepts)


def voice_activity_paragraph(folder: Path) -> str:
    """The speech detector's false rejects of real speech and false accepts of non-speech (bench/voice_activity.py)."""
    document = read_results("voice_activity", folder)
    figures = document["figures"]
    rejected, clips, accepted, non_speech = voice_activity_counts(figures)
    accepts = figures["false_accepts"]
    versions = ", ".join(f"{version} {r} of {n}" for version, (r, n) in figures["false_rejects_by_version"].items())
    return prose(
        f"Real speech refused: {rejected} of {clips} clips ({versions}). Non-speech accepted: {accepted} of "
        f"{non_speech} (the most speech-like: {max(accepts.values()):.2f} s against the "
        f"{figures['min_speech_s']:g} s needed)."
    ) + source(document)

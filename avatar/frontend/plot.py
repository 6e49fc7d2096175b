"""A picture of frame features (and optionally their alignment) for checking the front end by eye."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from avatar.frontend.alignment import Alignment
from avatar.frontend.features import N_MELS, FrameFeatures, mel_band_edges
from generators.visemes import VISEMES, viseme_track
from rigs.clock import frame_times
from rigs.fileio import atomic_path

# One colour per emotion category, shared by every emotion plot.
EMOTION_COLOURS = {"neutral": "0.75", "happiness": "gold", "anger": "tab:red", "sadness": "tab:blue",
                   "contempt": "tab:purple", "surprise": "tab:orange", "fear": "tab:green", "disgust": "tab:olive"}
_MEL_TICKS_HZ = (100, 250, 500, 1000, 2000, 4000, 8000)
_DYNAMIC_RANGE = 60 / (10 / np.log(10))  # 60 dB in natural-log power units: the mel image's colour range
_AXIS_INCHES = 10.5  # about the data width of the 12 in figure
_CHAR_INCHES = 0.065  # a 7 pt character and a little gap
_MAX_LINES_PER_INCH = 12  # denser phone boundaries would only grey out the spectrogram


def plot_features(
    features: FrameFeatures,
    path: str | os.PathLike,
    alignment: Alignment | None = None,
    title: str | None = None,
    span: tuple[float, float] | None = None,
) -> Path:
    """Write a PNG of log-mel, RMS, F0 with voicing and onset strength on one time axis.

    With an `alignment`, words are labelled along the top and phone boundaries drawn over the spectrogram. `span`, a
    (start, end) in seconds, zooms in on part of a long take.
    """
    path = Path(path)
    fps, n = features.fps, features.n_frames
    t = frame_times(n, fps)
    limits = span or (-0.5 / fps, (n - 0.5) / fps)

    heights = ([0.45] if alignment is not None else []) + [3.0] + ([1.6] if alignment is not None else [])
    heights += [1.0, 1.4, 1.0]
    fig = Figure(figsize=(12, 9.5 if alignment is not None else 8), layout="constrained")
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    if alignment is not None:
        _draw_words(axes[0], alignment.words, limits)
        _draw_visemes(axes[2], viseme_track(alignment.phones, fps, n), fps)
    ax_mel = axes[1 if alignment is not None else 0]
    ax_rms, ax_f0, ax_onset = axes[-3:]

    top = float(np.percentile(features.log_mel, 99.5))
    ax_mel.imshow(
        features.log_mel.T,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap="magma",
        vmin=top - _DYNAMIC_RANGE,
        vmax=top,
        extent=(-0.5 / fps, (n - 0.5) / fps, -0.5, N_MELS - 0.5),
    )
    # Label the mel axis in Hz at the bands whose centres are those frequencies.
    centres = mel_band_edges()[1:-1]
    ax_mel.set_yticks(np.interp(_MEL_TICKS_HZ, centres, np.arange(N_MELS)), [f"{f:g}" for f in _MEL_TICKS_HZ])
    ax_mel.set_ylabel("log-mel (Hz)")
    if alignment is not None:
        edges = {p.start for p in alignment.phones} | {p.end for p in alignment.phones}
        boundaries = sorted(e for e in edges if limits[0] < e < limits[1])
        if len(boundaries) <= _MAX_LINES_PER_INCH * _AXIS_INCHES:
            ax_mel.vlines(boundaries, -0.5, N_MELS - 0.5, colors="white", linewidths=0.5, alpha=0.3)

    level = 20 * np.log10(np.maximum(features.rms[:, 0], 1e-5))
    ax_rms.plot(t, level, color="tab:blue", linewidth=1)
    ax_rms.set_ylim(max(level.min() - 3, -100), max(level.max() + 3, -20))
    ax_rms.set_ylabel("RMS (dBFS)")

    ax_voicing = ax_f0.twinx()
    voicing = features.voiced_prob[:, 0]
    ax_voicing.fill_between(t, voicing, step="mid", color="tab:green", alpha=0.2, linewidth=0)
    ax_voicing.set_ylim(0, 1.05)
    ax_voicing.set_ylabel("voiced prob", color="tab:green")
    f0 = np.where(features.f0_hz[:, 0] > 0, features.f0_hz[:, 0], np.nan)
    ax_f0.plot(t, f0, color="tab:red", linewidth=1.2, marker=".", markersize=2)
    ax_f0.set_zorder(ax_voicing.get_zorder() + 1)  # the pitch line above the voicing shade
    ax_f0.patch.set_visible(False)
    if np.isfinite(f0).any():
        ax_f0.set_ylim(0.8 * np.nanmin(f0), 1.1 * np.nanmax(f0))
    ax_f0.set_ylabel("F0 (Hz)", color="tab:red")

    ax_onset.fill_between(t, features.onset[:, 0], color="tab:purple", alpha=0.5, linewidth=0)
    ax_onset.plot(t, features.onset[:, 0], color="tab:purple", linewidth=0.8)
    ax_onset.set_ylim(bottom=0)
    ax_onset.set_ylabel("onset (dB)")
    ax_onset.set_xlabel("time (s)")
    ax_onset.set_xlim(*limits)
    for ax in (ax_rms, ax_f0, ax_onset):
        ax.grid(axis="x", alpha=0.3)

    fig.suptitle(title or f"{n} frames at {fps:g} fps ({features.duration:.2f} s)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def _draw_words(ax: Any, words: list[Any], limits: tuple[float, float]) -> None:
    """Shade each spoken word's span and write the word in it, in two alternating rows, without overprints."""
    seconds_per_char = _CHAR_INCHES * (limits[1] - limits[0]) / _AXIS_INCHES
    row_end = [-np.inf, -np.inf]  # where the last label written in each row ends
    spoken = [w for w in words if w.label.strip() and w.end > limits[0] and w.start < limits[1]]
    for i, word in enumerate(spoken):
        row = i % 2
        ax.axvspan(word.start, word.end, color=("0.7", "0.85")[row], linewidth=0)
        centre, half = (word.start + word.end) / 2, 0.5 * len(word.label) * seconds_per_char
        if centre - half > row_end[row]:
            ax.text(centre, (0.28, 0.72)[row], word.label, ha="center", va="center", fontsize=7, clip_on=True)
            row_end[row] = centre + half
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("words", rotation=0, ha="right", va="center")


def _draw_visemes(ax: Any, track: np.ndarray, fps: float) -> None:
    """The per-frame viseme shares as a grey image, one row per viseme."""
    n = len(track)
    ax.imshow(track.T, origin="lower", aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1,
              extent=(-0.5 / fps, (n - 0.5) / fps, -0.5, len(VISEMES) - 0.5))
    ax.set_yticks(range(len(VISEMES)), VISEMES, fontsize=6)
    ax.set_ylabel("viseme")

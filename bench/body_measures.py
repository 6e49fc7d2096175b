"""Body-motion measures for the bench scripts: they live in avatar/evaluation/kinematics.py (definitions there)."""

from avatar.evaluation.kinematics import (
    UPPER_BODY,
    audio_onsets,
    beat_align,
    beat_align_times,
    mean_wrist_speed,
    motion_beats,
    motion_beats_per_second,
    upper_body_positions,
)

__all__ = [
    "UPPER_BODY",
    "audio_onsets",
    "beat_align",
    "beat_align_times",
    "mean_wrist_speed",
    "motion_beats",
    "motion_beats_per_second",
    "upper_body_positions",
]

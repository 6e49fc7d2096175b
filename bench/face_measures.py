"""Moved: the face measures are avatar/evaluation/face.py, the BEAT loader avatar/evaluation/beat.py (this file goes
once every importer reads them from there)."""

from avatar.evaluation.beat import BEAT, BEAT_TAKES, beat_content  # noqa: F401
from avatar.evaluation.face import *  # noqa: F403

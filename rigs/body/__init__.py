"""The body rig: the BEAT skeleton, forward kinematics, body tracks and retargeting maps."""

from rigs.body.skeleton import FKResult, Skeleton, load_beat_skeleton
from rigs.body.track import BodyTrack

__all__ = ["BodyTrack", "FKResult", "Skeleton", "load_beat_skeleton"]

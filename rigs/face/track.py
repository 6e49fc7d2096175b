"""FaceTrack: ARKit-52 blendshape weights with head rotation and eye gaze, per frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rigs.clock import OnFrameClock
from rigs.errors import RigInputError
from rigs.face.arkit import BLENDSHAPES, GAZE_CHANNELS, HEAD_CHANNELS, INDEX, MIRROR_INDEX, canonical_name


def _frames(name: str, values, width: int, n_frames: int | None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != width or (n_frames is not None and array.shape[0] != n_frames):
        expected = f"({'T' if n_frames is None else n_frames}, {width})"
        raise RigInputError(f"face track {name} has shape {array.shape}; expected {expected}")
    if not np.isfinite(array).all():
        raise RigInputError(f"face track {name} holds NaN or infinite values; fix the generator or the file")
    return array


def weights_by_name(values: np.ndarray, names: list[str], where: str) -> np.ndarray:
    """Weights (T, 52) in ARKit order from columns named in any spelling; one missing shape (BEAT's 51) reads 0."""
    try:
        position = {canonical_name(str(name)): j for j, name in enumerate(names)}
    except KeyError as error:
        raise RigInputError(f"{where}: {error.args[0]}") from error
    missing = [name for name in BLENDSHAPES if name not in position]
    if len(missing) > 1:
        raise RigInputError(f"{where} lacks blendshapes {missing[:5]}; expected the 52 ARKit names")
    weights = np.zeros((len(values), len(BLENDSHAPES)), np.float32)
    for i, name in enumerate(BLENDSHAPES):
        if name in position:
            weights[:, i] = values[:, position[name]]
    return weights


@dataclass
class FaceTrack(OnFrameClock):
    """ARKit-52 weights in [0, 1] (T, 52), head yaw/pitch/roll (T, 3) and per-eye gaze (T, 4), radians, at fps.

    Channel meanings and signs are documented in ``rigs.face.arkit``.
    """

    weights: np.ndarray
    fps: float
    head: np.ndarray | None = None
    gaze: np.ndarray | None = None
    names: tuple[str, ...] = field(default=BLENDSHAPES, init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise RigInputError(f"face track fps is {self.fps}; give a positive frame rate such as 30")
        self.fps = float(self.fps)
        self.weights = _frames("weights", self.weights, len(BLENDSHAPES), None)
        n = len(self.weights)
        self.head = np.zeros((n, 3), np.float32) if self.head is None else _frames("head", self.head, 3, n)
        self.gaze = np.zeros((n, 4), np.float32) if self.gaze is None else _frames("gaze", self.gaze, 4, n)
        if n and (self.weights.min() < -1e-3 or self.weights.max() > 1 + 1e-3):
            raise RigInputError(
                f"face track weights span [{self.weights.min():.3f}, {self.weights.max():.3f}]; ARKit weights lie "
                "in [0, 1]: clip them (FaceTrack.clipped) or fix their scale"
            )

    @property
    def n_frames(self) -> int:
        return len(self.weights)

    def __getitem__(self, name: str) -> np.ndarray:
        """One channel over time: a blendshape (any capitalisation) or a head/gaze channel."""
        if name in HEAD_CHANNELS:
            return self.head[:, HEAD_CHANNELS.index(name)]
        if name in GAZE_CHANNELS:
            return self.gaze[:, GAZE_CHANNELS.index(name)]
        return self.weights[:, INDEX[canonical_name(name)]]

    @classmethod
    def neutral(cls, n_frames: int, fps: float = 30.0) -> FaceTrack:
        """A still, neutral face."""
        return cls(np.zeros((n_frames, len(BLENDSHAPES)), np.float32), fps)

    @classmethod
    def from_channels(cls, channels: dict[str, np.ndarray], n_frames: int, fps: float = 30.0) -> FaceTrack:
        """A track from named curves; channels not given stay at zero."""
        track = cls.neutral(n_frames, fps)
        for name, values in channels.items():
            track[name][:] = values
        track.__post_init__()
        return track

    def frames(self, start: int, end: int) -> FaceTrack:
        """A copy of frames start..end."""
        return FaceTrack(self.weights[start:end].copy(), self.fps, self.head[start:end].copy(),
                         self.gaze[start:end].copy())

    def clipped(self) -> FaceTrack:
        """A copy with weights clipped to [0, 1]."""
        return FaceTrack(np.clip(self.weights, 0.0, 1.0), self.fps, self.head.copy(), self.gaze.copy())

    def mirrored(self) -> FaceTrack:
        """The left-right mirror image: Left and Right shapes swap, yaw and roll change sign."""
        head = self.head * np.array([-1, 1, -1], np.float32)
        gaze = self.gaze[:, [2, 3, 0, 1]] * np.array([-1, 1, -1, 1], np.float32)
        return FaceTrack(self.weights[:, MIRROR_INDEX], self.fps, head, gaze)

    def resampled(self, fps: float) -> FaceTrack:
        """The track at another frame rate (linear interpolation, same duration)."""
        if not (np.isfinite(fps) and fps > 0):
            raise RigInputError(f"target fps is {fps}; give a positive frame rate such as 30")
        n = max(1, int(round(self.duration * fps)))
        times = np.arange(n) / fps
        def interp(values: np.ndarray) -> np.ndarray:
            return np.stack([np.interp(times, self.times, column) for column in values.T], 1).astype(np.float32)
        return FaceTrack(interp(self.weights), fps, interp(self.head), interp(self.gaze))

"""Smooth motion from keyframes: minimum-jerk segments with timing skew and arcs, and seeded smooth noise.

Keyframes are where the motion slows down: the beats a viewer (and BeatAlign) sees. Where a channel turns back at
a key (a stroke's bottom, a lift's top) it stops there; where it keeps going the same way, the hand may carry
some of its speed through the key (`Keys.carry`, monotone tangents as in PCHIP), as real arms do: a full stop at
every key turns the speed into a train of short pulses, whose harmonics real motion does not have. A skew exponent
moves a segment's movement towards its end (a stroke that strikes late and stops on the beat) or its start (a
quick rebound that floats to the next pose) without adding a second pause inside the segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HOLD_DRIFT = 0.12  # share of a skewed segment's displacement spread evenly over it


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """The minimum-jerk profile 10τ³ − 15τ⁴ + 6τ⁵ on τ in [0, 1] (Flash & Hogan 1985)."""
    tau = np.clip(tau, 0.0, 1.0)
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau * tau)


def _hermite_velocity_bases(tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The quintic Hermite bases that carry a unit start and end velocity (zero position and acceleration at both
    ends) on τ in [0, 1]."""
    tau2, tau3 = tau * tau, tau**3
    start = tau - 6.0 * tau3 + 8.0 * tau3 * tau - 3.0 * tau3 * tau2
    end = -4.0 * tau3 + 7.0 * tau3 * tau - 3.0 * tau3 * tau2
    return start, end


def key_velocities(times: np.ndarray, values: np.ndarray, carry: float) -> np.ndarray:
    """Velocities (K, D) through keys: `carry` times the harmonic mean of the neighbouring slopes where a channel
    keeps its direction, 0 where it turns back and at the first and last key (PCHIP's tangents, Fritsch & Butland
    1984, which never overshoot)."""
    velocity = np.zeros_like(values)
    if carry <= 0 or len(times) < 3:
        return velocity
    slopes = np.diff(values, axis=0) / np.diff(times)[:, None]
    left, right = slopes[:-1], slopes[1:]
    same_way = left * right > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = np.where(same_way, 2.0 * left * right / (left + right), 0.0)
    velocity[1:-1] = carry * harmonic
    return velocity


def skew_for(duration, move, late) -> np.ndarray:
    """Exponents (elementwise) that put a segment's half-way point `move / 2` before its end (late) or after its
    start; 1 (plain minimum jerk) where the move fills the segment or no move is given (NaN)."""
    duration, move, late = np.broadcast_arrays(
        np.asarray(duration, float), np.asarray(move, float), np.asarray(late, bool)
    )
    ratio = np.clip(move / np.maximum(duration, 1e-9), 0.0, 1.0)
    half = np.where(late, 1.0 - ratio / 2.0, ratio / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.log(0.5) / np.log(np.clip(half, 1e-6, 1.0 - 1e-9))
    # τ**γ reaches 0.5 at τ = half; γ >= 0.4 keeps the start velocity finite (it scales as τ**(3γ - 1)).
    return np.where(np.isfinite(move) & (ratio < 1.0), np.clip(gamma, 0.4, 8.0), 1.0)


@dataclass
class Keys:
    """Keyframes of one D-channel signal: times, values, and for the segment ending at each key its move time
    (NaN: the whole segment), whether the move comes late (a stroke) or early (a rebound), and a mid-way bulge."""

    width: int
    carry: float = 0.0  # share of the PCHIP tangent kept through keys where a channel keeps its direction
    times: list[float] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    moves: list[float] = field(default_factory=list)
    lates: list[bool] = field(default_factory=list)
    arcs: list[np.ndarray] = field(default_factory=list)

    def add(self, time: float, value, move: float | None = None, late: bool = True, arc=None) -> None:
        """A key at `time`; the motion into it takes `move` s at the segment's end (late) or start, bulging by
        `arc` (D,) half-way."""
        self.times.append(float(time))
        self.values.append(np.asarray(value, dtype=np.float64).reshape(self.width))
        self.moves.append(np.nan if move is None else float(move))
        self.lates.append(bool(late))
        self.arcs.append(np.zeros(self.width) if arc is None else np.asarray(arc, dtype=np.float64).reshape(self.width))

    def remove_between(self, start: float, end: float) -> None:
        """Drop the keys with start <= time <= end."""
        keep = [i for i, t in enumerate(self.times) if not start <= t <= end]
        for name in ("times", "values", "moves", "lates", "arcs"):
            setattr(self, name, [getattr(self, name)[i] for i in keep])

    def last_time(self, before: float = np.inf) -> float | None:
        """The time of the last key before `before`, or None."""
        return max((t for t in self.times if t < before), default=None)

    def last_value(self, before: float = np.inf) -> np.ndarray | None:
        """The value of the last key before `before`, or None."""
        earlier = [i for i, t in enumerate(self.times) if t < before]
        return None if not earlier else self.values[max(earlier, key=lambda i: self.times[i])]

    def sample(self, frame_times: np.ndarray, min_gap: float = 1e-3) -> np.ndarray:
        """The signal (T, D) at `frame_times`: shaped minimum-jerk moves between keys, held outside them."""
        if not self.times:
            raise ValueError("no keys to sample")
        order = np.argsort(self.times, kind="stable")
        times = np.asarray(self.times)[order]
        values = np.stack(self.values)[order]
        moves, lates = np.asarray(self.moves)[order], np.asarray(self.lates)[order]
        arcs = np.stack(self.arcs)[order]
        # Keys closer than min_gap: the later one wins (it was planned over the earlier).
        keep = np.append(np.diff(times) >= min_gap, True)
        times, values, moves, lates, arcs = times[keep], values[keep], moves[keep], lates[keep], arcs[keep]
        t = np.asarray(frame_times, dtype=np.float64)
        if len(times) == 1:
            return np.broadcast_to(values[0], (len(t), self.width)).copy()
        skews = np.ones(len(times))
        skews[1:] = skew_for(np.diff(times), moves[1:], lates[1:])
        nxt = np.clip(np.searchsorted(times, t, side="right"), 1, len(times) - 1)
        prv = nxt - 1
        tau = np.clip((t - times[prv]) / (times[nxt] - times[prv]), 0.0, 1.0)
        # A skewed move keeps a little of the plain profile, so a hold before a stroke still drifts (never frozen).
        skewed = skews[nxt] != 1.0
        s = np.where(
            skewed, (1 - HOLD_DRIFT) * min_jerk(tau ** skews[nxt]) + HOLD_DRIFT * min_jerk(tau), min_jerk(tau)
        )[:, None]
        out = values[prv] + (values[nxt] - values[prv]) * s + arcs[nxt] * np.sin(np.pi * s)
        if self.carry > 0:
            velocity = key_velocities(times, values, self.carry)
            start, end = _hermite_velocity_bases(tau)
            span = (times[nxt] - times[prv])[:, None]
            out += span * (start[:, None] * velocity[prv] + end[:, None] * velocity[nxt])
        return out


def smooth_noise(
    rng: np.random.Generator,
    n_frames: int,
    fps: float,
    low_hz: float,
    high_hz: float,
    channels: int = 1,
    components: int = 4,
) -> np.ndarray:
    """Seeded smooth noise (T, channels) with unit RMS: a sum of sinusoids with random frequencies and phases."""
    t = np.arange(n_frames) / fps
    freqs = rng.uniform(low_hz, high_hz, (components, channels))
    phases = rng.uniform(0, 2 * np.pi, (components, channels))
    weights = rng.uniform(0.5, 1.0, (components, channels))
    waves = np.sin(2 * np.pi * freqs[None] * t[:, None, None] + phases[None]) * weights[None]
    # Unit RMS by construction (independent sinusoids), so the result does not depend on the clip length.
    return (waves.sum(1) / np.sqrt(0.5 * np.sum(weights**2, 0))).astype(np.float64)

"""Kinematic comparison of body motion against real capture: speed, acceleration, jitter, beats, rest, Fréchet.

Definitions (generated and captured motion alike):

- One clock: every motion is compared at COMPARE_FPS = 15 fps, the rate of the real BEAT capture (whose file holds
  957 rows under a 120-fps header; rigs.formats.bvh.read_bvh trusts the rows and reads it as 15 fps). Generated
  30-fps tracks are resampled (slerp) to 15 fps. The capture's first row (a different pose; its hips and legs are
  zeroed after it) is replaced by its second, which keeps the clock aligned with the audio.
- Motion is the global positions (T, J, 3) in cm of MOTION_JOINTS (hips and upper body; no fingers, whose capture is
  noisy, and no legs). Joint groups: JOINT_GROUPS; "arms" (forearms and hands) is the group issue tables quote.
- Step speed and acceleration (the comparison's figures): |p[t+1] - p[t]| * fps and the norm of the next difference
  of those velocities * fps, in cm/s and cm/s². Forward, not central, differences: at 15 fps central differences keep
  only 23 % of a 6-Hz tremor's amplitude (forward differences 76 %), and they would hide the jitter measured here.
- High-frequency share: per joint, the power spectrum of the step-speed signal (mean removed); the share of the
  power, summed over the group's joints, above 3 Hz. Tremor adds power up there, a gesture stroke much less.
- Arm beat rate: strict local minima per second of the arms' mean step speed smoothed by a Gaussian whose full width
  at half maximum is BEAT_SMOOTH_S = 0.1 s.
- Motion beats for BeatAlign (as the model card has measured them): strict local minima of the upper body's mean
  central-difference speed (np.gradient) smoothed by a Gaussian of sigma SPEED_SMOOTH_S = 1/15 s.
- Audio onsets: librosa.onset.onset_detect on the 16 kHz mono audio with hop 160 (10 ms) and default peak picking.
- BeatAlign (BEAT, Liu et al. 2022; Bailando, Siyao et al. 2022), over the audio onsets A and motion beats B:
      BeatAlign = (1 / |A|) * sum_{a in A} exp( -min_{b in B} (a - b)^2 / (2 sigma^2) ),   sigma = 0.1 s.
- Hand height: hand y minus hips y (cm); hand spread: distance between the two hands (cm).
- Head sway: RMS (cm) of the head's position relative to the hips about its mean, sideways and forward; shoulder
  follow: how many cm a shoulder joint rises above the chest per cm its hand rises above the hips (a slope).
- Rest fraction in pauses: over pause frames (gaps of at least PAUSE_MIN_S between spoken words, and before the
  first and after the last word), the share where the hands' mean step speed (smoothed as for the beat rate) is
  below REST_SPEED cm/s.
- Fréchet kinematic distance: 2-s windows every 0.25 s; each window is described by the mean and standard deviation
  over its frames of the arms' positions relative to the hips and their step velocities, together with the audio it
  plays on (mean and standard deviation of log RMS and onset strength, voiced share), so motion that ignores its
  speech lands farther away. Each dimension is scaled by the reference's standard deviation; the distance between
  the two Gaussians fitted to the window sets is |mu_a - mu_b|^2 + tr(Sa + Sb - 2 (Sa Sb)^(1/2)) (FID's formula).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import sqrtm
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelmin

from rigs.body.track import BodyTrack

COMPARE_FPS = 15.0
UPPER_BODY = (
    "Spine3",
    "Neck",
    "Head",
    "RightShoulder",
    "RightArm",
    "RightForeArm",
    "RightHand",
    "LeftShoulder",
    "LeftArm",
    "LeftForeArm",
    "LeftHand",
)
MOTION_JOINTS = ("Hips",) + UPPER_BODY
JOINT_GROUPS = {
    "torso and head": ("Spine3", "Neck", "Head"),
    "shoulders and upper arms": ("RightShoulder", "RightArm", "LeftShoulder", "LeftArm"),
    "arms": ("RightForeArm", "RightHand", "LeftForeArm", "LeftHand"),
}
ARMS = JOINT_GROUPS["arms"]
HANDS = ("RightHand", "LeftHand")
SPEED_SMOOTH_S = 1.0 / 15.0
BEAT_SMOOTH_S = 0.1
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
HIGH_FREQUENCY_HZ = 3.0
PAUSE_MIN_S = 0.4
REST_SPEED = 10.0  # cm/s of the hands: below it the hands are held, not gesturing
WINDOW_S = 2.0
WINDOW_HOP_S = 0.25
ONSET_HOP = 160


@dataclass(frozen=True)
class Motion:
    """Global positions (T, J, 3) in cm of MOTION_JOINTS at fps."""

    positions: np.ndarray
    fps: float

    def joints(self, names: tuple[str, ...]) -> np.ndarray:
        """Positions (T, len(names), 3) of the named joints."""
        return self.positions[:, [MOTION_JOINTS.index(name) for name in names]]

    def relative_to_hips(self, names: tuple[str, ...]) -> np.ndarray:
        """Positions (T, len(names), 3) of the named joints minus the hips'."""
        return self.joints(names) - self.joints(("Hips",))

    @property
    def duration(self) -> float:
        return len(self.positions) / self.fps


@dataclass(frozen=True)
class Distribution:
    """Mean and 10th / 50th / 90th percentiles of a sample."""

    mean: float
    p10: float
    p50: float
    p90: float

    @classmethod
    def of(cls, samples: np.ndarray) -> Distribution:
        values = np.asarray(samples, dtype=np.float64).ravel()
        return cls(float(values.mean()), *(float(q) for q in np.percentile(values, (10, 50, 90))))

    def __str__(self) -> str:
        return f"{self.mean:.1f} ({self.p10:.1f} / {self.p50:.1f} / {self.p90:.1f})"


def motion_from_track(track: BodyTrack, fps: float = COMPARE_FPS) -> Motion:
    """The MOTION_JOINTS positions of a track, resampled to `fps` when it runs at another rate."""
    if abs(fps - track.fps) > 1e-9:
        track = track.resampled(fps)
    return Motion(track.positions()[:, [track.skeleton.index(name) for name in MOTION_JOINTS]].astype(np.float64), fps)


def capture_track(path: str | Path) -> BodyTrack:
    """A real BEAT capture as a track, its odd first row replaced by the second (see the module docstring)."""
    from rigs.formats.bvh import BvhHeaderWarning, read_bvh

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BvhHeaderWarning)  # BEAT's header disagrees with its rows; the rows rule
        track = read_bvh(path)
    rotations, root = track.rotations.copy(), track.root_positions.copy()
    rotations[0], root[0] = rotations[1], root[1]
    return BodyTrack(track.skeleton, track.fps, rotations, root)


def load_capture(path: str | Path, fps: float = COMPARE_FPS) -> Motion:
    """A real BEAT capture as Motion at `fps` (capture_track)."""
    return motion_from_track(capture_track(path), fps)


def joint_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Speed of each joint (T, J) in units per second, by central differences."""
    positions = np.asarray(positions, dtype=np.float64)
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    return np.linalg.norm(np.gradient(positions, axis=0), axis=-1) * fps


def step_velocity(positions: np.ndarray, fps: float) -> np.ndarray:
    """Velocity (T - 1, J, 3) in units per second by forward differences."""
    positions = np.asarray(positions, dtype=np.float64)
    if len(positions) < 2:
        raise ValueError(f"motion of {len(positions)} frame(s) has no velocity; give at least 2 frames")
    return np.diff(positions, axis=0) * fps


def step_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Speed (T - 1, J) in units per second by forward differences."""
    return np.linalg.norm(step_velocity(positions, fps), axis=-1)


def step_acceleration(positions: np.ndarray, fps: float) -> np.ndarray:
    """Acceleration magnitude (T - 2, J) in units per second² by forward differences of the step velocity."""
    return np.linalg.norm(np.diff(step_velocity(positions, fps), axis=0), axis=-1) * fps


def smoothed_step_speed(positions: np.ndarray, fps: float, fwhm_s: float = BEAT_SMOOTH_S) -> np.ndarray:
    """Mean step speed over joints (T - 1,), smoothed by a Gaussian of full width at half maximum `fwhm_s`."""
    return gaussian_filter1d(step_speed(positions, fps).mean(1), fwhm_s * fps / FWHM_PER_SIGMA, mode="nearest")


def mean_joint_speed(positions: np.ndarray, fps: float, smooth_s: float = SPEED_SMOOTH_S) -> np.ndarray:
    """Mean speed over joints (T,), Gaussian-smoothed over `smooth_s` seconds."""
    speed = joint_speed(positions, fps).mean(1)
    return gaussian_filter1d(speed, smooth_s * fps, mode="nearest") if smooth_s > 0 else speed


def high_frequency_share(signals: np.ndarray, fps: float, cutoff_hz: float = HIGH_FREQUENCY_HZ) -> float:
    """Share of the power of signals (T,) or (T, K), each mean-removed, at frequencies above `cutoff_hz` (0 when
    they are constant: no motion, no jitter)."""
    signals = np.asarray(signals, dtype=np.float64)
    signals = signals.reshape(len(signals), -1)
    power = np.abs(np.fft.rfft(signals - signals.mean(0), axis=0)) ** 2
    frequencies = np.fft.rfftfreq(len(signals), 1.0 / fps)
    total = power.sum()
    return float(power[frequencies > cutoff_hz].sum() / total) if total > 0 else 0.0


def motion_beats(positions: np.ndarray, fps: float, smooth_s: float = SPEED_SMOOTH_S) -> np.ndarray:
    """Times (s) of the strict local minima of the smoothed mean joint speed."""
    return argrelmin(mean_joint_speed(positions, fps, smooth_s))[0] / fps


def motion_beats_per_second(positions: np.ndarray, fps: float, smooth_s: float = SPEED_SMOOTH_S) -> float:
    """Motion beats per second of clip duration."""
    return len(motion_beats(positions, fps, smooth_s)) / (len(positions) / fps)


def audio_onsets(samples: np.ndarray, sample_rate: int = 16_000) -> np.ndarray:
    """Onset times (s) of mono audio by librosa's onset detector (hop 10 ms at 16 kHz, default peak picking)."""
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if sample_rate != 16_000:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=16_000)
    return librosa.onset.onset_detect(y=y, sr=16_000, hop_length=ONSET_HOP, units="time")


def beat_align_times(audio_onset_times: np.ndarray, beat_times: np.ndarray, sigma: float = 0.1) -> float:
    """BeatAlign from onset and motion-beat times: mean over onsets of exp(-min distance² / (2σ²))."""
    onsets = np.asarray(audio_onset_times, dtype=np.float64)
    beats = np.asarray(beat_times, dtype=np.float64)
    if len(onsets) == 0:
        raise ValueError("no audio onsets: BeatAlign is undefined for silent audio")
    if len(beats) == 0:
        return 0.0
    nearest = np.abs(onsets[:, None] - beats[None, :]).min(1)
    return float(np.mean(np.exp(-(nearest**2) / (2 * sigma**2))))


def beat_align(motion_positions: np.ndarray, fps: float, audio_onset_times: np.ndarray, sigma: float = 0.1) -> float:
    """BeatAlign of a motion (T, J, 3) against audio onsets (s), as defined in the module docstring."""
    return beat_align_times(audio_onset_times, motion_beats(motion_positions, fps), sigma)


def mean_wrist_speed(track: BodyTrack) -> float:
    """Mean speed of the two wrists (RightHand, LeftHand) over the track, in the skeleton's units per second."""
    wrists = [track.skeleton.index(name) for name in HANDS]
    return float(joint_speed(track.positions()[:, wrists], track.fps).mean())


def upper_body_positions(track: BodyTrack, fps: float | None = None) -> np.ndarray:
    """Positions (T, J, 3) of the UPPER_BODY joints, after resampling the track to `fps` when given."""
    if fps is not None and abs(fps - track.fps) > 1e-9:
        track = track.resampled(fps)
    return track.positions()[:, [track.skeleton.index(name) for name in UPPER_BODY]]


def pause_mask(words, n_frames: int, fps: float, min_pause_s: float = PAUSE_MIN_S) -> np.ndarray:
    """Frames (n_frames,) inside gaps of at least `min_pause_s` between words (Segments with start and end, s)."""
    bounds = [(0.0, 0.0)] + sorted((w.start, w.end) for w in words) + [(n_frames / fps, n_frames / fps)]
    times = np.arange(n_frames) / fps
    mask = np.zeros(n_frames, bool)
    for (_, gap_start), (gap_end, _) in zip(bounds, bounds[1:], strict=False):
        if gap_end - gap_start >= min_pause_s:
            mask |= (times >= gap_start) & (times < gap_end)
    return mask


def rest_fraction(motion: Motion, pauses: np.ndarray, rest_speed: float = REST_SPEED) -> float:
    """Share of the pause frames where the hands' mean speed (smoothed 0.1 s) is below `rest_speed`."""
    if not pauses.any():
        raise ValueError("no pause frames: the rest fraction in pauses is undefined for speech without pauses")
    speed = smoothed_step_speed(motion.joints(HANDS), motion.fps)
    return float((speed[pauses[: len(speed)]] < rest_speed).mean())


def audio_frames(rms: np.ndarray, onset: np.ndarray, voiced: np.ndarray, fps: float, motion_fps: float) -> np.ndarray:
    """Per-frame audio features (T, 3) (log RMS, onset strength, voicing) on the motion's clock."""
    columns = np.stack([np.log(np.maximum(rms, 1e-5)), onset, voiced], 1).astype(np.float64)
    n = int(round(len(columns) * motion_fps / fps))
    source = np.arange(len(columns)) / fps
    return np.stack([np.interp(np.arange(n) / motion_fps, source, c) for c in columns.T], 1)


def window_descriptors(motion: Motion, audio: np.ndarray) -> np.ndarray:
    """One row per 2-s window (every 0.25 s): mean and std of arm features and of the audio (module docstring)."""
    relative = motion.relative_to_hips(ARMS)
    velocity = step_velocity(relative, motion.fps)
    n = min(len(velocity), len(audio))
    frames = np.concatenate([relative[:n].reshape(n, -1), velocity[:n].reshape(n, -1)], 1)
    audio = audio[:n]
    size, hop = int(round(WINDOW_S * motion.fps)), int(round(WINDOW_HOP_S * motion.fps))
    rows = []
    # Whole windows at an even hop only (not rigs.clock.sliding_spans, which adds one flush with the end): the
    # Gaussian is fitted to evenly spaced samples, and a clip shorter than a window has none.
    for start in range(0, n - size + 1, hop):
        m, a = frames[start : start + size], audio[start : start + size]
        rows.append(np.concatenate([m.mean(0), m.std(0), a[:, :2].mean(0), a[:, :2].std(0), a[:, 2:].mean(0)]))
    if not rows:
        raise ValueError(f"motion of {n / motion.fps:.1f} s is shorter than one {WINDOW_S:g}-s window")
    return np.array(rows)


def frechet_distance(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of rows, each dimension scaled by the reference's std."""
    scale = reference.std(0)
    scale[scale == 0] = 1.0
    a, b = reference / scale, candidate / scale
    mean_a, mean_b = a.mean(0), b.mean(0)
    # A small ridge keeps sqrtm defined when a feature does not vary (a joint held still, fewer windows than
    # dimensions); at 1e-6 of the unit variances it moves the distance by far less than its sampling noise.
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = sqrtm(cov_a @ cov_b)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root)))


@dataclass(frozen=True)
class Kinematics:
    """The figures of one motion on its audio (definitions in the module docstring)."""

    speed: dict[str, Distribution]  # per joint group, cm/s
    acceleration: dict[str, Distribution]  # per joint group, cm/s²
    arm_high_frequency_share: float
    arm_beats_per_second: float
    beat_align: float
    hand_height: Distribution  # cm above the hips, both hands pooled
    hand_spread: Distribution  # cm between the hands
    rest_in_pauses: float
    head_sway: tuple[float, float]  # cm RMS of the head about its mean place relative to the hips: sideways, forward
    shoulder_follow: float  # cm the shoulder joint rises (against the chest) per cm its hand rises (against the hips)


def head_sway(motion: Motion) -> tuple[float, float]:
    """How far the head sways relative to the hips: RMS (cm) about its mean, sideways (x) and forward (z)."""
    head = motion.relative_to_hips(("Head",))[:, 0]
    deviation = head - head.mean(axis=0)
    return float(np.sqrt(np.mean(deviation[:, 0] ** 2))), float(np.sqrt(np.mean(deviation[:, 2] ** 2)))


def shoulder_follow(motion: Motion) -> float:
    """The least-squares slope of each shoulder joint's height above the chest (Spine3) on its hand's height above
    the hips, both sides pooled: how much the shoulder girdle rises with a raised hand (0 for a rigid one)."""
    chest = motion.joints(("Spine3",))[:, 0, 1]
    rise, hand = [], []
    for side in ("Right", "Left"):
        shoulder_y = motion.joints((f"{side}Arm",))[:, 0, 1] - chest
        hand_y = motion.relative_to_hips((f"{side}Hand",))[:, 0, 1]
        rise.append(shoulder_y - shoulder_y.mean())
        hand.append(hand_y - hand_y.mean())
    rise, hand = np.concatenate(rise), np.concatenate(hand)
    return float(np.dot(rise, hand) / max(np.dot(hand, hand), 1e-9))


POSTURE_GROUPS = {
    "spine": ("Spine", "Spine1", "Spine2", "Spine3"),
    "neck and head": ("Neck", "Neck1", "Head"),
    "right clavicle": ("RightShoulder",),
}


def posture_sway(track: BodyTrack, fps: float = COMPARE_FPS) -> dict[str, tuple[float, float, float]]:
    """Per POSTURE_GROUPS, the RMS (degrees) about its mean of the group's local XYZ Euler angles summed over its
    joints (pitch, yaw, roll): how much the spine, the neck and head, and a clavicle sway, whichever of a chain's
    joints carries the motion (BEAT's capture bends its spine at Spine alone, the generators along all four)."""
    from rigs.rotations import matrix_to_euler_continuous

    if abs(fps - track.fps) > 1e-9:
        track = track.resampled(fps)
    matrices = track.matrices()
    sway = {}
    for group, names in POSTURE_GROUPS.items():
        total = sum(np.degrees(matrix_to_euler_continuous(matrices[:, track.skeleton.index(n)], "XYZ")) for n in names)
        sway[group] = tuple(float(v) for v in np.sqrt(np.mean((total - total.mean(axis=0)) ** 2, axis=0)))
    return sway


def kinematics(motion: Motion, words, onsets: np.ndarray) -> Kinematics:
    """All the single-motion figures of a motion against its speech's words and audio onset times (s)."""
    speed = {g: Distribution.of(step_speed(motion.joints(j), motion.fps)) for g, j in JOINT_GROUPS.items()}
    acceleration = {
        g: Distribution.of(step_acceleration(motion.joints(j), motion.fps)) for g, j in JOINT_GROUPS.items()
    }
    arms = motion.joints(ARMS)
    hands = motion.relative_to_hips(HANDS)
    return Kinematics(
        speed=speed,
        acceleration=acceleration,
        arm_high_frequency_share=high_frequency_share(step_speed(arms, motion.fps), motion.fps),
        arm_beats_per_second=len(argrelmin(smoothed_step_speed(arms, motion.fps))[0]) / motion.duration,
        beat_align=beat_align_times(onsets, motion_beats(motion.joints(UPPER_BODY), motion.fps)),
        hand_height=Distribution.of(hands[..., 1]),
        hand_spread=Distribution.of(np.linalg.norm(hands[:, 0] - hands[:, 1], axis=-1)),
        rest_in_pauses=rest_fraction(motion, pause_mask(words, len(arms), motion.fps)),
        head_sway=head_sway(motion),
        shoulder_follow=shoulder_follow(motion),
    )


def frechet_to_capture(capture: Motion, capture_audio: np.ndarray, motion: Motion, audio: np.ndarray) -> float:
    """Fréchet kinematic distance of a motion on its audio from a capture on its own: the capture's windows in the
    first half of the take against the motion's windows in the second half, so that the capture against itself (the
    take shifted in time by half its length) gives the floor that a motion as real as the capture would reach."""
    half = len(capture.positions) // 2
    reference = window_descriptors(Motion(capture.positions[:half], capture.fps), capture_audio[:half])
    candidate = window_descriptors(Motion(motion.positions[half:], motion.fps), audio[half:])
    return frechet_distance(reference, candidate)


FEET = ("RightFoot", "LeftFoot", "RightToeBase", "LeftToeBase")
SHIFT_SPEED = 0.5  # cm/s: the hips moving sideways faster than this are shifting weight (postural sway is slower)


def knee_flexion(track: BodyTrack) -> dict[str, np.ndarray]:
    """Each knee's flexion (T,) in degrees, by side ("Right", "Left"): the turn from thigh to shin."""
    skeleton = track.skeleton
    fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
    flexion = {}
    for side in ("Right", "Left"):
        thigh, shin = (fk.rotations[:, skeleton.index(f"{side}{part}")].astype(np.float64) for part in ("UpLeg", "Leg"))
        relative = np.einsum("tji,tjk->tik", thigh, shin)
        flexion[side] = np.degrees(np.arccos(np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    return flexion


def standing_figures(track: BodyTrack) -> dict[str, float]:
    """How a body stands, on the track's own clock: the feet's fastest speed (cm/s; 0: planted), the hips' sideways
    offset from the skeleton's rest (cm, 5th / 95th percentile; + towards the character's left), weight shifts a
    minute (the hips starting to move sideways faster than SHIFT_SPEED), the most either knee bends (degrees) and
    the root's lowest drop below its highest (cm)."""
    skeleton = track.skeleton
    fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
    feet = fk.positions[:, [skeleton.index(name) for name in FEET]].astype(np.float64)
    sideways = track.root_positions[:, 0].astype(np.float64)
    moving = np.abs(np.diff(sideways)) * track.fps > SHIFT_SPEED
    starts = int(np.sum(moving[1:] & ~moving[:-1]) + (moving[0] if len(moving) else 0))
    low, high = np.percentile(sideways - skeleton.offsets[0, 0], (5, 95))
    return {"feet_speed_max": float(np.linalg.norm(np.diff(feet, axis=0), axis=-1).max(initial=0.0) * track.fps),
            "hips_sideways_p5": float(low), "hips_sideways_p95": float(high),
            "shifts_per_minute": starts / (track.n_frames / track.fps / 60.0),
            "knee_flexion_max": float(max(angles.max() for angles in knee_flexion(track).values())),
            "root_drop_max": float(np.ptp(track.root_positions[:, 1]))}

"""Measures of body motion against speech: BeatAlign, motion beats per second, mean wrist speed.

Definitions (used for generated and captured motion alike):

- Motion is joint positions (T, J, 3) in cm at `fps`; compare motions at one common fps (bench/procedural_body.py
  resamples everything to 15 fps, the rate of the real BEAT capture in ../shared/data).
- Joints: UPPER_BODY below (spine top, neck, head, both shoulders, upper arms, forearms and hands; no fingers,
  whose capture is noisy, and no hips or legs, which the BEAT capture zeroes after its first row).
- Mean joint speed v_t = mean over joints of |p_{t+1} - p_{t-1}| * fps / 2 (central differences, np.gradient),
  then smoothed with a Gaussian of SPEED_SMOOTH_S seconds (0.067 s = 1 frame at 15 fps; Bailando smooths by ~0.08 s).
- Motion beats: the strict local minima of the smoothed v_t (scipy.signal.argrelmin), frame t -> time t / fps. No
  other threshold, so every pause of the motion counts, and a jittery motion would show many beats per second.
- Audio onsets: librosa.onset.onset_detect on the 16 kHz mono audio with hop_length 160 (10 ms) and librosa's
  default peak picking (pre_max 30 ms, post_max 0, pre_avg 100 ms, post_avg 100 ms, delta 0.07, wait 30 ms), in s.
- BeatAlign (BEAT, Liu et al. 2022; Bailando, Siyao et al. 2022), averaged over the audio onsets A:
      BeatAlign = (1 / |A|) * sum_{a in A} exp( -min_{b in B} (a - b)^2 / (2 sigma^2) ),   sigma = 0.1 s,
  with B the motion beats. 1 means a motion beat on every onset; a motion with beats at random times scores about
  0.37 at 2 beats/s on speech (whence the beats-per-second check that goes with it).
- Mean wrist speed: the mean over frames and both wrists (RightHand, LeftHand joints) of |dp/dt| in cm/s.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelmin

from rigs.body.track import BodyTrack

UPPER_BODY = (
    "Spine3", "Neck", "Head", "RightShoulder", "RightArm", "RightForeArm", "RightHand", "LeftShoulder", "LeftArm",
    "LeftForeArm", "LeftHand",
)
WRISTS = ("RightHand", "LeftHand")
SPEED_SMOOTH_S = 1.0 / 15.0
ONSET_HOP = 160


def joint_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Speed of each joint (T, J) in units per second, by central differences."""
    positions = np.asarray(positions, dtype=np.float64)
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    return np.linalg.norm(np.gradient(positions, axis=0), axis=-1) * fps


def mean_joint_speed(positions: np.ndarray, fps: float, smooth_s: float = SPEED_SMOOTH_S) -> np.ndarray:
    """Mean speed over joints (T,), Gaussian-smoothed over `smooth_s` seconds."""
    speed = joint_speed(positions, fps).mean(1)
    return gaussian_filter1d(speed, smooth_s * fps, mode="nearest") if smooth_s > 0 else speed


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
    wrists = [track.skeleton.index(name) for name in WRISTS]
    return float(joint_speed(track.positions()[:, wrists], track.fps).mean())


def upper_body_positions(track: BodyTrack, fps: float | None = None) -> np.ndarray:
    """Positions (T, J, 3) of the UPPER_BODY joints, after resampling the track to `fps` when given."""
    if fps is not None and abs(fps - track.fps) > 1e-9:
        track = track.resampled(fps)
    return track.positions()[:, [track.skeleton.index(name) for name in UPPER_BODY]]

"""What makes a face look alive around the words: blinks, gaze, brow raises and nods on accents, head motion, idling.

Sources for the numbers (all approximate, then tuned by eye on BEAT speech):
- Blinks: about 17 per minute at rest and more in conversation (Bentivoglio et al. 1997, Movement Disorders 12);
  a blink lasts 100-400 ms, closing faster than it opens (Evinger et al. 1991); arousal raises the rate. Blinks
  cluster at pauses and with large gaze shifts, so blinks close to one are moved onto it.
- Gaze: speakers look away at the start of a phrase and back at its end (Kendon 1967; Argyle & Cook 1976), and
  between those make small saccades about once a second (Lee, Badler & Badler 2002, "Eyes Alive"). A saccade
  lasts about 21 ms + 2.2 ms per degree (the main sequence). The eyes lead and the head follows large shifts
  part of the way; the eyes counter-rotate against head motion so the gaze stays on its target (the VOR).
- Accents: brow raises and head nods line up with pitch accents (Graf et al. 2002; Flecha-Garcia 2010, brows
  start just before the accented syllable). Accents are found from the audio: words whose F0 peak, loudness and
  length stand out (content words only).
- Head: moves more, and with larger amplitude, when the voice is louder and higher (Busso et al. 2007); rises a
  little with F0; drifts slowly and sways with breathing (about 0.25 Hz) when silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.conditioning import Content
from generators.procedural.signals import (
    events_to_curve,
    is_silence,
    lag,
    loudness,
    phrases,
    semitones,
    smooth,
    smooth_noise,
    smoothstep,
)
from rigs.clock import frame_times

# Blinks
BLINKS_PER_MIN = 17.0  # at neutral arousal; speech adds SPEAKING_BLINK_GAIN
SPEAKING_BLINK_GAIN = 1.2
BLINK_S = 0.2  # median duration of one blink, closed to open
BLINK_RANGE_S = (0.17, 0.34)
BLINK_CLOSE_SHARE = 0.3  # share of a blink spent closing; then a short hold; the rest opening
# Gaze, radians
MICRO_SACCADE_S = 0.9  # mean time between the small saccades of mutual gaze
MUTUAL_SPREAD = 0.025  # scatter of fixations around the listener's eyes
AVERSION_YAW = (0.12, 0.30)
AVERSION_PITCH = (0.04, 0.15)
AVERT_AT_PHRASE = 0.55  # chance to look away at the start of a phrase
VERGENCE = 0.025  # each eye turns in this much to converge on a listener about 1.3 m away
HEAD_FOLLOWS_GAZE = 0.35
# The rig's eyeLook shapes turn the eye 30 degrees sideways and 25 degrees up or down at weight 1
# (rigs/face/shapes.py), so the shapes and the gaze channels say the same thing.
EYE_LOOK_YAW = np.radians(30.0)
EYE_LOOK_PITCH = np.radians(25.0)
# Accents
FUNCTION_WORDS = frozenset(
    "a an the and or but so of to in on at by for with from as is am are was were be been it its i me my you your"
    " he him his she her we us our they them their this that there then than do does did have has had will would"
    " can could should if um uh".split()
)
ACCENT_GAP_S = 0.35  # accents closer than this merge into one
NOD_RAD = 0.055  # nod depth for a typical accent (about 3 degrees)
BROW_RAISE = 0.4  # brow raise for a typical accent
# Head drift amplitudes (radians, one standard deviation) while speaking and in silence. For scale: in BEAT's
# mocap of take 2_scott_0_1_1 the head turns against the chest with std 6.9/4.4/3.9 degrees (yaw/pitch/roll); this
# drift, with nods and gaze following, gives about 4.7/2.8/2.5 on that take: a calmer, camera-friendly speaker.
HEAD_DRIFT_SPEAKING = np.array([0.10, 0.06, 0.05])
HEAD_DRIFT_SILENT = np.array([0.03, 0.015, 0.012])
HEAD_DRIFT_S = 0.3  # time scale of the drift
HEAD_PER_SEMITONE = 0.004  # the head rises this much per semitone above the speaker's median F0
BREATH_HZ, BREATH_RAD = 0.25, 0.006


@dataclass
class Life:
    """The life layer of a face track: eyelid closure, brow raise/lower, gaze and head, per frame."""

    blink: np.ndarray  # (T,) eyelid closure of blinks, 0..1
    brow: np.ndarray  # (T,) emphasis brow movement on accents, 0..1 (raised, or lowered in anger: see face.py)
    head: np.ndarray  # (T, 3) yaw, pitch, roll, radians
    gaze: np.ndarray  # (T, 4) eye-in-head yaw/pitch per eye, radians
    accents: np.ndarray  # (N,) accent times, seconds


def accents(content: Content) -> tuple[np.ndarray, np.ndarray]:
    """Pitch-accent times (s) and prominence (z-score, > 0) of the content words that stand out in F0, level, length."""
    fps = content.fps
    pitch = semitones(content.f0_hz, content.voiced)
    level = 20 * np.log10(np.maximum(content.rms, 1e-5))
    pitch_or_low = np.where(np.isfinite(pitch), pitch, -np.inf)
    rows = []
    for start, end, word in content.words:
        a, b = int(np.ceil(start * fps - 1e-9)), min(content.n_frames, int(np.ceil(end * fps - 1e-9)))
        if b <= a or is_silence(word):
            continue
        peak = a + int(np.argmax(pitch_or_low[a:b]))
        has_pitch = np.isfinite(pitch[peak])
        rows.append(((peak if has_pitch else (a + b) // 2) / fps, pitch[peak], level[a:b].mean(), end - start,
                     word.strip().lower().strip(".,!?;:'\"") not in FUNCTION_WORDS))
    if not rows:
        return np.zeros(0), np.zeros(0)
    time, f0, db, length, content_word = (np.array(c, dtype=float) for c in zip(*rows, strict=True))

    def z(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x)
        if ok.sum() < 2:
            return np.zeros_like(x)
        return np.where(ok, (x - np.nanmean(x)) / (np.nanstd(x) + 1e-9), -1.0)

    score = 0.5 * z(f0) + 0.35 * z(db) + 0.3 * z(length)
    keep = (score > 0.2) & (content_word > 0) & (length >= 0.12)
    time, score = time[keep], score[keep]
    chosen: list[int] = []
    for i in np.argsort(-score):  # strongest first; weaker accents too close to a chosen one are dropped
        if all(abs(time[i] - time[j]) >= ACCENT_GAP_S for j in chosen):
            chosen.append(int(i))
    chosen.sort()
    return time[chosen], score[chosen]


def blinks(n_frames: int, fps: float, arousal: np.ndarray, speaking: np.ndarray, rng: np.random.Generator,
           rate: float = 1.0, snap_to: np.ndarray | None = None) -> np.ndarray:
    """(T,) eyelid closure 0..1: blinks at stochastic intervals, more and quicker with arousal and while speaking."""
    out = np.zeros(n_frames)
    if rate <= 0 or n_frames == 0:
        return out
    # An inhomogeneous renewal process: gamma intervals (shape 3: more regular than Poisson) in "blink time",
    # mapped back through the cumulative rate, so the local rate follows arousal and speech.
    per_s = BLINKS_PER_MIN / 60 * rate * (1 + 0.6 * np.clip(arousal, -1, 1)) * (1 + (SPEAKING_BLINK_GAIN - 1)
                                                                              * speaking)
    clock = np.concatenate([[0.0], np.cumsum(np.maximum(per_s, 0.05)) / fps])
    n_expected = int(clock[-1] * 2) + 5
    events = np.cumsum(rng.gamma(3.0, 1 / 3.0, n_expected)) - rng.uniform(0, 1)
    events = events[(events > 0) & (events < clock[-1])]
    times = np.interp(events, clock, np.arange(n_frames + 1) / fps)
    if snap_to is not None and len(snap_to) and len(times):  # blinks go with nearby gaze shifts and pauses
        nearest = snap_to[np.clip(np.searchsorted(snap_to, times), 0, len(snap_to) - 1)]
        times = np.where(np.abs(nearest - times) < 0.4, nearest, times)
    times = np.unique(np.round(times * fps)) / fps  # onsets on frames: the closed hold always covers a frame
    times = times[np.diff(times, prepend=-np.inf) > 0.5]  # no two blinks within 0.5 s (and none is fine)
    frame_of = np.clip(np.round(times * fps).astype(int), 0, n_frames - 1)
    durations = np.clip(BLINK_S * np.exp(0.2 * rng.standard_normal(len(times))) * (1 - 0.2 * arousal[frame_of]),
                        *BLINK_RANGE_S)
    whole = times + durations <= (n_frames - 1) / fps  # no blink cut off by the end of the clip
    t = frame_times(n_frames, fps)
    for onset, duration in zip(times[whole], durations[whole], strict=True):
        a, b = int(round(onset * fps)), min(n_frames, int(np.ceil((onset + duration) * fps)) + 1)
        u = t[a:b] - onset
        closing = BLINK_CLOSE_SHARE * duration
        hold = max(1.0 / fps, 0.1 * duration)
        opening = duration - closing - hold
        lid = np.where(u < closing, smoothstep(u / closing), 1 - smoothstep((u - closing - hold) / max(opening, 1e-3)))
        out[a:b] = np.maximum(out[a:b], lid)
    return out


def gaze_targets(content: Content, rng: np.random.Generator, aversion: np.ndarray,
                 gaze_pitch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaze direction in the world (T, 2) yaw/pitch radians, and the times of the large gaze shifts."""
    n, fps = content.n_frames, content.fps
    duration = content.duration
    spans = phrases(content)
    fixations: list[tuple[float, float, float]] = [(0.0, *(rng.normal(0, MUTUAL_SPREAD, 2)))]
    averted: list[tuple[float, float]] = []
    avert_side = rng.choice([-1.0, 1.0])  # people have a preferred side to look away to
    for start, end in spans:  # look away at phrase starts, back before the phrase ends
        level = float(aversion[min(n - 1, int(start * fps))])
        if rng.uniform() < AVERT_AT_PHRASE * level and end - start > 0.6:
            side = avert_side if rng.uniform() < 0.7 else -avert_side
            yaw = side * rng.uniform(*AVERSION_YAW)
            pitch = rng.choice([-1.0, 1.0], p=[0.55, 0.45]) * rng.uniform(*AVERSION_PITCH)  # up to think, or down
            away = max(0.0, start - rng.uniform(0.0, 0.25))  # the eyes leave just before the words start
            back = min(end - 0.2, away + rng.gamma(3.0, 0.45))
            if back - away > 0.4:
                fixations += [(away, yaw, pitch), (back, *(rng.normal(0, MUTUAL_SPREAD, 2)))]
                averted.append((away, back))
    # Small saccades around the listener's face between the look-aways.
    t = rng.uniform(0, MICRO_SACCADE_S)
    while t < duration:
        if not any(a - 0.2 < t < b + 0.2 for a, b in averted):
            fixations.append((t, *(rng.normal(0, MUTUAL_SPREAD, 2))))
        t += rng.gamma(2.0, MICRO_SACCADE_S / 2)
    fixations.sort()
    start = np.array([f[0] for f in fixations])
    target = np.array([f[1:] for f in fixations])
    # Each fixation is reached by a saccade whose length follows the main sequence.
    previous = np.vstack([target[:1], target[:-1]])
    length_s = 0.021 + 0.0022 * np.degrees(np.linalg.norm(target - previous, axis=1))
    times = frame_times(n, fps)
    i = np.clip(np.searchsorted(start, times, side="right") - 1, 0, len(start) - 1)
    progress = smoothstep((times - start[i]) / length_s[i])[:, None]
    world = previous[i] + (target[i] - previous[i]) * progress
    world[:, 1] += gaze_pitch
    return world, np.array([t for span in averted for t in span])


def head_motion(content: Content, rng: np.random.Generator, speaking: np.ndarray, arousal: np.ndarray,
                accent_times: np.ndarray, accent_strength: np.ndarray, amount: float) -> np.ndarray:
    """(T, 3) head yaw/pitch/roll (radians) from prosody: drift, nods on accents, F0 lift, breathing."""
    n, fps = content.n_frames, content.fps
    energy = (0.5 + 0.5 * smooth(loudness(content.rms), 0.3, fps)) * (1 + 0.5 * np.clip(arousal, -1, 1))
    envelope = smooth(speaking, 0.4, fps)
    drift_amp = HEAD_DRIFT_SILENT + (HEAD_DRIFT_SPEAKING - HEAD_DRIFT_SILENT) * (envelope * energy)[:, None]
    head = drift_amp * smooth_noise(rng, n, fps, HEAD_DRIFT_S, 3)
    head[:, 2] += 0.3 * head[:, 0]  # roll goes a little with yaw, as in real head turns
    # Nods: down at the accent, a small rebound after (a difference of Gaussians, 0.25 s before to 0.6 s after).
    k = np.arange(-int(0.25 * fps), int(0.6 * fps) + 1) / fps
    nod = np.exp(-0.5 * (k / 0.09) ** 2) - 0.3 * np.exp(-0.5 * ((k - 0.22) / 0.12) ** 2)
    depth = NOD_RAD * np.clip(0.6 + 0.4 * accent_strength, 0.5, 1.6) * rng.uniform(0.6, 1.2, len(accent_times))
    nodding = rng.uniform(size=len(accent_times)) < 0.65  # not every accent gets a nod
    head[:, 1] += events_to_curve(accent_times[nodding], depth[nodding], nod, int(0.25 * fps), n, fps)
    # Higher pitch lifts the head (negative pitch), held through unvoiced gaps and fading in pauses.
    st = semitones(content.f0_hz, content.voiced)
    known = np.isfinite(st)
    if known.any():
        filled = np.interp(np.arange(n), np.flatnonzero(known), st[known])
        head[:, 1] -= HEAD_PER_SEMITONE * np.clip(smooth(filled, 0.2, fps), -8, 8) * envelope
    t = frame_times(n, fps)
    head[:, 1] += BREATH_RAD * np.sin(2 * np.pi * BREATH_HZ * t + rng.uniform(0, 2 * np.pi))
    return amount * head


def brows(content: Content, rng: np.random.Generator, accent_times: np.ndarray, accent_strength: np.ndarray,
          amount: float) -> np.ndarray:
    """(T,) emphasis brow movement on some accents: rising just before the accented word, fading after."""
    n, fps = content.n_frames, content.fps
    k = np.arange(-int(0.3 * fps), int(0.7 * fps) + 1) / fps
    bump = np.where(k < 0, np.exp(-0.5 * (k / 0.1) ** 2), np.exp(-0.5 * (k / 0.22) ** 2))
    chosen = rng.uniform(size=len(accent_times)) < np.clip(0.25 + 0.25 * accent_strength, 0.2, 0.8)
    size = BROW_RAISE * np.clip(0.6 + 0.3 * accent_strength, 0.5, 1.3) * rng.uniform(0.6, 1.1, len(accent_times))
    curve = events_to_curve(accent_times[chosen] - 0.06, size[chosen], bump, int(0.3 * fps), n, fps)
    return np.clip(amount * curve, 0.0, 1.0)


def eye_look(gaze: np.ndarray) -> dict[str, np.ndarray]:
    """The ARKit eyeLook* weights of eye-in-head gaze (T, 4), so blendshape-only consumers see the same gaze."""
    out = {}
    for eye, yaw, pitch in (("Left", gaze[:, 0], gaze[:, 1]), ("Right", gaze[:, 2], gaze[:, 3])):
        toward_left = np.clip(yaw / EYE_LOOK_YAW, 0, 1)  # + yaw: toward the character's left
        toward_right = np.clip(-yaw / EYE_LOOK_YAW, 0, 1)
        out[f"eyeLookOut{eye}"] = toward_left if eye == "Left" else toward_right
        out[f"eyeLookIn{eye}"] = toward_right if eye == "Left" else toward_left
        out[f"eyeLookDown{eye}"] = np.clip(pitch / EYE_LOOK_PITCH, 0, 1)
        out[f"eyeLookUp{eye}"] = np.clip(-pitch / EYE_LOOK_PITCH, 0, 1)
    return out


def animate_life(content: Content, speaking: np.ndarray, arousal: np.ndarray, aversion: np.ndarray,
                 head_offset: np.ndarray, gaze_pitch: np.ndarray, seed: int, blink_rate: float = 1.0,
                 head_amount: float = 1.0, brow_amount: float = 1.0) -> Life:
    """Blinks, gaze, emphasis brows and head motion for the content; seeded, each part on its own random stream.

    aversion (T,) scales the chance of looking away (1 = typical); head_offset (T, 3) is the emotional posture and
    gaze_pitch (T,) where the emotion makes the eyes rest (radians, + down).
    """
    n, fps = content.n_frames, content.fps
    blink_rng, gaze_rng, head_rng, brow_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    accent_times, strength = accents(content)
    world, shifts = gaze_targets(content, gaze_rng, aversion, gaze_pitch)
    snap = np.sort(np.concatenate([shifts, [end for _, end in phrases(content)]]))
    blink = blinks(n, fps, arousal, speaking, blink_rng, blink_rate, snap)
    head = head_motion(content, head_rng, speaking, arousal, accent_times, strength, head_amount) + head_offset
    # The head turns part of the way towards where the eyes look, lagging them (eyes lead, head follows).
    head[:, :2] += HEAD_FOLLOWS_GAZE * min(head_amount, 1.0) * lag(lag(world, 0.12, fps), 0.12, fps)
    eyes = world - head[:, :2]  # the eyes counter-rotate so the gaze stays on its target when the head moves
    gaze = np.column_stack([eyes[:, 0] - VERGENCE, eyes[:, 1], eyes[:, 0] + VERGENCE, eyes[:, 1]])
    brow = brows(content, brow_rng, accent_times, strength, brow_amount)
    return Life(blink, brow, head, np.clip(gaze, -0.6, 0.6), accent_times)

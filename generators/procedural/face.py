"""The procedural face: speech content and an emotion curve in, an ARKit-52 face track with head and gaze out.

Layers, bottom to top (each in its own module):
1. lip-sync (`lipsync`): phones -> coarticulated articulators -> mouth and jaw shapes, the jaw following loudness;
2. emotion (`facs`): the FACS expression of the emotion curve, with natural onset and offset, its mouth shapes
   yielding where the articulation needs the lips; the emotion's head posture and resting gaze;
3. life (`life`): blinks, gaze with look-aways and the matching eyeLook shapes, brow raises and nods on pitch
   accents, head motion from prosody, idle motion in silence;
4. the lips: mouthClose from the final jaw, then the bilabial pass that closes every P/B/M whatever came before.
Deterministic for a seed; every layer draws from its own stream, so changing one knob does not reshuffle the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.conditioning import EMOTIONS, Content, EmotionFrames
from generators.procedural import facs, lipsync
from generators.procedural.life import animate_life, eye_look
from generators.procedural.signals import lag, smooth, smooth_noise, speaking
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack


@dataclass(frozen=True)
class FaceStyle:
    """Knobs of the procedural face: each scales one behaviour (1 = as designed, 0 = off)."""

    articulation: float = 1.0  # size of the mouth movements: 0.7 mumbles, 1.3 over-articulates (P/B/M still close)
    emotion: float = 1.0  # strength of the facial expression on top of the requested intensity
    blink_rate: float = 1.0  # blinks per minute relative to about 17 (at neutral arousal)
    head_motion: float = 1.0  # head drift, nods and posture
    gaze_aversion: float = 1.0  # how often the eyes look away at phrase starts
    brow_motion: float = 1.0  # emphasis brow raises on pitch accents
    idle: float = 1.0  # small movements of brows and lips in silence


def _columns(*names: str) -> list[int]:
    return [INDEX[n] for n in names]


def animate_face(content: Content, emotion: EmotionFrames, seed: int = 0, style: FaceStyle | None = None) -> FaceTrack:
    """An ARKit-52 face track (with head and gaze) speaking `content` with the given emotion curve."""
    style = style or FaceStyle()
    n, fps = content.n_frames, content.fps
    if emotion.n_frames != n:
        raise ValueError(f"the emotion curve has {emotion.n_frames} frames but the speech content has {n}; build "
                         "the emotion for content.n_frames frames (e.g. constant_emotion(label, intensity, n))")
    if n == 0:
        return FaceTrack.neutral(0, fps)
    act = facs.activation(emotion, fps)  # (T, 8)
    share = dict(zip(EMOTIONS, act.T, strict=True))
    arousal = lag(emotion.vad[:, 1].astype(np.float64), facs.ONSET_S, fps)
    talking = speaking(content)

    # 1. Lip-sync; aroused speech opens the jaw a little wider, low arousal (sadness) a little less.
    artic = lipsync.articulate(content, style.articulation, jaw_gain=1 + 0.25 * arousal)
    A = lipsync.A
    seal, jaw = artic[:, A["seal"]], artic[:, A["jaw"]]
    rounding = np.clip(artic[:, A["pucker"]] + artic[:, A["funnel"]], 0, 1)
    weights = lipsync.mouth_shapes(artic)

    # 2. Emotion, layered so it yields to the articulation.
    expression = facs.expression(act, style.emotion)
    weights = facs.layer_expression(weights, expression, seal, rounding, jaw, fps)
    head_offset, gaze_pitch = facs.posture(act)

    # 3. Life. Sad and fearful speakers look away more, angry ones hold the gaze.
    aversion = style.gaze_aversion * np.clip(1 + 0.8 * (share["sadness"] + share["fear"]) - 0.6 * share["anger"], 0, 2)
    life = animate_life(content, talking, arousal, aversion, style.head_motion * head_offset, gaze_pitch, seed,
                        blink_rate=style.blink_rate, head_amount=style.head_motion, brow_amount=style.brow_motion)
    # Emphasis brows go up, except in anger and disgust, where emphasis lowers them (Ekman 1979).
    lowering = np.clip(share["anger"] + share["disgust"], 0, 1)
    raise_ = life.brow * (1 - lowering)
    weights[:, INDEX["browInnerUp"]] += raise_
    weights[:, _columns("browOuterUpLeft", "browOuterUpRight")] += 0.8 * raise_[:, None]
    weights[:, _columns("browDownLeft", "browDownRight")] += 0.6 * (life.brow * lowering)[:, None]
    # Blinks close the lids over whatever the emotion does to them.
    blink = life.blink[:, None]
    lids = _columns("eyeBlinkLeft", "eyeBlinkRight")
    weights[:, lids] = np.maximum(weights[:, lids], blink)
    weights[:, _columns("eyeWideLeft", "eyeWideRight")] *= 1 - blink
    weights[:, _columns("eyeSquintLeft", "eyeSquintRight")] *= 1 - 0.5 * blink
    for name, values in eye_look(life.gaze).items():
        weights[:, INDEX[name]] = values
    # Idle: in silence the brows and lips keep moving a little (never still, never a gesture).
    silent = style.idle * (1 - smooth(talking, 0.3, fps))
    idle_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[4])  # apart from life's four streams
    drift = np.maximum(smooth_noise(idle_rng, n, fps, 0.8, 3), 0) * silent[:, None]
    weights[:, INDEX["browInnerUp"]] += 0.04 * drift[:, 0]
    weights[:, _columns("mouthPressLeft", "mouthPressRight")] += 0.06 * drift[:, 1:2]
    weights[:, INDEX["mouthShrugLower"]] += 0.05 * drift[:, 2]

    # 4. The lips last: seal against the final jaw, then close every P/B/M.
    weights = np.clip(weights, 0.0, 1.0)
    lipsync.seal_lips(weights, seal)
    lipsync.seal_bilabials(weights, content.phones, fps)
    return FaceTrack(np.clip(weights, 0.0, 1.0).astype(np.float32), fps, life.head.astype(np.float32),
                     life.gaze.astype(np.float32))

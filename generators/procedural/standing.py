"""Standing: the weight shifts of a person who talks on their feet, over feet that stay planted.

Both body generators move the upper body over still hips and legs (the BEAT capture they are compared with has its
hips and legs zeroed), so on their own the character stands like a statue from the waist down. This layer, applied
to any generator's body track, adds what a standing speaker does below the waist:

- weight shifts: every SHIFT_EVERY_S (about; sooner with a quicker tempo), preferably in a pause between phrases,
  the hips move over one foot in SHIFT_S (minimum jerk) by up to SHIFT_CM sideways (scaled by the gesture
  energy: a subdued, sad speaker shifts less), alternating sides and now and then back to the middle. Prolonged
  standing is a sequence of such shifts between quieter stretches (Duarte & Zatsiorsky 1999, "Patterns of center of
  pressure migration during prolonged unconstrained standing");
- the pelvis rolls with them (the unloaded hip drops ROLL_DEG at a full shift) and the spine's first joint takes
  the roll back, so the chest and everything above keep the orientation the generator gave them;
- a slow postural sway of a few millimetres (quiet standing sways the body's centre by about that much);
- the legs solved to keep each foot exactly where it was (two-bone IK, knees bending forward, the foot's own
  orientation kept): the loaded leg straight, the other knee relaxing as its hip drops. The hips are lowered just
  enough that neither leg has to stretch past the length it had: the feet never slide or leave the floor.
"""

from __future__ import annotations

import numpy as np

from generators.conditioning import Content, EmotionFrames
from generators.procedural.affect import body_expression
from generators.procedural.signals import phrases, smooth_noise, smoothstep
from rigs.body.track import BodyTrack
from rigs.rotations import axis_matrix, matrix_to_euler_continuous

__all__ = ["shift_weight"]

SHIFT_CM = 3.0  # sideways hip travel over one foot at neutral energy
SHIFT_S = 1.2  # how long a shift takes at neutral tempo
SHIFT_EVERY_S = (8.0, 20.0)  # the gap before the next shift is drawn from this range (divided by the tempo)
PAUSE_REACH_S = 3.0  # a shift waits up to this long, or comes this much early, to fall in a pause
TO_MIDDLE = 0.25  # share of shifts that go back to standing evenly on both feet
ROLL_DEG = 3.0  # the unloaded hip drops this much at a full shift
SWAY_CM = (0.3, 0.5)  # sideways and forward postural sway, RMS
SWAY_S = 3.0  # its timescale
LEGS = ("Right", "Left")
BENT_CM = 0.5  # a knee this far off its hip-ankle line was bent: it keeps bending that way (else over the toes)
SALT = 0x57A7D  # the layer's own random stream, apart from the generators' (same seed, independent draws)


def shift_weight(track: BodyTrack, content: Content, emotion: EmotionFrames, seed: int = 0) -> BodyTrack:
    """The track with weight shifts, pelvis roll and postural sway over feet kept where they were."""
    n, fps = track.n_frames, track.fps
    if n != content.n_frames or n != emotion.n_frames:
        raise ValueError(f"the body track has {n} frames, the content {content.n_frames} and the emotion "
                         f"{emotion.n_frames}; give all three on one frame clock")
    rng = np.random.default_rng([seed, SALT])
    expression = body_expression(emotion, fps)
    sideways = _shifts(content, np.clip(expression.energy, 0.6, 1.4), expression.tempo, rng, n, fps)
    sway = smooth_noise(rng, n, fps, SWAY_S, width=2) * np.array(SWAY_CM)
    roll = np.radians(ROLL_DEG) * sideways / SHIFT_CM  # hips over the right foot (-x): the left hip (+x) drops
    return _stand(track, sideways + sway[:, 0], sway[:, 1], roll)


def _shifts(content: Content, energy: np.ndarray, tempo: np.ndarray, rng: np.random.Generator, n: int,
            fps: float) -> np.ndarray:
    """(T,) sideways hip offset in cm (+x: towards the character's left), a minimum-jerk move per weight shift."""
    duration = n / fps
    pauses = np.array([end for _, end in phrases(content)])  # where a phrase ends, a pause begins
    offset = np.zeros(n)
    times = np.arange(n) / fps
    position, side = 0.0, rng.choice((-1.0, 1.0))
    due = rng.uniform(0.3, 1.0) * SHIFT_EVERY_S[0]
    while due < duration:
        near = pauses[(pauses > due - PAUSE_REACH_S) & (pauses < due + PAUSE_REACH_S)]
        start = float(near[np.argmin(np.abs(near - due))]) if len(near) else due
        frame = min(int(start * fps), n - 1)
        target = 0.0 if position != 0.0 and rng.random() < TO_MIDDLE else side * SHIFT_CM * rng.uniform(0.7, 1.0)
        target *= energy[frame]
        if target != 0.0:
            side = -side
        length = SHIFT_S / tempo[frame]
        offset += (target - position) * smoothstep((times - start) / length)
        position = target
        due = start + length + rng.uniform(*SHIFT_EVERY_S) / tempo[frame]
    return offset


def _stand(track: BodyTrack, sideways: np.ndarray, forward: np.ndarray, roll: np.ndarray) -> BodyTrack:
    """Move the hips (cm sideways and forward, pelvis roll in radians) and solve the legs to the feet as they were."""
    skeleton = track.skeleton
    fk = skeleton.forward_kinematics(track.rotations, track.root_positions)
    positions, world = fk.positions.astype(np.float64), fk.rotations.astype(np.float64)
    local = skeleton.local_matrices(track.rotations)
    hips, spine = 0, skeleton.index("Spine")
    tilt = axis_matrix("Z", roll)  # (T, 3, 3) about the forward axis, in the world
    hips_world = tilt @ world[:, hips]
    local[:, hips] = hips_world
    # The spine's first joint turns back what the pelvis rolled: the chest keeps its orientation.
    local[:, spine] = np.swapaxes(hips_world, 1, 2) @ world[:, hips] @ local[:, spine]
    root = track.root_positions.astype(np.float64) + np.stack([sideways, np.zeros_like(sideways), forward], 1)
    legs = {side: [skeleton.index(f"{side}{part}") for part in ("UpLeg", "Leg", "Foot")] for side in LEGS}
    # Lower the hips where a leg would have to stretch past its length in the track (its straightest).
    drop = np.zeros(len(root))
    for hip, _, ankle in legs.values():
        moved_hip = root + hips_world @ skeleton.offsets[hip]
        reach = np.linalg.norm(positions[:, hip] - positions[:, ankle], axis=1)
        across = moved_hip - positions[:, ankle]
        height = np.sqrt(np.maximum(reach**2 - across[:, 0] ** 2 - across[:, 2] ** 2, 0.0))
        drop = np.maximum(drop, across[:, 1] - height)
    root[:, 1] -= drop
    for hip, knee, ankle in legs.values():
        thigh, shin = (float(np.linalg.norm(skeleton.offsets[j])) for j in (knee, ankle))
        new_hip = root + hips_world @ skeleton.offsets[hip]
        toes = world[:, ankle, :, 2]  # the foot's forward axis: a knee bends over its toes
        bend = _across(positions[:, knee] - positions[:, hip], positions[:, ankle] - positions[:, hip])
        new_knee = _knee(new_hip, positions[:, ankle], thigh, shin, np.where(
            np.linalg.norm(bend, axis=1, keepdims=True) > BENT_CM, bend, toes))
        thigh_world = _turn(positions[:, knee] - positions[:, hip], new_knee - new_hip) @ world[:, hip]
        shin_world = _turn(positions[:, ankle] - positions[:, knee], positions[:, ankle] - new_knee) @ world[:, knee]
        local[:, hip] = np.swapaxes(hips_world, 1, 2) @ thigh_world
        local[:, knee] = np.swapaxes(thigh_world, 1, 2) @ shin_world
        local[:, ankle] = np.swapaxes(shin_world, 1, 2) @ world[:, ankle]  # the foot keeps its orientation
    # Only the joints moved here are converted back to Euler angles: every other joint keeps its angles bit for bit.
    rotations = track.rotations.copy()
    for joint in (hips, spine, *(j for leg in legs.values() for j in leg)):
        order = skeleton.rotation_orders[joint]
        rotations[:, joint] = matrix_to_euler_continuous(local[:, joint], order, start=track.rotations[0, joint])
    return BodyTrack(skeleton, track.fps, rotations, root.astype(np.float32))


def _knee(hip: np.ndarray, ankle: np.ndarray, thigh: float, shin: float, towards: np.ndarray) -> np.ndarray:
    """(T, 3) knee positions of legs from hip to ankle, bending towards a direction (T, 3)."""
    reach = ankle - hip
    length = np.linalg.norm(reach, axis=1, keepdims=True)
    along = reach / np.maximum(length, 1e-9)
    length = np.minimum(length, thigh + shin)
    cos_a = np.clip((thigh**2 + length**2 - shin**2) / (2 * thigh * length), -1.0, 1.0)
    hint = _across(towards, along)
    hint /= np.maximum(np.linalg.norm(hint, axis=1, keepdims=True), 1e-9)
    return hip + thigh * (cos_a * along + np.sqrt(1.0 - cos_a**2) * hint)


def _across(vectors: np.ndarray, line: np.ndarray) -> np.ndarray:
    """(T, 3) the parts of vectors perpendicular to the directions of line (T, 3)."""
    unit = line / np.maximum(np.linalg.norm(line, axis=1, keepdims=True), 1e-9)
    return vectors - np.sum(vectors * unit, axis=1, keepdims=True) * unit


def _turn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the smallest rotations taking directions a to b (T, 3)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    axis, cos = np.cross(a, b), np.sum(a * b, axis=1)
    cross = np.zeros((len(a), 3, 3))
    cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    cross -= np.swapaxes(cross, 1, 2)
    return np.eye(3) + cross + cross @ cross / (1.0 + cos)[:, None, None]

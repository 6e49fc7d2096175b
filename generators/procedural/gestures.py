"""Gesture planning: which onsets get a beat, the phases of each gesture, word-triggered gestures, head and torso.

A plan is keyframes, explainable one by one:

- beats: the most prominent acoustic onsets (see accents.py), at least a tempo-dependent gap apart, become
  keyframes; the strongest are strokes (the hand arrives low, on the syllable), the others lifts (the hand rises:
  the preparation of the next stroke). Each keyframe is where the hand pauses, so motion beats land on onsets;
- gesture units: runs of beats separated by pauses; each unit is gestured with the right, the left or both hands,
  around a seeded spot of the gesture space that the emotion shapes (height, width, reach, withdrawal), and ends in
  a retraction to the speaking home pose (short pause) or to the rest pose, arms down (long pause);
- semantic gestures on words: self-reference -> hand to chest, "you" -> point at the listener, "there/that" ->
  point away, negation -> head shake (and a palm-down sweep), size words -> hands apart or close together;
- head and torso follow the beats: nods and small forward pulses on strokes; the torso turns a little towards
  the gesturing hand.

Hand keyframes are in the hand's own-side chest coordinates: `out` (cm, away from the midline), `up`, `fwd`,
relative to the chest joint (Spine3), so left and right share one description.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erfinv

from generators.conditioning import Content
from generators.procedural.accents import VOWELS, Accents, find_accents
from generators.procedural.affect import BodyExpression
from generators.procedural.hands import SHAPES
from generators.procedural.trajectory import Keys

CHANNELS = ("out", "up", "fwd", "pronation", "flex", "deviation", "swivel", *SHAPES)
HANDS = ("right", "left")

BASE_GAP = 0.3  # s, the shortest time between beat keyframes at neutral tempo
MIN_GAP = 0.2  # s, the shortest at any tempo
PHRASE_PAUSE = 0.3  # s of silence between beats that ends a gesture unit
MAX_UNIT = 5.0  # s, the longest gesture unit before it is split
REST_PAUSE = 2.6  # s of pause before the arms go down to rest
STROKE_MOVE = 0.45  # s a stroke takes at neutral tempo (the segment's motion is skewed into its last part)
LIFT_MOVE = 0.45  # s a lift or rebound takes
# Calibrated at neutral against the real capture of BEAT take 2_scott_0_1_1 (bench/body_vs_capture.py): its hands
# sit about 17 cm above the hips and 59 cm apart on average, ranging over 40 cm in height and spread.
AMPLITUDE = 32.0  # cm, beat size at neutral energy
HOME = (30.0, -34.0, 28.0)  # cm (out, up, fwd) from the chest: the neutral speaking home pose
CENTRE = (30.0, -25.0, 32.0)  # cm (out, up, fwd) from the chest: where a neutral gesture unit's beats happen
CENTRE_SCATTER = (8.0, 8.0, 5.0)  # cm, seeded spread of the units' centres
MAX_HAND_SPEED = 190.0  # cm/s, peak hand speed of a move at neutral tempo
UNIT_GAIN_SPREAD = 0.35  # log-normal spread of the gesture size from one gesture unit to the next
HAND_CARRY = 0.5  # share of the speed hands carry through keys where they keep going the same way

SELF = frozenset({"i", "me", "my", "myself", "mine", "i'm", "i've", "i'll", "i'd"})
LISTENER = frozenset({"you", "your", "yours", "yourself", "you're", "you've", "you'll", "you'd"})
AWAY = frozenset({"there", "that", "those", "that's"})
NEGATION = frozenset({"no", "not", "never", "nothing", "nobody", "none", "nope", "neither", "nor"})
BIG = frozenset({"big", "huge", "large", "enormous", "giant", "massive", "vast", "wide", "tall"})
SMALL = frozenset({"small", "little", "tiny", "bit", "narrow"})


@dataclass(frozen=True)
class BodyStyle:
    """A speaker's gesture habits, independent of emotion."""

    rate: float = 1.0  # scales how many beats become gestures
    amplitude: float = 1.0  # scales the size of gestures
    right_handed: float = 0.7  # share of one-handed units done with the right hand
    two_handed: float = 0.35  # share of units done with both hands
    height: float = 0.0  # cm, shifts the gesture space up or down
    semantic: bool = True  # word-triggered gestures on or off

    def __post_init__(self) -> None:
        for name in ("rate", "amplitude"):
            if not (np.isfinite(getattr(self, name)) and 0.0 < getattr(self, name) <= 3.0):
                raise ValueError(f"body style {name} is {getattr(self, name)}; give a value in (0, 3], e.g. 1.0")
        for name in ("right_handed", "two_handed"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"body style {name} is {getattr(self, name)}; give a share in [0, 1]")


@dataclass(frozen=True)
class SemanticEvent:
    """A word-triggered gesture: its kind, the word, when the stroke lands and when the hold ends."""

    kind: str  # "self", "listener", "away", "negation", "big", "small"
    word: str
    start: float
    end: float


@dataclass
class GesturePlan:
    """Keyframes of both hands (CHANNELS), head and torso additions (pitch, yaw, roll in degrees)."""

    hands: dict[str, Keys]
    head: Keys
    torso: Keys
    strokes: list[float] = field(default_factory=list)
    events: list[SemanticEvent] = field(default_factory=list)


def hand_pose(
    out: float,
    up: float,
    fwd: float,
    pronation: float = 0.0,
    flex: float = 0.0,
    deviation: float = 0.0,
    swivel: float = 0.0,
    **shape: float,
) -> np.ndarray:
    """A hand keyframe vector over CHANNELS; shape weights by name (default: relaxed)."""
    weights = np.array([shape.get(name, 0.0) for name in SHAPES])
    if weights.sum() <= 0:
        weights[0] = 1.0
    return np.concatenate([[out, up, fwd, pronation, flex, deviation, swivel], weights])


# Arms hanging with a soft elbow, palms to the thighs (the rest pose in silence).
REST = hand_pose(22.0, -42.0, 9.0, pronation=0.0, flex=8.0)


def home_pose(e: dict[str, float]) -> np.ndarray:
    """The speaking home pose shaped by the emotion: low and close when sad, at the chest when afraid, fists when
    angry, wider when dominant."""
    out_0, up_0, fwd_0 = HOME
    out = max(out_0 + 3.0 * e["openness"] + 4.0 * e["expansive"] - 8.0 * e["withdraw"], 9.0)
    up = up_0 + 0.5 * e["height"] + 14.0 * e["withdraw"]
    fwd = fwd_0 + 2.0 * e["expansive"] - 4.0 * e["withdraw"]
    fist = 0.7 * e["fist"]
    open_w = 0.5 * max(e["spread"], 0.0)
    return hand_pose(
        out,
        up,
        fwd,
        pronation=-10.0 - 20.0 * e["openness"] + 30.0 * e["fist"],
        flex=5.0,
        relaxed=max(1.0 - fist - open_w, 0.0),
        fist=fist,
        open=open_w,
    )


def _normalise_word(label: str) -> str:
    return "".join(ch for ch in label.lower().strip() if ch.isalpha() or ch == "'")


def _word_kind(word: str) -> str | None:
    if word in SELF:
        return "self"
    if word in LISTENER:
        return "listener"
    if word in AWAY:
        return "away"
    if word in NEGATION or word.endswith("n't"):
        return "negation"
    if word in BIG:
        return "big"
    if word in SMALL:
        return "small"
    return None


def semantic_events(content: Content, accents: Accents) -> list[SemanticEvent]:
    """Word-triggered gestures, rate-limited so they punctuate rather than flood the speech."""
    events: list[SemanticEvent] = []
    last_any, last_kind = -np.inf, {}
    strong = np.quantile(accents.strength, 0.5) if len(accents.strength) else 0.0
    vowel_starts = np.array([p.start for p in content.phones if p.label in VOWELS])
    for word in content.words:
        label = _normalise_word(word.label)
        kind = _word_kind(label)
        if kind is None:
            continue
        # The stroke lands on the word's first onset (or its first vowel, or its start).
        near = np.flatnonzero(np.abs(accents.times - word.start - 0.03) <= 0.12)
        if len(near):
            start = float(accents.times[near[np.argmin(np.abs(accents.times[near] - word.start))]])
            prominence = float(accents.strength[near].max())
        else:
            inside = vowel_starts[(vowel_starts >= word.start) & (vowel_starts < word.end)]
            start = float(inside[0]) if len(inside) else word.start
            prominence = -np.inf
        # "that" and "there" are mostly grammatical: point only when stressed.
        if kind == "away" and prominence < strong:
            continue
        spacing = {"self": 3.0, "listener": 2.5, "away": 2.5, "negation": 1.5, "big": 1.5, "small": 1.5}[kind]
        if start - last_any < 1.2 or start - last_kind.get(kind, -np.inf) < spacing:
            continue
        end = max(word.end + 0.25, start + 0.5)
        events.append(SemanticEvent(kind, label, start, end))
        last_any, last_kind[kind] = start, start
    return events


def _units(times: np.ndarray, speaking: np.ndarray, fps: float, tempo: np.ndarray) -> list[np.ndarray]:
    """Split beat indices into gesture units: at phrase pauses, at long gaps between beats, and so that no unit
    runs longer than MAX_UNIT seconds (split at its largest inner gap)."""
    if len(times) == 0:
        return []
    silent_before = np.zeros(len(speaking) + 1)
    silent_before[1:] = np.cumsum(~speaking)  # silent frames before each frame
    frames = np.clip(np.round(times * fps).astype(int), 0, len(speaking))
    silence = (silent_before[frames[1:]] - silent_before[frames[:-1]]) / fps
    gaps = np.diff(times)
    split = (silence >= PHRASE_PAUSE) | (gaps > 1.6 / tempo[frames[1:].clip(0, len(tempo) - 1)])
    units = np.split(np.arange(len(times)), np.flatnonzero(split) + 1)
    out: list[np.ndarray] = []
    while units:
        unit = units.pop(0)
        if times[unit[-1]] - times[unit[0]] <= MAX_UNIT or len(unit) < 4:
            out.append(unit)
            continue
        inner = np.diff(times[unit])[1:-1]  # keep at least two beats on each side
        cut = int(np.argmax(inner)) + 2
        units[:0] = [unit[:cut], unit[cut:]]
    return out


def select_beats(
    accents: Accents, expr: BodyExpression, fps: float, style: BodyStyle, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the accent candidates that become beat keyframes, and which of them are strokes."""
    n = len(accents.times)
    if n == 0:
        return np.zeros(0, int), np.zeros(0, bool)
    frames = np.clip(np.round(accents.times * fps).astype(int), 0, expr.n_frames - 1)
    strength = accents.strength + rng.normal(0.0, 0.15, n)  # seeds vary which near-equal syllables get a beat
    activity = np.clip(expr.activity[frames] * style.rate, 0.2, 1.0)
    # Low activity keeps only the more prominent syllables (a quantile of this clip's prominence).
    keep = strength >= np.quantile(strength, 1.0 - activity)
    gap = np.maximum(
        BASE_GAP / (expr.tempo[frames] * np.sqrt(np.clip(expr.activity[frames] * style.rate, 1.0, 1.6))), MIN_GAP
    )
    blocked = ~keep
    chosen = []
    for i in np.argsort(-strength, kind="stable"):
        if blocked[i]:
            continue
        chosen.append(i)
        blocked |= np.abs(accents.times - accents.times[i]) < gap[i]
    chosen = np.sort(np.array(chosen, dtype=int))
    if len(chosen) == 0:
        return chosen, np.zeros(0, bool)
    stroke = strength[chosen] >= np.quantile(strength[chosen], 0.4)
    return chosen, stroke


class _Planner:
    """Builds the keyframes of one clip (a class only to share its inputs between the steps)."""

    def __init__(self, content: Content, expr: BodyExpression, style: BodyStyle, rng: np.random.Generator) -> None:
        self.content, self.expr, self.style = content, expr, style
        # Independent streams, so that one emotion's extra beats do not reshuffle another decision's draws: the
        # same seed gives the same handedness per unit and the same word-gesture choices under every emotion.
        self.detail_rng, self.beat_rng, unit_rng, self.event_rng = rng.spawn(4)
        self.unit_draws = unit_rng.random((512, 3))  # per gesture unit: both hands?, which hand?, how animated?
        self.fps, self.duration = content.fps, content.duration
        self.hands = {hand: Keys(len(CHANNELS), carry=HAND_CARRY) for hand in HANDS}
        self.head = Keys(3)
        self.torso = Keys(3)
        self.strokes: list[float] = []
        self._stroke_flags: dict[str, bool] = {}
        self._unit_hands: list[tuple[float, float, tuple[str, ...]]] = []  # (start, end, active hands) per unit

    def at(self, time: float) -> dict[str, float]:
        """The body-expression parameters at `time`."""
        return self.expr.at(time, self.fps)

    def add(self, hand: str, time: float, pose: np.ndarray, move: float, late: bool, arc=None) -> None:
        """A hand keyframe; the motion from the previous key takes about `move` s, at its end or start.

        Quick successions of beats get smaller, as in speech: the hand's peak speed (minimum jerk: 1.875 x distance
        / time) stays under MAX_HAND_SPEED, scaled by the tempo.
        """
        keys = self.hands[hand]
        previous, before = keys.last_time(time), keys.last_value(time)
        if previous is not None and before is not None:
            limit = MAX_HAND_SPEED * np.sqrt(self.at(time)["tempo"]) * min(time - previous, move) / 1.875
            step = pose[:3] - before[:3]
            distance = float(np.linalg.norm(step))
            if distance > limit:
                pose = pose.copy()
                pose[:3] = before[:3] + step * (limit / distance)
        keys.add(time, pose, move, late, arc)

    def gesture_centre(self, time: float) -> np.ndarray:
        """Where a gesture unit's beats happen (own-side chest coordinates), shaped by the emotion and a seed."""
        e = self.at(time)
        excess = e["energy"] - 1.0
        out_0, up_0, fwd_0 = CENTRE
        out = max(out_0 + 5.0 * e["openness"] + 8.0 * e["expansive"] + 4.0 * excess - 6.0 * e["withdraw"], 9.0)
        up = up_0 + e["height"] + self.style.height + 6.0 * e["withdraw"]
        fwd = fwd_0 + 6.0 * e["expansive"] + 3.0 * excess - 11.0 * e["withdraw"]
        jitter = self.detail_rng.normal(0.0, CENTRE_SCATTER)
        return np.array([out, up, fwd]) + jitter

    def beat_pose(self, time: float, centre: np.ndarray, stroke: bool, strength: float, scale: float) -> np.ndarray:
        """A beat keyframe: low and forward at a stroke's end, raised at a lift; palms and fingers by emotion."""
        e = self.at(time)
        size = AMPLITUDE * e["energy"] * self.style.amplitude * scale * np.clip(0.8 + 0.25 * strength, 0.55, 1.35)
        # Open (positive valence) strokes also sweep outwards; others chop down.
        outward = 0.25 * max(e["openness"], 0.0)
        offset = np.array([outward, -0.5, 0.15]) if stroke else np.array([-0.3 * outward, 0.5, -0.1])
        pos = centre + size * offset + self.detail_rng.normal(0.0, 1.5, 3)
        pos[1] = np.clip(pos[1], -40.0, 28.0)
        # Palms up when open, down when dominant or fisted; thumb-up (0) in between.
        pronation = 10.0 - 45.0 * e["openness"] + 25.0 * e["expansive"] + 30.0 * e["fist"]
        pronation += self.detail_rng.normal(0.0, 6.0)
        flex = (10.0 if stroke else -8.0) * e["energy"]
        open_w = np.clip(0.2 + 0.4 * e["openness"] + e["spread"] + (0.15 if stroke else 0.0), 0.0, 1.0)
        fist_w = np.clip(e["fist"], 0.0, 1.0)
        relaxed_w = max(1.0 - open_w - fist_w, 0.0)
        return hand_pose(
            *pos,
            pronation=np.clip(pronation, -70, 80),
            flex=flex,
            swivel=0.3 * e["expansive"] - 0.3 * e["withdraw"],
            relaxed=relaxed_w,
            open=open_w,
            fist=fist_w,
        )

    def plan_beats(self, accents: Accents) -> None:
        """Beat keyframes for both hands, grouped in gesture units, with head nods and torso pulses."""
        chosen, stroke = select_beats(accents, self.expr, self.fps, self.style, self.beat_rng)
        times, strength = accents.times[chosen], accents.strength[chosen]
        units = _units(times, accents.speaking, self.fps, self.expr.tempo)
        for hand in HANDS:
            start_pose = REST if (not units or times[units[0][0]] > 1.5) else home_pose(self.at(0.0))
            self.hands[hand].add(0.0, start_pose)
        self.head.add(0.0, np.zeros(3))
        self.torso.add(0.0, np.zeros(3))
        for u, unit in enumerate(units):
            t0, t1 = times[unit[0]], times[unit[-1]]
            e0 = self.at(t0)
            # Both hands more often when dominant or aroused, rarely when the emotion is lopsided (contempt).
            two = np.clip(
                self.style.two_handed * (1.0 - 0.8 * e0["asymmetry"])
                + 0.3 * max(e0["expansive"], 0.0)
                + 0.2 * max(e0["energy"] - 1.0, 0.0),
                0.0,
                0.9,
            )
            both_draw, side_draw, gain_draw = self.unit_draws[u % len(self.unit_draws)]
            # Some phrases are gestured big, others small (mean 1): real speech's slow swell and ebb of motion.
            gain = np.exp(UNIT_GAIN_SPREAD * np.sqrt(2.0) * erfinv(2.0 * gain_draw - 1.0) - 0.5 * UNIT_GAIN_SPREAD**2)
            if both_draw < two:
                active = HANDS
            else:
                active = ("right",) if side_draw < self.style.right_handed else ("left",)
            self._unit_hands.append((t0, t1, active))
            centres = {hand: self.gesture_centre(t0) for hand in active}
            turn = 0.0 if len(active) == 2 else (-1.0 if active == ("right",) else 1.0)
            # Preparation: rise to the first beat's lift position, on an earlier unused onset when there is one.
            prep_time = self._prep_time(accents, t0)
            for hand in active:
                if prep_time is not None:
                    pose = self.beat_pose(prep_time, centres[hand], False, 0.0, 0.8)
                    self.add(hand, prep_time, pose, 0.45 / e0["tempo"], late=True)
            for k in unit:
                t = times[k]
                e = self.at(t)
                for i, hand in enumerate(active):
                    scale = gain * (1.0 if i == 0 else 0.85)
                    pose = self.beat_pose(t, centres[hand], bool(stroke[k]), float(strength[k]), scale)
                    same_level = bool(stroke[k]) and self._stroke_flags.get(hand, False)
                    arc = np.zeros(len(CHANNELS))
                    if same_level:
                        arc[1] = 0.35 * AMPLITUDE * e["energy"] * self.style.amplitude
                    move = (STROKE_MOVE if stroke[k] else LIFT_MOVE) / e["tempo"]
                    self.add(hand, t, pose, move, late=bool(stroke[k]), arc=arc)
                    self._stroke_flags[hand] = bool(stroke[k])
                for hand in HANDS:
                    if hand not in active:
                        # The idle hand waits at home, answering each beat with a small sympathetic move.
                        dip = home_pose(e)
                        size = AMPLITUDE * e["energy"] * e["tempo"] * self.style.amplitude  # fidgety when aroused
                        dip[1] += (-0.12 if stroke[k] else 0.06) * size
                        self.add(hand, t, dip, STROKE_MOVE / e["tempo"], late=bool(stroke[k]))
                if stroke[k]:
                    self.strokes.append(float(t))
                nod = 2.5 * e["energy"] if stroke[k] else -1.0 * e["energy"]
                head_move = (STROKE_MOVE if stroke[k] else LIFT_MOVE) / e["tempo"]
                # The head nods on the beat; the neck already keeps the face towards the listener as the torso turns.
                self.head.add(t, [nod, 0.0, 0.0], head_move, bool(stroke[k]))
                self.torso.add(
                    t, [1.2 * e["energy"] if stroke[k] else -0.4, turn * e["energy"], 0.0], head_move, bool(stroke[k])
                )
            # Retraction after the unit: to home for a short pause, to rest (arms down) for a long one.
            next_t = times[units[u + 1][0]] if u + 1 < len(units) else self.duration + 10.0
            pause = next_t - t1
            e1 = self.at(t1)
            if pause > REST_PAUSE:
                arrive, target = t1 + min(1.3, 0.5 * pause) / np.sqrt(e1["tempo"]), REST
            elif pause > 0.9:
                arrive, target = t1 + min(0.8, 0.5 * pause), home_pose(e1)
            else:
                continue
            if arrive < self.duration + 5.0:
                for hand in HANDS:
                    self.add(hand, arrive, target, 0.7 / e1["tempo"], late=False)
                self.head.add(arrive, np.zeros(3), 0.7, late=False)
                self.torso.add(arrive, np.zeros(3), 0.7, late=False)

    def _prep_time(self, accents: Accents, t0: float) -> float | None:
        """When a unit's preparation peaks: an unused onset 0.22-0.6 s before its first beat, if there is room."""
        unused = accents.times[(accents.times > t0 - 0.6) & (accents.times < t0 - 0.22)]
        previous = [k.last_time(t0) for k in self.hands.values()]
        last_key = max((t for t in previous if t is not None), default=-np.inf)
        if len(unused):
            t = float(unused[0])
        else:
            t = t0 - 0.35
        return t if t > last_key + 0.25 and t > 0 else None

    def _hand_at(self, time: float) -> str:
        """The hand gesturing around `time` (the first active hand of the nearest unit), or a seeded pick."""
        if self._unit_hands:
            distance = [max(start - time, time - end, 0.0) for start, end, _ in self._unit_hands]
            nearest = self._unit_hands[int(np.argmin(distance))]
            if min(distance) < 1.0:
                return nearest[2][0]
        return "right" if self.event_rng.random() < self.style.right_handed else "left"

    def plan_events(self, events: list[SemanticEvent]) -> None:
        """Word-triggered gestures, replacing the beats of the hands they use around the word."""
        for event in events:
            e = self.at(event.start)
            tempo = e["tempo"]
            if event.kind == "negation":
                self._head_shake(event, e)
                if e["energy"] < 1.1 and self.event_rng.random() < 0.5:
                    continue  # a calm "no" is the head's alone
            # A listless speaker (sadness) leaves some word gestures out, as it does beats.
            if self.event_rng.random() > np.clip(0.4 + 0.6 * e["activity"], 0.3, 1.0):
                continue
            if event.kind == "negation":
                first = hand_pose(9.0, -6.0 + e["height"] * 0.5, 32.0, pronation=80.0, flex=-5.0, open=1.0)
                last = hand_pose(
                    20.0 + 12.0 * e["energy"] + 6.0 * e["expansive"],
                    -8.0 + e["height"] * 0.5,
                    30.0,
                    pronation=80.0,
                    flex=-5.0,
                    open=1.0,
                )
                self._replace(self._hand_at(event.start), event, first, last, tempo)
                continue
            if event.kind in ("big", "small"):
                wide = event.kind == "big"
                out = 34.0 + 6.0 * e["expansive"] if wide else 7.0
                pose = hand_pose(
                    out,
                    -6.0 + 0.5 * e["height"],
                    28.0 if wide else 32.0,
                    pronation=-10.0,
                    swivel=0.3 if wide else 0.0,
                    **({"open": 0.8, "relaxed": 0.2} if wide else {"relaxed": 0.6, "fist": 0.4}),
                )
                held = pose.copy()
                held[0] += 2.0 if wide else -1.0
                for hand in HANDS:
                    self._replace(hand, event, pose, held, tempo)
                continue
            hand = self._hand_at(event.start)
            if event.kind == "self":
                pose = hand_pose(6.0, -8.0, 20.0, pronation=-40.0, flex=-10.0, swivel=1.0, flat=0.8, relaxed=0.2)
                held = pose.copy()
                held[2] += 1.0
            else:
                away = event.kind == "away"
                # Reach and height grow with energy: a sad "you" is a low, short point.
                reach = np.clip(e["energy"] + 0.2 * e["expansive"] - 0.3 * e["withdraw"], 0.4, 1.4)
                pose = hand_pose(
                    30.0 if away else 9.0,
                    -14.0 + 16.0 * reach,
                    22.0 + (16.0 if away else 22.0) * reach,
                    pronation=50.0,
                    flex=-5.0,
                    point=1.0,
                )
                held = pose.copy()
                held[2] -= 3.0
            self._replace(hand, event, pose, held, tempo)

    def _replace(self, hand: str, event: SemanticEvent, pose: np.ndarray, held: np.ndarray, tempo: float) -> None:
        """One hand's keys around an event replaced by the event's stroke and hold."""
        keys = self.hands[hand]
        # Clear room for an unhurried approach and release around the word.
        keys.remove_between(event.start - 0.45, event.end + 0.4)
        self.add(hand, event.start, pose, 0.42 / tempo, late=True)
        self.add(hand, event.end, held, 0.3, late=False)

    def ease_moves(self) -> None:
        """Lengthen the moves that would outrun the hand's speed limit (the exits of word gestures, planned after the
        beats around them), within their segments: a long way is travelled over more of the time there is."""
        for keys in self.hands.values():
            order = np.argsort(keys.times, kind="stable")
            for before, after in zip(order[:-1], order[1:], strict=False):
                span = keys.times[after] - keys.times[before]
                if span <= 0:
                    continue
                limit = MAX_HAND_SPEED * np.sqrt(self.at(keys.times[after])["tempo"])
                distance = float(np.linalg.norm(keys.values[after][:3] - keys.values[before][:3]))
                needed = 1.875 * distance / limit  # the minimum-jerk move time that keeps the peak under the limit
                move = keys.moves[after]
                if np.isfinite(move) and needed > move:
                    keys.moves[after] = min(needed, span)

    def _head_shake(self, event: SemanticEvent, e: dict[str, float]) -> None:
        """Head keys swinging left and right over a negation, decaying, about 2.5 Hz."""
        half = 0.2 / np.sqrt(e["tempo"])
        start = event.start - 0.05
        count = max(3, int((event.end + 0.25 - start) / half))
        self.head.remove_between(start - 0.15, start + (count + 1) * half + 0.1)
        amplitude = 9.0 * (0.7 + 0.3 * e["energy"])
        for i in range(count):
            sign = 1.0 if i % 2 == 0 else -1.0
            self.head.add(start + (i + 1) * half, [0.0, sign * amplitude * (1.0 - 0.5 * i / count), 0.0])
        self.head.add(start + (count + 1) * half, np.zeros(3))


def plan_gestures(content: Content, expr: BodyExpression, style: BodyStyle, rng: np.random.Generator) -> GesturePlan:
    """The keyframes of both hands, the head and the torso for one clip."""
    accents = find_accents(content)
    planner = _Planner(content, expr, style, rng)
    planner.plan_beats(accents)
    events = semantic_events(content, accents) if style.semantic else []
    planner.plan_events(events)
    planner.ease_moves()
    return GesturePlan(planner.hands, planner.head, planner.torso, planner.strokes, events)

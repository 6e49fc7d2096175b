"""Action units seen in the talking head's pixels: the landmarks re-detected on rendered frames against the track.

A reader that is not FER: MediaPipe FaceMesh run again on each rendered frame, its landmarks turned into the
geometry each action unit moves (avatar/evaluation/face_geometry.py: brow heights and gap, eye aperture, cheek height,
lip-corner height, curve and width, nose wings, jaw drop; inter-ocular distances), minus the same on the portrait's
rendered neutral frame. Three AUs are also read ("...") by an appearance FACS gives them that the other AUs of the
same emotions share less: AU4 by the brows drawn together (in fear and sadness AU1 lifts the inner brow as AU4
lowers it), AU6 by the cheek raised under the eye (AU7, tightening the lids, lifts the lower lid too), AU15 by the
mouth's corners against its middle (an opening jaw lowers both). Measured, MediaPipe reads the first two poorly: it
places lowered brows slightly further apart as they come together in the pixels (its brow-shape prior), and moves
its cheek landmarks by 2-5 % of the drawn rise. Per portrait and action unit, two tests:
- sweep: the AU's ARKit shapes alone at 0, 0.2, ..., 1 (head still): the correlation between the weight and the
  geometry seen, and the gain, seen over drawn (the same measure on the landmarks the renderer drew: 1 means the
  detector sees all the drawn motion, 0 none);
- speech: the procedural face speaking the bundled sentence (offline voice) in each of BEAT's 8 emotions at 0.8,
  every STRIDE-th frame, head and gaze held still (so the geometry is the face's): the correlation of the geometry
  seen with the AU's weight in the track (speech and the other AUs move the same measures at the same time), and
  with the geometry drawn (the intended geometry of all the shapes together: how faithfully the pixels carry it).
The issue's target: correlation >= 0.7 for AU1/2, AU4, AU6/12, AU15 and AU26.
Run: .venv/bin/python bench/face_au_geometry.py   (--portraits NAME ...: grace_hopper, astronaut, and file stems of
../shared/data/portraits; --quick: the sweep only; --json PATH: also write the figures,
bench/results/face_au_geometry.json, from which python -m avatar.evaluation.report makes docs/benchmarks.md's
table)
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from avatar.evaluation.face_geometry import au_geometry  # noqa: E402
from avatar.evaluation.results import run_conditions, write_results  # noqa: E402
from generators.talking_head import Portrait, TalkingHeadRenderer  # noqa: E402
from generators.talking_head.portrait import detect_faces  # noqa: E402
from rigs.face.arkit import INDEX  # noqa: E402
from rigs.face.track import FaceTrack  # noqa: E402
from rigs.paths import shared_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORTRAITS = shared_data("portraits")
DEFAULT_PORTRAITS = ("grace_hopper", "astronaut", "lp_s42", "st_art_2", "st_people_0", "lp_s5")
LEVELS = np.linspace(0.0, 1.0, 6)
STRIDE = 6
TARGET = 0.7
# Action unit: its ARKit shapes (both sides), the geometry it moves, and the sign it moves it by.
UNITS: dict[str, tuple[tuple[str, ...], str, float]] = {
    "AU1 inner brow raiser": (("browInnerUp",), "inner_brow", 1.0),
    "AU2 outer brow raiser": (("browOuterUpLeft", "browOuterUpRight"), "outer_brow", 1.0),
    "AU4 brow lowerer": (("browDownLeft", "browDownRight"), "inner_brow", -1.0),
    "AU4 ... drawn together": (("browDownLeft", "browDownRight"), "brow_gap", 1.0),
    "AU5 upper lid raiser": (("eyeWideLeft", "eyeWideRight"), "eye_aperture", 1.0),
    "AU6 cheek raiser": (("cheekSquintLeft", "cheekSquintRight"), "lower_lid", 1.0),
    "AU6 ... cheek height": (("cheekSquintLeft", "cheekSquintRight"), "cheek_raise", 1.0),
    "AU9 nose wrinkler": (("noseSneerLeft", "noseSneerRight"), "nose_wrinkle", 1.0),
    "AU12 lip corner puller": (("mouthSmileLeft", "mouthSmileRight"), "corner_raise", 1.0),
    "AU15 lip corner depressor": (("mouthFrownLeft", "mouthFrownRight"), "corner_raise", -1.0),
    "AU15 ... mouth's curve": (("mouthFrownLeft", "mouthFrownRight"), "mouth_curve", -1.0),
    "AU20 lip stretcher": (("mouthStretchLeft", "mouthStretchRight"), "lip_width", 1.0),
    "AU26 jaw drop": (("jawOpen",), "jaw_drop", 1.0),
}


def load(name: str) -> Portrait | None:
    """A bundled portrait by name, or a shared one by file stem (None when the shared data is absent)."""
    import skimage.data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "grace_hopper":
            return Portrait.load(None)
        if name == "astronaut":
            return Portrait.load(skimage.data.astronaut())
        path = PORTRAITS / f"{name}.jpg"
        return Portrait.load(path) if path.is_file() else None


def seen_and_drawn(renderer: TalkingHeadRenderer, track: FaceTrack) -> tuple[dict, dict, np.ndarray]:
    """Per measure, the geometry re-detected on each frame and drawn, minus the neutral frame's; and which frames
    MediaPipe found a face on."""
    rendered = renderer.render(track)
    neutral = renderer.render(FaceTrack.neutral(1))
    found = [detect_faces(frame, 1) for frame in np.concatenate([neutral.frames, rendered.frames])]
    ok = np.array([bool(f) for f in found[1:]])
    if not found[0]:
        raise RuntimeError(f"{renderer.portrait.source}: MediaPipe finds no face on the rendered neutral frame")
    redetected = np.stack([f[0][:, :2] if f else np.full((478, 2), np.nan) for f in found])
    seen, drawn = au_geometry(redetected), au_geometry(np.concatenate([neutral.landmarks, rendered.landmarks]))
    return ({k: v[1:] - v[0] for k, v in seen.items()}, {k: v[1:] - v[0] for k, v in drawn.items()}, ok)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 1e-9 and np.std(b) > 1e-9 else float("nan")


def sweep(renderer: TalkingHeadRenderer) -> dict[str, tuple[float, float]]:
    """Per AU: (correlation of weight and seen geometry, gain seen over drawn) over its shapes swept alone."""
    results = {}
    for unit, (shapes, measure, sign) in UNITS.items():
        weights = np.zeros((len(LEVELS), 52), np.float32)
        for shape in shapes:
            weights[:, INDEX[shape]] = LEVELS
        seen, drawn, ok = seen_and_drawn(renderer, FaceTrack(weights, 30.0))
        s, d = sign * seen[measure][ok], sign * drawn[measure][ok]
        gain = float(np.polyfit(d, s, 1)[0]) if np.std(d) > 1e-9 else float("nan")
        results[unit] = (correlation(LEVELS[ok], s), gain)
    return results


def speech_tracks() -> FaceTrack:
    """The procedural face on the bundled sentence in each emotion at 0.8, every STRIDE-th frame, head still."""
    from avatar.emotion import constant_emotion
    from avatar.frontend.speech import speak
    from generators.conditioning import EMOTIONS
    from generators.procedural.face import animate_face

    content = speak((ROOT / "demos" / "example" / "sentence.txt").read_text().strip()).content()
    weights = [
        animate_face(content, constant_emotion(label, 0.8, content.n_frames), seed=0).weights[::STRIDE]
        for label in EMOTIONS
    ]
    return FaceTrack(np.concatenate(weights), 30.0)


def in_speech(renderer: TalkingHeadRenderer, track: FaceTrack) -> dict[str, tuple[float, float]]:
    """Per AU, in a speaking, emoting track: the correlation of the geometry seen with the AU's weight, and with
    the geometry drawn (what all the moving shapes together asked of that measure)."""
    seen, drawn, ok = seen_and_drawn(renderer, track)
    results = {}
    for unit, (shapes, measure, sign) in UNITS.items():
        weight = track.weights[:, [INDEX[s] for s in shapes]].mean(1)
        results[unit] = (
            correlation(weight[ok], sign * seen[measure][ok]),
            correlation(drawn[measure][ok], seen[measure][ok]),
        )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portraits", nargs="+", default=list(DEFAULT_PORTRAITS))
    parser.add_argument("--quick", action="store_true", help="the sweep only")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/face_au_geometry.json)")
    args = parser.parse_args(argv)
    started = run_conditions()
    import cv2

    cv2.setNumThreads(1)
    track = None if args.quick else speech_tracks()
    table: dict[str, list[tuple[float, float, float, float]]] = {unit: [] for unit in UNITS}
    figures: dict = {"stride": STRIDE, "levels": LEVELS.tolist(), "portraits": {}}
    for name in args.portraits:
        portrait = load(name)
        if portrait is None:
            print(f"{name}: not found (../shared/data/portraits absent?); skipped")
            continue
        renderer = TalkingHeadRenderer(portrait)
        swept = sweep(renderer)
        nan = (float("nan"), float("nan"))
        spoken = in_speech(renderer, track) if track is not None else dict.fromkeys(UNITS, nan)
        print(f"{name}:")
        figures["portraits"][name] = {"glasses": renderer.glasses.found, "units": {}}
        for unit in UNITS:
            table[unit].append(swept[unit] + spoken[unit])
            # NaN (a measure that did not move) is null in JSON
            values = [None if np.isnan(v) else v for v in swept[unit] + spoken[unit]]
            figures["portraits"][name]["units"][unit] = dict(
                zip(("sweep_r", "gain", "speech_r_weight", "speech_r_drawn"), values, strict=True)
            )
            print(
                f"  {unit:<27} sweep r {swept[unit][0]:+.2f}, gain seen/drawn {swept[unit][1]:.2f}; in speech r "
                f"with weight {spoken[unit][0]:+.2f}, with drawn geometry {spoken[unit][1]:+.2f}"
            )
    print(f"mean (lowest) over portraits; target r >= {TARGET} for AU1/2, AU4, AU6/12, AU15, AU26:")
    for unit, rows in table.items():
        if rows:
            rows = np.array(rows)
            mean, low = np.nanmean(rows, axis=0), np.nanmin(rows, axis=0)
            print(
                f"  {unit:<27} sweep r {mean[0]:+.2f} ({low[0]:+.2f}), gain {mean[1]:.2f}; in speech r with weight "
                f"{mean[2]:+.2f} ({low[2]:+.2f}), with drawn {mean[3]:+.2f} ({low[3]:+.2f})"
            )
    if args.json:
        write_results(args.json, figures, started)


if __name__ == "__main__":
    main()

"""The talking-head renderer's figures: identity, lip closure in the video, temporal stability and speed.

- identity: a neutral track's landmarks against the portrait's detected ones (mean px at 512^2; the target is
  2 px), and MediaPipe run again on the rendered neutral frame against MediaPipe on the input crop (the pixels,
  not only our landmarks). The astronaut smiles in her photo and is neutralized by default, so her neutral face
  is not her photo: her figures are given against the neutralized landmarks as well, and with neutralize=False.
- lips: the procedural face (neutral, seed 0) on BEAT take 2_scott_0_3_3 (../shared/data/beat) and on the bundled
  example sentence spoken by the offline voice; the inner-lip gap (mean of the three middle inner-lip pairs, px)
  of the rendered landmarks, per P/B/M interval its smallest value within +-1 frame (closed: < 1 mm) and over
  open-vowel (AA AE AH AO AW AY) frames its mean; then MediaPipe on the rendered frames at the closures and at the
  widest vowel frames, so the pixels are measured too.
- teeth: the procedural face (neutral, seed 0) on the TTS sentence; over its most open fifth of frames (inner-lip gap),
  the mean CIE L* of the pixels the teeth cover (MouthLayer.teeth_mask > 0.9), and the per-frame range; the target is
  >= 70, or within the L* of the photo's own teeth (the light, pale pixels between its lips) where they show.
  And at an open jaw (jawOpen 0.7), the upper and the lower row's mean L* apart.
- stability: a constant neutral track, the largest change between consecutive frames (grey levels).
- speed: frames per second rendering 300 frames of speech at 512^2 on one thread (numba and OpenCV), MP4 encoding
  (libx264, one thread) timed separately.
Run: .venv/bin/python bench/talking_head.py   (--quick: the TTS sentence only, fewer frames; --video DIR: also
write the TTS sentence, happiness 0.8, as talking_head_<portrait>.mp4 with its speech, to look at; --json PATH:
also write the figures, bench/results/talking_head.json)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from avatar.evaluation.beat import BEAT  # noqa: E402
from avatar.evaluation.face import constant, intervals  # noqa: E402
from avatar.evaluation.results import run_conditions, write_results  # noqa: E402
from generators.procedural.face import animate_face  # noqa: E402
from generators.talking_head import Portrait, TalkingHeadRenderer, write_video  # noqa: E402
from generators.talking_head.mouth import inner_lip_gap  # noqa: E402
from generators.talking_head.portrait import detect_faces  # noqa: E402
from rigs.face.arkit import INDEX  # noqa: E402
from rigs.face.track import FaceTrack  # noqa: E402
from rigs.phones import BILABIALS, OPEN_VOWELS  # noqa: E402

CLOSED_MM = 1.0  # lips this close read as shut: about 1.4 px at 512^2, a dark seam and no visible opening
TAKE = "2_scott_0_3_3"


def redetect(frame: np.ndarray) -> np.ndarray | None:
    """MediaPipe's landmarks (478, 2) of the largest face in a frame, pixel centres at integers."""
    faces = detect_faces(frame, 1)
    return faces[0][:, :2] - 0.5 if faces else None


def identity(name: str, portrait: Portrait) -> dict:
    """Neutral-track landmark and re-detection errors of one portrait, printed and returned."""
    figures = {}
    neutral = FaceTrack.neutral(1)
    photo = portrait.landmarks[:, :2]
    seen = redetect(portrait.image)
    for neutralize in (True, False):
        renderer = TalkingHeadRenderer(portrait, neutralize=neutralize)
        rendered = renderer.render(neutral)
        drawn = rendered.landmarks[0]
        again = redetect(rendered.frames[0])
        line = (
            f"  {name:<13} neutralize={neutralize!s:<5}: landmarks vs photo {_mean_px(drawn, photo):.3f} px; "
            f"MediaPipe on the frame vs on the photo {_mean_px(again, seen):.2f} px"
        )
        if neutralize and portrait.fit.photo_expression.max() > 0.1:
            line += f", vs the neutralized target {_mean_px(again, drawn):.2f} px"
        print(line)
        figures[f"neutralize={neutralize}"] = {
            "landmarks_vs_photo_px": _mean_px(drawn, photo),
            "redetected_vs_photo_px": _mean_px(again, seen),
            "redetected_vs_drawn_px": _mean_px(again, drawn),
        }
    figures["photo_expression"] = float(portrait.fit.photo_expression.max())  # what neutralizing takes out
    return figures


def _mean_px(a, b) -> float:
    return float("nan") if a is None or b is None else float(np.linalg.norm(a - b, axis=1).mean())


def lips(label: str, renderer: TalkingHeadRenderer, content, redetect_frames: int, animate=None) -> dict:
    """Inner-lip gap at P/B/M against open vowels, on the drawn landmarks and re-detected from the pixels, of the
    neutral face track that `animate(content, emotion)` makes (default: the procedural face)."""
    animate = animate or (lambda content, emotion: animate_face(content, emotion, seed=0))
    track = animate(content, constant("neutral", 0.8, content.n_frames))
    gap = inner_lip_gap(renderer.landmarks(track))
    fps, n = track.fps, track.n_frames
    closures, widest = [], []
    for start, end, _ in intervals(content.phones, BILABIALS):
        a = max(0, int(np.ceil((start - 1 / fps) * fps - 1e-9)))
        b = min(n - 1, int(np.floor((end + 1 / fps) * fps + 1e-9)))
        closures.append(a + int(np.argmin(gap[a : b + 1])))
    vowel_frames = []
    for start, end, _ in intervals(content.phones, OPEN_VOWELS):
        inside = np.arange(max(0, int(np.ceil(start * fps - 1e-9))), min(n, int(np.ceil(end * fps - 1e-9))))
        inside = inside if len(inside) else np.array([min(n - 1, int(round((start + end) / 2 * fps)))])
        vowel_frames.append(inside)
        widest.append(int(inside[np.argmax(gap[inside])]))
    closed = gap[closures]
    vowels = gap[np.concatenate(vowel_frames)]
    shut = closed < CLOSED_MM * renderer.rig.fit.pixels_per_mm
    print(
        f"  {label}: {len(closures)} P/B/M, {len(vowel_frames)} open vowels; drawn landmarks: gap at P/B/M "
        f"{closed.mean():.2f} px (max {closed.max():.2f}; within {CLOSED_MM:g} mm: {shut.mean():.1%}), open vowels "
        f"{vowels.mean():.2f} px (x{vowels.mean() / max(closed.mean(), 1e-3):.0f})"
    )
    picks = {"P/B/M": closures[:redetect_frames], "open vowels": widest[:redetect_frames]}
    measured = {}
    for what, frames in picks.items():
        gaps = []
        for t in frames:
            one = FaceTrack(track.weights[t : t + 1], fps, track.head[t : t + 1], track.gaze[t : t + 1])
            points = redetect(renderer.render(one).frames[0])
            if points is not None:
                gaps.append(float(inner_lip_gap(points)))
        measured[what] = np.array(gaps)
    base = float(inner_lip_gap(redetect(renderer.portrait.image)))
    print(
        f"    MediaPipe on the frames: P/B/M {measured['P/B/M'].mean():.2f} px (n={len(measured['P/B/M'])}), widest "
        f"open-vowel frames {measured['open vowels'].mean():.2f} px (n={len(measured['open vowels'])}); on the "
        f"photo {base:.2f} px"
    )
    return {
        "closures": len(closures),
        "gap_at_pbm_px": float(closed.mean()),
        "pbm_within_1mm": float(shut.mean()),
        "gap_at_open_vowels_px": float(vowels.mean()),
        "redetected_gap_at_pbm_px": float(measured["P/B/M"].mean()),
        "redetected_gap_at_open_vowels_px": float(measured["open vowels"].mean()),
    }


OPEN_JAW = 0.7


def teeth(renderer: TalkingHeadRenderer, content) -> dict:
    """CIE L* of the drawn teeth in the most open frames of a neutral speech track, and of the photo's own teeth."""
    import cv2

    track = animate_face(content, constant("neutral", 0.8, content.n_frames), seed=0)
    gap = inner_lip_gap(renderer.landmarks(track))
    picked = np.sort(np.argsort(gap)[-max(1, len(gap) // 5) :])
    track = FaceTrack(track.weights[picked], track.fps, track.head[picked], track.gaze[picked])
    frames = renderer.render(track).frames
    poses = renderer.rig.pose(track, slice(0, track.n_frames))
    lightness, per_frame = [], []
    for frame, landmarks, mouth in zip(frames, poses.landmarks, poses.mouth, strict=True):
        covered = renderer.mouth.teeth_mask(renderer.size, landmarks, mouth) > 0.9
        if covered.any():
            seen = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)[..., 0][covered] * (100.0 / 255.0)
            lightness.append(seen)
            per_frame.append(seen.mean())
    line = (
        f"  teeth in the {len(picked)} most open frames of the neutral TTS track: mean L* "
        f"{np.concatenate(lightness).mean():.1f} (per frame {min(per_frame):.1f}-{max(per_frame):.1f}, "
        f"{len(per_frame)} frames show teeth)"
        if lightness
        else "  teeth: none shown"
    )
    own = _photo_teeth(renderer)
    print(line + (f"; the photo's own teeth L* {own[0]:.1f}-{own[1]:.1f} (10th-90th percentile)" if own else ""))
    mean = float(np.concatenate(lightness).mean()) if lightness else None
    rows = upper_and_lower_teeth(renderer)
    print(f"  an open jaw (jawOpen {OPEN_JAW}): upper teeth L* {rows[0]:.1f}, lower teeth L* {rows[1]:.1f}")
    return {"teeth_lightness": mean, "photo_teeth_lightness": own, "open_jaw_teeth_lightness": rows}


def upper_and_lower_teeth(renderer: TalkingHeadRenderer) -> tuple[float, float]:
    """Mean CIE L* of the upper and of the lower teeth (the teeth above and below the middle of the inner lips) at
    an open jaw, where both rows show: lit alike, they differ by the lower row's recess and the lips' shade."""
    import cv2

    track = FaceTrack(np.eye(52, dtype=np.float32)[[INDEX["jawOpen"]]] * OPEN_JAW, 30.0)
    frame = renderer.render(track).frames[0]
    poses = renderer.rig.pose(track, slice(0, 1))
    covered = renderer.mouth.teeth_mask(renderer.size, poses.landmarks[0], poses.mouth[0]) > 0.9
    middle = poses.landmarks[0][[13, 14], 1].mean()
    lightness = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)[..., 0] * (100.0 / 255.0)
    above = (np.arange(renderer.size) < middle)[:, None]
    return float(lightness[covered & above].mean()), float(lightness[covered & ~above].mean())


def _photo_teeth(renderer: TalkingHeadRenderer) -> tuple[float, float] | None:
    """The 10th and 90th percentile L* of the light, pale pixels between the photo's lips (its teeth, not its dark
    mouth), when they are parted and show some."""
    import cv2

    from generators.talking_head.animate import landmark_loops
    from generators.talking_head.eyes import polygon_mask
    from generators.talking_head.mouth import SEAM_PARTED

    portrait = renderer.portrait
    if inner_lip_gap(portrait.landmarks) <= SEAM_PARTED * portrait.size:
        return None
    inside = polygon_mask(portrait.landmarks[landmark_loops()["lips_inner"], :2], (0, 0), portrait.image.shape[:2])
    lab = cv2.cvtColor(portrait.image, cv2.COLOR_RGB2LAB).astype(np.float64)[inside > 0.9]
    lightness = lab[:, 0] * (100.0 / 255.0)
    pale = lightness[(np.hypot(lab[:, 1] - 128, lab[:, 2] - 128) < 20) & (lightness > 50)]
    return (float(np.percentile(pale, 10)), float(np.percentile(pale, 90))) if len(pale) > 20 else None


def stability(renderer: TalkingHeadRenderer) -> dict:
    """Largest pixel change between frames of a still neutral track."""
    frames = renderer.render(FaceTrack.neutral(10)).frames.astype(np.int16)
    change = np.abs(np.diff(frames, axis=0)).max()
    photo = np.abs(frames[0] - renderer.portrait.image.astype(np.int16))
    print(
        f"  constant neutral track: largest change between frames {change} grey levels; frame vs photo mean "
        f"{photo.mean():.2f}, 99th percentile {np.percentile(photo, 99):.0f}"
    )
    return {"largest_change_grey_levels": int(change), "frame_vs_photo_mean": float(photo.mean())}


def speed(renderer: TalkingHeadRenderer, content, frames: int) -> dict:
    """Render and encode rates on one thread."""
    track = animate_face(content, constant("happiness", 0.8, content.n_frames), seed=0)
    frames = min(frames, track.n_frames)
    track = FaceTrack(track.weights[:frames], track.fps, track.head[:frames], track.gaze[:frames])
    renderer.render(FaceTrack(track.weights[:2], track.fps, track.head[:2], track.gaze[:2]))  # compile, warm caches
    started = time.perf_counter()
    rendered = renderer.render(track)
    render_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_video(Path(folder) / "talking_head.mp4", rendered.frames, track.fps)
        encode_s = time.perf_counter() - started
    print(
        f"  {frames} frames at {renderer.size}^2: render {frames / render_s:.1f} frames/s "
        f"({1000 * render_s / frames:.1f} ms each, MP4 encoding excluded); H.264 encoding alone "
        f"{frames / encode_s:.1f} frames/s (libx264, 1 thread)"
    )
    return {"frames": frames, "render_fps": frames / render_s, "encode_fps": frames / encode_s}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the TTS sentence only, fewer re-detected frames")
    parser.add_argument("--video", type=Path, help="folder to write the TTS sentence's videos into")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/talking_head.json)")
    args = parser.parse_args(argv)
    started = run_conditions()
    import cv2
    import skimage.data

    cv2.setNumThreads(1)
    from avatar.frontend.speech import speak

    portraits = {"grace_hopper": Portrait.load(None), "astronaut": Portrait.load(skimage.data.astronaut())}
    print("identity (neutral track, 512^2):")
    figures = {name: {"identity": identity(name, portrait)} for name, portrait in portraits.items()}
    text = (Path(__file__).resolve().parents[1] / "demos" / "example" / "sentence.txt").read_text().strip()
    spoken = speak(text)
    contents = {"TTS example sentence": spoken.content()}
    if not args.quick and BEAT.is_dir():
        from avatar.evaluation.beat import beat_content

        contents[f"BEAT {TAKE}"] = beat_content(TAKE)
    elif not args.quick:
        print(f"(BEAT data not found at {BEAT}: the lip figures use the TTS sentence only)")
    for name, portrait in portraits.items():
        renderer = TalkingHeadRenderer(portrait)
        print(f"{name}:")
        measured = figures[name]
        measured["lips"] = {
            label: lips(label, renderer, content, 12 if args.quick else 40) for label, content in contents.items()
        }
        measured |= teeth(renderer, contents["TTS example sentence"])
        measured |= stability(renderer)
        measured["speed"] = speed(
            renderer, max(contents.values(), key=lambda c: c.n_frames), 150 if args.quick else 300
        )
        if args.video:
            from generators.talking_head import render_video

            content = contents["TTS example sentence"]
            track = animate_face(content, constant("happiness", 0.8, content.n_frames), seed=0)
            render_video(args.video / f"talking_head_{name}.mp4", renderer, track, spoken.audio)
            print(f"  wrote {args.video / f'talking_head_{name}.mp4'}")
    if args.json:
        write_results(args.json, figures, started)


if __name__ == "__main__":
    main()

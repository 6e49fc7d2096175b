"""Speed of `avatar render`'s animation and preview: procedural face + body for 60 s of speech, and preview frames/s.

Input: the first 60 s of the BEAT take 2_scott_0_1_1 (audio features + TextGrid phones) when ../shared/data is
present, else the bundled example sentence spoken six times. Animation time excludes the front end (alignment,
features); best of 5. Preview: face frames/s at 512x512 (deform + rasterize), body frames/s (skin + rasterize),
and both composed side by side, each over 300 frames after a warm-up.
Run: .venv/bin/python bench/render.py
"""

from __future__ import annotations

import time
from pathlib import Path

from avatar.emotion import constant_emotion
from avatar.evaluation.beat import BEAT, beat_content
from generators.procedural.body import animate_body
from generators.procedural.face import animate_face
from generators.render.preview import PreviewRenderer


def sixty_seconds_of_speech():
    if (BEAT / "wav" / "2_scott_0_1_1.wav").is_file():
        return "BEAT 2_scott_0_1_1", beat_content("2_scott_0_1_1")
    from avatar.frontend.speech import speak

    text = " ".join([(Path(__file__).resolve().parents[1] / "demos/example/sentence.txt").read_text().strip()] * 6)
    return "the example sentence x6 (TTS)", speak(text).content()


def best_time(work, repeats: int = 5) -> float:
    work()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def frames_per_second(frames, count: int = 300) -> float:
    next(frames)  # warm-up: JIT and caches
    started = time.perf_counter()
    for _ in range(count):
        next(frames)
    return count / (time.perf_counter() - started)


def main() -> None:
    name, content = sixty_seconds_of_speech()
    n = min(content.n_frames, int(60 * content.fps))
    emotion = constant_emotion("happiness", 0.8, content.n_frames)
    scale = 60.0 * content.fps / content.n_frames
    face_s = best_time(lambda: animate_face(content, emotion, seed=1)) * scale
    body_s = best_time(lambda: animate_body(content, emotion, seed=1)) * scale
    print(f"input: {name}, {content.duration:.1f} s at {content.fps:g} fps ({n} frames used for the preview)")
    print(f"procedural animation per 60 s of speech: face {face_s:.3f} s + body {body_s:.3f} s = "
          f"{face_s + body_s:.3f} s (target <= 1 s)")

    face = animate_face(content, emotion, seed=1)
    body = animate_body(content, emotion, seed=1)
    renderer = PreviewRenderer(512)
    face_frames = (renderer.face_frame(face.weights[t % n], face.head[t % n]) for t in range(10**9))
    print(f"preview, face only at 512x512: {frames_per_second(face_frames):.0f} frames/s (target >= 60)")
    print(f"preview, body only at 512x512: {frames_per_second(renderer.body_frames(body)):.0f} frames/s")
    print(f"preview, face + body (1024x512): {frames_per_second(renderer.frames(face, body)):.0f} frames/s")


if __name__ == "__main__":
    main()

"""The H.264 settings of generators/render/encode.py against their neighbours: encoder CPU per frame, file size and
PSNR against the raw frames, on the talking head and the 3-D preview of real speech.

Run: .venv/bin/python bench/encoder_settings.py [--frames 600] [--take 2_scott_0_1_1]
     [--json bench/results/encoder_settings.json]

Input: the first --frames frames of both videos of a BEAT take (learned generator, verification off, neutral), each
encoded by the bundled ffmpeg (libx264, one thread, yuv420p out) on one core, fed either RGB frames (ffmpeg converts
them) or the YUV 4:2:0 planes of generators/render/yuv.py (as the shipped writer does); CPU is the encoder process's
user + system time plus, for YUV in, the conversion's on this side.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pipeline_speed import transcript  # a sibling script: bench/ is on the path of a script run from it

from avatar.evaluation.beat import BEAT
from avatar.evaluation.results import run_conditions, write_results
from generators.render.encode import X264 as X264_SETTINGS
from generators.render.yuv import rgb_to_i420

# name: (x264 settings, what is piped: "rgb" for RGB frames that ffmpeg converts, "yuv" for the 4:2:0 planes that
# generators/render/yuv.py makes on the renderer's side, as the shipped writer does).
SETTINGS = {
    "veryfast crf 14, RGB in": (["-preset", "veryfast", "-crf", "14"], "rgb"),
    "veryfast crf 14 subme 1, RGB in": (["-preset", "veryfast", "-crf", "14", "-x264-params", "subme=1"], "rgb"),
    "veryfast crf 14 subme 1 dia, RGB in (before)": (X264_SETTINGS, "rgb"),
    "veryfast crf 14 subme 1 dia, YUV in (shipped)": (X264_SETTINGS, "yuv"),
    "veryfast crf 18, YUV in": (["-preset", "veryfast", "-crf", "18"], "yuv"),
    "superfast crf 14, YUV in": (["-preset", "superfast", "-crf", "14"], "yuv"),
    "medium crf 15, YUV in": (["-preset", "medium", "-crf", "15"], "yuv"),
}


def encode(frames: np.ndarray, settings: list[str], piped: str, path: str) -> tuple[float, int, float]:
    """(CPU ms a frame, bytes, PSNR dB) of frames (T, H, W, 3) uint8 encoded with the x264 settings, piped as RGB
    or as YUV 4:2:0 planes (whose conversion CPU counts)."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    count, height, width = frames.shape[:3]
    converting, data = 0.0, frames.tobytes()
    if piped == "yuv":
        rgb_to_i420(frames[0])  # its kernel loaded before the clock starts
        converting = time.process_time()
        planes = [rgb_to_i420(frame) for frame in frames]
        converting = time.process_time() - converting
        data = b"".join(plane.tobytes() for plane in planes)
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24" if piped == "rgb" else
               "yuv420p", "-s", f"{width}x{height}", "-r", "30", "-i", "-", "-c:v", "libx264", *settings,
               "-threads", "1", "-pix_fmt", "yuv420p", path]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, input=data, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    decoded = subprocess.run(
        [ffmpeg, "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    error = np.frombuffer(decoded, np.uint8).reshape(frames.shape).astype(np.float32) - frames
    return (cpu + converting) / count * 1000, os.path.getsize(path), 10 * np.log10(255.0**2 / float(np.mean(error**2)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--take", default="2_scott_0_1_1")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/results/encoder_settings.json)")
    args = parser.parse_args(argv)
    if not (BEAT / "wav").is_dir():
        sys.exit(f"the BEAT takes are not at {BEAT}: this benchmark needs ../shared/data")
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:1]))
    started = run_conditions()
    from avatar.pipeline import AvatarPipeline
    from generators.render.preview import PreviewRenderer

    result = AvatarPipeline()(
        BEAT / "wav" / f"{args.take}.wav", transcript=transcript(args.take), outputs="face,body,video", verify=False
    )
    first = lambda frames: np.stack(list(itertools.islice(frames, args.frames)))  # noqa: E731
    videos = {
        "talking head": first(frame for frame, _ in result.talking_head.frames(result.face)),
        "3-D preview": first(PreviewRenderer().frames(result.face, result.body)),
    }
    figures = {"take": args.take, "frames": args.frames, "videos": {}}
    with tempfile.TemporaryDirectory() as folder:
        for video, frames in videos.items():
            print(f"{video}, {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]}:")
            measured = figures["videos"][video] = {"size": f"{frames.shape[2]}x{frames.shape[1]}", "settings": {}}
            for name, (settings, piped) in SETTINGS.items():
                cpu, size, psnr = encode(frames, settings, piped, os.path.join(folder, "video.mp4"))
                print(f"  {name:40s} {cpu:5.2f} ms/frame  {size / 1e6:5.2f} MB  PSNR {psnr:5.2f} dB")
                measured["settings"][name] = {"cpu_ms": cpu, "megabytes": size / 1e6, "psnr_db": float(psnr)}
    if args.json:
        write_results(args.json, figures, started)


if __name__ == "__main__":
    main()

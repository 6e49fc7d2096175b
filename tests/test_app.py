"""The Gradio page (avatar/page.py): its handler's checks, and the real page driven in headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import soundfile as sf

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
gr = pytest.importorskip("gradio")
from avatar import page  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORDS = "Hello there, nice to meet you."
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--autoplay-policy=no-user-gesture-required"]


def handler(**overrides):
    """Call the page's handler as the page would, with its defaults and some inputs changed."""
    inputs = dict(audio=None, text="", transcript="", emotion="happiness", intensity=0.8, keyframes="",
                  use_vad=False, valence=0.5, arousal=0.3, dominance=0.2, style_reference=None, portrait=None,
                  seed=0, generator="procedural", verify=True, max_attempts=3, size=512)
    return page.generate(**{**inputs, **overrides})


def error_text(**overrides) -> str:
    """The message of the gr.Error the handler raises for these inputs."""
    with pytest.raises(gr.Error) as caught:
        handler(**overrides)
    return caught.value.message


@pytest.fixture(scope="module")
def hello_wav(tmp_path_factory) -> Path:
    """About two seconds of speech from the offline voice."""
    from avatar.frontend.audio import save_wav
    from avatar.frontend.tts import get_voice

    return save_wav(get_voice().synthesize(WORDS, seed=0), tmp_path_factory.mktemp("speech") / "hello.wav")


def test_no_speech_and_no_text_is_a_readable_error():
    message = error_text(audio=None, text="   ")
    assert "nothing to animate" in message and "upload or record speech" in message


def test_audio_and_text_together_are_refused(hello_wav):
    assert "give the speech once" in error_text(audio=str(hello_wav), text="Hi there")


def test_bad_keyframes_are_a_readable_error_before_any_work(hello_wav):
    started = time.perf_counter()
    message = error_text(audio=str(hello_wav), keyframes="0 s neutral, 2 s furious")
    assert "unknown emotion 'furious'; choose one of: neutral" in message
    assert "write TIME LABEL [INTENSITY]" in error_text(audio=str(hello_wav), keyframes="soon anger")
    assert time.perf_counter() - started < 5  # refused before alignment or rendering


def test_messages_are_escaped_for_the_page(hello_wav):
    # gr.Error renders HTML: what the user typed must come back as text, not markup.
    message = error_text(audio=str(hello_wav), keyframes="2 s <b>anger</b>")
    assert "<b>" not in message and "&lt;b&gt;" in message


def test_a_corrupt_upload_is_named_by_its_file_name(tmp_path):
    bad = tmp_path / "upload.wav"
    bad.write_bytes(b"RIFF this is not audio")
    message = error_text(audio=str(bad))
    assert "'upload.wav'" in message and "could not be decoded" in message
    assert str(tmp_path) not in message  # the server's temp path means nothing to the visitor


def test_long_audio_and_long_text_are_refused(tmp_path):
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(8000 * 121, np.int16), 8000)  # 121 s, read from the header only
    assert "long.wav' is 121 s long; this page takes at most 120 s" in error_text(audio=str(long))
    assert "at most 1000" in error_text(text="word " * 300)
    assert "at most 120 s" in error_text(text="Hello.", style_reference=str(long))


def test_bad_seed_and_vad_are_refused_before_any_work(hello_wav):
    started = time.perf_counter()
    assert "seed is -1; give a whole number" in error_text(audio=str(hello_wav), seed=-1)
    assert "valence must lie in [-1, 1]" in error_text(audio=str(hello_wav), use_vad=True, valence=1.5)
    assert "size 100 is not an even whole number of pixels" in error_text(audio=str(hello_wav), size=100)
    assert time.perf_counter() - started < 5


def chromium() -> str:
    """The system Chromium, or a skip that says how to install it."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.skip("the page's browser test needs Chromium: run `apt-get install -y chromium` as root "
                    "(Debian/Ubuntu; CI's .ci/run installs it when it can)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_page_animates_uploaded_speech_in_a_browser(tmp_path, hello_wav):
    browser_path = chromium()
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    demo = page.serve("127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
            try:
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                tab.goto(f"http://127.0.0.1:{port}/")
                tab.wait_for_selector("#generate", timeout=30_000)

                # Nothing given: a readable message in a toast, no traceback.
                tab.click("#generate")
                toast = tab.locator("[data-testid=toast-text]")
                expect(toast).to_contain_text("nothing to animate", timeout=15_000)
                assert "Traceback" not in tab.content()
                tab.click("[data-testid=toast-close]")

                tab.set_input_files("#speech input[type=file]", str(hello_wav))
                tab.fill("#transcript textarea", WORDS)
                tab.click("#emotion label:has-text('happiness')")
                tab.click("#generate")
                # The pipeline's stages feed the progress bar.
                tab.wait_for_selector(".progress-level", timeout=60_000)

                tab.wait_for_selector("#video video[src*='video.mp4']", timeout=150_000)
                video = tab.locator("#video video")
                tab.wait_for_function("document.querySelector('#video video').readyState >= 2", timeout=30_000)
                duration = video.evaluate("v => v.duration")
                assert duration == pytest.approx(2.2, abs=0.5)
                video.evaluate("v => { v.muted = true; return v.play(); }")
                tab.wait_for_function("document.querySelector('#video video').currentTime > 0.3", timeout=15_000)
                video.evaluate("v => { v.pause(); v.currentTime = 0.6; }")  # a frame mid-word for the picture
                tab.wait_for_selector("#preview video[src*='preview.mp4']", timeout=10_000)
                tab.wait_for_function("document.querySelector('#report img')?.naturalWidth > 0", timeout=10_000)

                downloads = tab.locator("#downloads")
                for name in ("face.csv", "face.json", "face.glb", "body.bvh", "body.glb", "video.mp4"):
                    expect(downloads.locator(f"td[aria-label='{name}']")).to_have_count(1)
                link = downloads.locator("a[download='face.csv']").get_attribute("href")
                csv = tab.request.get(link)
                assert csv.ok and csv.text().startswith("Timecode,BlendShapeCount")
                expect(tab.locator("#summary")).to_contain_text("happiness 0.8")
                expect(tab.locator("#summary")).to_contain_text("Verification: emotion verified in")

                tab.wait_for_timeout(500)  # let the video seek settle before the picture
                shot = tmp_path / "app.png"
                tab.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 50_000
                if os.environ.get("AVATAR_UPDATE_DOCS"):  # AVATAR_UPDATE_DOCS=1 refreshes the README's picture
                    shutil.copyfile(shot, ROOT / "docs" / "app.png")
            finally:
                browser.close()
    finally:
        demo.close()


def test_text_with_a_vad_point_fills_a_new_run_folder():
    # After the browser test in file order, so the pipeline and the default portrait are already loaded.
    steps = []

    def progress(fraction, desc=None):
        steps.append((fraction, desc))

    video, preview, report, files, summary = handler(text="Hi there!", use_vad=True, valence=-0.6, arousal=0.7,
                                                     dominance=0.6, verify=False, size=256, progress=progress)
    assert iio.imread(video, index=0).shape == (256, 256, 3)  # the size chosen on the page
    run = Path(video).parent
    assert run.parent == page._runs_root and Path(preview).parent == run
    assert report is None and "Verification:** off" in summary
    assert "valence -0.60, arousal +0.70, dominance +0.60" in summary
    assert {Path(f).name for f in files} >= {"speech.wav", "face.csv", "face.json", "face.glb", "body.bvh",
                                             "body.glb", "preview.mp4", "video.mp4", "render.json"}
    assert all(Path(f).stat().st_size > 0 for f in files)
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # the bar only moves forward
    assert "speaking the text" in {d for _, d in steps} and "reading the emotion" not in {d for _, d in steps}


def test_a_photo_without_a_face_is_a_readable_error(tmp_path, hello_wav):
    from PIL import Image

    photo = tmp_path / "wall.png"
    Image.fromarray(np.full((300, 300, 3), 128, np.uint8)).save(photo)
    message = error_text(audio=str(hello_wav), portrait=str(photo))
    assert "portrait 'wall.png': no face found" in message and str(tmp_path) not in message


def test_the_page_offers_the_sentence_make_render_speaks():
    assert page.EXAMPLE_TEXTS[0] == (ROOT / "demos" / "example" / "sentence.txt").read_text(encoding="utf-8").strip()

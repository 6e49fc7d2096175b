"""The portrait cache: a hit is the fitted portrait bit for bit, without MediaPipe; a changed photo, a version bump
or a corrupt entry refits; an unwritable cache warns once and still loads; cache=False leaves it alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from generators.talking_head import Portrait, TalkingHeadRenderer, default_portrait_path, portrait_cache
from generators.talking_head import portrait as portrait_module
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack

SIZE = 256  # small crops keep the fits and the renders quick
ARRAYS = ("image", "landmarks", "person", "expression", "crop")
FIT_ARRAYS = ("rotation", "translation", "offsets", "expression")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """A private cache folder per test: the real one in the home folder is never touched."""
    monkeypatch.setenv("AVATAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(portrait_cache, "_write_warned", False)
    return tmp_path / "cache" / "portraits"


@pytest.fixture
def fits(monkeypatch) -> list:
    """The photos MediaPipe looked at (one per fit; a cache hit adds none)."""
    seen = []
    detect = portrait_module.detect_faces

    def counting(image, max_faces=4):
        seen.append(image.shape)
        return detect(image, max_faces)

    monkeypatch.setattr(portrait_module, "detect_faces", counting)
    return seen


@pytest.fixture(scope="module")
def fresh() -> Portrait:
    return Portrait.load(None, size=SIZE, cache=False)


def assert_same(a: Portrait, b: Portrait) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in FIT_ARRAYS:
        x, y = getattr(a.fit, name), getattr(b.fit, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), f"fit.{name}"
    assert (a.fit.scale, a.fit.residual_px, a.source) == (b.fit.scale, b.fit.residual_px, b.source)


def test_a_hit_is_the_fitted_portrait_and_renders_the_same_frames(fresh, fits, cache):
    first = Portrait.load(None, size=SIZE)
    assert len(fits) == 1 and len(list(cache.glob("*.npz"))) == 1
    hit = Portrait.load(None, size=SIZE)
    assert len(fits) == 1  # no second fit
    assert_same(first, fresh)
    assert_same(hit, fresh)
    weights = np.zeros((3, 52), np.float32)
    weights[:, INDEX["jawOpen"]] = [0.0, 0.3, 0.6]
    weights[:, INDEX["mouthSmileLeft"]] = 0.4
    track = FaceTrack(weights, 30.0, np.tile(np.float32([0.1, 0.05, 0.0]), (3, 1)), np.zeros((3, 4), np.float32))
    a, b = TalkingHeadRenderer(fresh).render(track), TalkingHeadRenderer(hit).render(track)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.landmarks, b.landmarks)


def test_a_hit_in_a_new_process_does_not_import_mediapipe(fresh, cache):
    Portrait.load(None, size=SIZE)
    np.savez(cache.parent / "fresh.npz", **{name: getattr(fresh, name) for name in ARRAYS})
    script = f"""
import sys, numpy as np
from generators.talking_head import Portrait
p = Portrait.load(None, size={SIZE})
assert "mediapipe" not in sys.modules, "a cache hit imported mediapipe"
fresh = np.load(sys.argv[1])
assert all(np.array_equal(getattr(p, name), fresh[name]) for name in fresh.files), "a hit differs"
"""
    root = Path(portrait_module.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script, str(cache.parent / "fresh.npz")], cwd=root, env=os.environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_changed_image_bytes_refit(fits, cache, tmp_path):
    photo = tmp_path / "photo.jpg"
    shutil.copy(default_portrait_path(), photo)
    first = Portrait.load(photo, size=SIZE)
    Portrait.load(photo, size=SIZE)
    assert len(fits) == 1
    # The same pixels in other bytes (PNG): a new entry, not a stale hit.
    cv2.imwrite(str(photo.with_suffix(".png")), cv2.imread(str(photo)))
    photo.write_bytes(photo.with_suffix(".png").read_bytes())
    again = Portrait.load(photo, size=SIZE)
    assert len(fits) == 2 and len(list(cache.glob("*.npz"))) == 2
    assert np.array_equal(again.image, first.image)
    Portrait.load(photo, size=SIZE, max_faces=1)  # another setting is another entry too
    assert len(fits) == 3


def test_a_version_bump_refits(fits, cache, monkeypatch):
    Portrait.load(None, size=SIZE)
    monkeypatch.setattr(portrait_cache, "CACHE_VERSION", portrait_cache.CACHE_VERSION + 1)
    Portrait.load(None, size=SIZE)
    Portrait.load(None, size=SIZE)
    assert len(fits) == 2 and len(list(cache.glob("*.npz"))) == 2


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a zip file")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _other_layout(path: Path) -> None:
    np.savez(path, image=np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize("corrupt", [_garbage, _truncated, _other_layout])
def test_a_corrupt_entry_is_refitted_and_overwritten(fresh, fits, cache, corrupt):
    Portrait.load(None, size=SIZE)
    (entry,) = cache.glob("*.npz")
    corrupt(entry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refitted = Portrait.load(None, size=SIZE)
    assert len(fits) == 2
    assert_same(refitted, fresh)
    assert_same(Portrait.load(None, size=SIZE), fresh)  # the entry was rewritten: a hit again
    assert len(fits) == 2 and list(cache.glob("*")) == [entry]  # no temporary files left beside it


def test_an_unwritable_cache_warns_once_and_still_loads(fresh, fits, tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("the cache folder cannot be made under a file")
    monkeypatch.setenv("AVATAR_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="could not be written.*AVATAR_CACHE_DIR"):
        first = Portrait.load(None, size=SIZE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process, not once per portrait
        second = Portrait.load(None, size=SIZE)
    assert len(fits) == 2
    assert_same(first, fresh)
    assert_same(second, fresh)


def test_cache_false_neither_writes_nor_reads(fits, cache):
    Portrait.load(None, size=SIZE, cache=False)
    assert not cache.exists()
    Portrait.load(None, size=SIZE)
    Portrait.load(None, size=SIZE, cache=False)
    assert len(fits) == 3


def test_several_faces_warn_on_a_hit_too(fits):
    photo = cv2.cvtColor(cv2.imread(str(default_portrait_path())), cv2.COLOR_BGR2RGB)
    other = cv2.resize(photo, None, fx=0.8, fy=0.8)
    group = np.full((600, 1024, 3), 128, np.uint8)
    group[:, :512] = photo
    group[: other.shape[0], 512: 512 + other.shape[1]] = other
    for _ in range(2):
        with pytest.warns(UserWarning, match="2 faces found; animating the largest"):
            Portrait.load(group, size=SIZE)
    assert len(fits) == 1


def test_the_cache_folder_follows_the_platform_convention(monkeypatch, tmp_path):
    monkeypatch.setenv("AVATAR_CACHE_DIR", str(tmp_path / "mine"))
    assert portrait_cache.cache_dir() == tmp_path / "mine" / "portraits"
    monkeypatch.delenv("AVATAR_CACHE_DIR")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert portrait_cache.cache_dir() == tmp_path / "xdg" / "avatar" / "portraits"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # invalid by the XDG spec: ignored
    assert portrait_cache.cache_dir() == tmp_path / "home" / ".cache" / "avatar" / "portraits"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert portrait_cache.cache_dir() == tmp_path / "home" / "Library" / "Caches" / "avatar" / "portraits"

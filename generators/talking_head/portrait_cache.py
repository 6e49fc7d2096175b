"""The fitted portraits kept on disk, so that a photo is analysed (face mesh, segmentation, fit) once per machine.

An entry is <cache>/portraits/<key>.npz: plain numpy arrays (read with allow_pickle=False, never a pickle), written
atomically. The key is the SHA-256 of CACHE_VERSION, the MediaPipe and OpenCV versions, the image's content (a
file's bytes, or an array's bytes, shape and dtype), the crop size and max_faces: a changed photo, setting or version
misses and refits. A missing, corrupt or unreadable entry is a miss; a failed write warns once and is otherwise
ignored, since the cache only saves time.

The cache folder: $AVATAR_CACHE_DIR if set, else the platform's user cache folder ($XDG_CACHE_HOME/avatar or
~/.cache/avatar on Linux, ~/Library/Caches/avatar on macOS, %LOCALAPPDATA%\\avatar\\Cache on Windows).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from generators.talking_head.fit import PortraitFit
from rigs.fileio import atomic_path

__all__ = ["CACHE_VERSION", "array_digest", "cache_dir", "file_digest", "portrait_key", "read_entry", "write_entry"]

# Bump when reading, detection, crop, segmentation or the fit change what Portrait.load returns for the same photo.
CACHE_VERSION = 5  # 5: the face mesh's browInnerUp lifts the glabella (the fit's expression and offsets move)
APP = "avatar"
FIT_FIELDS = ("rotation", "translation", "offsets")  # PortraitFit's arrays; its expression is the Portrait's
_write_warned = False  # one warning per process about an unwritable cache, not one per portrait


def cache_dir() -> Path:
    """The folder of the cached portraits: $AVATAR_CACHE_DIR/portraits, else the user cache folder's."""
    if os.environ.get("AVATAR_CACHE_DIR"):
        root = Path(os.environ["AVATAR_CACHE_DIR"]).expanduser()
    elif sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / APP / "Cache"
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Caches" / APP
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        # The XDG spec: a relative path is invalid and ignored.
        root = (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / APP
    return root / "portraits"


def file_digest(path: str | os.PathLike) -> str | None:
    """The SHA-256 of a file's bytes, or None when it cannot be read (the fit then reports why)."""
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return None


def array_digest(array: np.ndarray) -> str:
    """The SHA-256 of an array's shape, dtype and bytes."""
    digest = hashlib.sha256(f"{array.shape}{array.dtype.str}".encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


@functools.cache
def _library_versions() -> str:
    """The versions of the libraries whose output the entries hold: an upgrade may move the landmarks or the crop."""
    from importlib.metadata import PackageNotFoundError, version

    import cv2

    try:
        mediapipe = version("mediapipe")
    except PackageNotFoundError:
        mediapipe = "none"
    return f"mediapipe {mediapipe}, opencv {cv2.__version__}"


def portrait_key(content: str, size: int, max_faces: int) -> str:
    """The entry's name: a hash of the cache version, the library versions, the content digest and the settings."""
    text = f"v{CACHE_VERSION}; {_library_versions()}; {content}; size {int(size)}; max_faces {int(max_faces)}"
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(key: str) -> Path:
    return cache_dir() / f"{key}.npz"


def read_entry(key: str, size: int) -> tuple[dict, int] | None:
    """The cached Portrait's fields (all but source) and the number of faces found, or None on a miss."""
    try:
        # The file opened here, not by np.load: np.load leaks its own handle when the zip is corrupt.
        with open(_entry(key), "rb") as file, np.load(file, allow_pickle=False) as entry:
            arrays = {name: entry[name] for name in entry.files}
    except Exception:  # absent, unreadable, or corrupt (any of zipfile's or numpy's errors): a miss, refitted
        return None
    expected = {"key": ((), "<U64"), "faces": ((), "<i8"), "image": ((size, size, 3), "|u1"),
                "landmarks": ((478, 3), "<f4"), "person": ((size, size), "<f4"), "expression": ((52,), "<f4"),
                "crop": ((2, 3), "<f8"), "scale": ((), "<f8"), "residual_px": ((), "<f8"),
                "rotation": ((3, 3), "<f8"), "translation": ((3,), "<f8"), "offsets": ((478, 3), "<f8")}
    if {name: (a.shape, a.dtype.str) for name, a in arrays.items()} != expected or str(arrays["key"]) != key:
        return None  # another layout, or a file renamed by hand
    fit = PortraitFit(scale=float(arrays["scale"]), expression=arrays["expression"],
                      residual_px=float(arrays["residual_px"]), **{name: arrays[name] for name in FIT_FIELDS})
    fields = {name: arrays[name] for name in ("image", "landmarks", "person", "crop")}
    return {**fields, "expression": fit.expression, "fit": fit}, int(arrays["faces"])


def write_entry(key: str, portrait, faces: int) -> None:
    """Store a fitted Portrait and the number of faces found; a failure warns once per process and is ignored."""
    global _write_warned
    fit = portrait.fit
    arrays = {"key": np.array(key), "faces": np.array(faces, np.int64), "image": portrait.image,
              "landmarks": portrait.landmarks, "person": portrait.person, "expression": portrait.expression,
              "crop": portrait.crop, "scale": np.array(fit.scale, np.float64),
              "residual_px": np.array(fit.residual_px, np.float64), **{name: getattr(fit, name) for name in FIT_FIELDS}}
    path = _entry(key)
    try:
        # Into a temporary file beside the entry, renamed into place when complete: a killed process leaves no
        # half-written entry under the key's name.
        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, **arrays)
    except OSError as error:
        if not _write_warned:
            _write_warned = True
            warnings.warn(f"portrait cache {path.parent} could not be written ({error}); portraits are fitted again "
                          "on every load: set AVATAR_CACHE_DIR to a writable folder", stacklevel=3)

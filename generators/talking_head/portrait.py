"""A portrait photo made ready to animate: read, face found (MediaPipe FaceMesh, 478 refined landmarks), cropped and
aligned to a square, the person segmented from the background, and its own expression estimated.

Crop: the eyes level, the face (forehead landmark 10 to chin 152) FACE_SHARE of the side, its centre at
(0.5, FACE_CENTER_Y) of the crop, so hair above and neck and shoulders below stay in the picture (a full-body shot
is so cut to head and shoulders). A photo cut closer than that (a face filling it) is framed inside it instead: the
face a little off centre (up to MAX_SHIFT) and larger (up to MAX_FACE_SHARE of the side), the least change that keeps
the crop inside the photo; only beyond that is the photo continued (_beyond_the_photo).

The finished portrait is cached on disk by the photo's content (portrait_cache): a photo is analysed once per machine,
and a later load reads the result without importing MediaPipe. Portrait.load(..., cache=False) skips the cache.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generators.talking_head import portrait_cache
from generators.talking_head.fit import PortraitFit, fit_portrait
from rigs.errors import RigInputError

__all__ = ["DEFAULT_PORTRAIT", "MAX_PIXELS", "MIN_SIDE", "Portrait", "PortraitError", "check_portrait_file",
           "default_portrait_path", "detect_faces"]

MIN_SIDE = 64  # pixels: MediaPipe needs a face of roughly this size, and a crop from less is only blur
# A 50-megapixel camera's photo fits; beyond, the decoded photo and its analysis cost gigabytes for a 512-px crop.
MAX_PIXELS = 50_000_000
DETECT_SIDE = 1600  # MediaPipe looks at a copy of at most this many pixels a side (it resizes internally anyway)
MIN_FACE_PX = 40  # face height (forehead to chin) below which the landmarks are too coarse to animate
MAX_YAW_DEG = 40.0  # a face turned further shows too little of its far side to turn back toward the camera
# Eyes and mouth show detail (lids, lashes, iris, lip lines): the std of their L* (CIE, 0-100) over their boxes was
# 9.8-30 on 22 portraits (paintings, illustrations, photos); a hand, mask, sunglasses or sticker over them is flat.
MIN_FEATURE_DETAIL = 6.0
FACE_SHARE = 0.42  # face height / crop side
FACE_CENTER_Y = 0.45  # where the face centre sits, as a share of the crop height from the top
# Framing a close-cut photo inside itself: how much larger the face may be, and how far its centre may move (share
# of the side: left or right, up (the hair is cut first), down).
MAX_FACE_SHARE = 0.6
MAX_SHIFT = (0.1, 0.04, 0.1)
BEYOND_FEATHER = 0.006  # beyond the photo's edge: the seam faded over about this share of the crop side
DEFAULT_PORTRAIT = "grace_hopper.jpg"  # matplotlib's bundled public-domain sample portrait
FOREHEAD, CHIN = 10, 152
IRIS_RIGHT, IRIS_LEFT = 468, 473


class PortraitError(RigInputError):
    """A portrait that cannot be animated; the message names the input, the problem and the fix.

    A RigInputError, so the command line reports it in one line like every other bad input.
    """


def default_portrait_path() -> Path:
    """The bundled public-domain default portrait (matplotlib's sample grace_hopper.jpg)."""
    import importlib.util

    # Found without importing matplotlib (0.1 s of a cached load); cbook.get_sample_data reads the same folder.
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "sample_data" / DEFAULT_PORTRAIT
        if path.is_file():
            return path
    from matplotlib import cbook

    return Path(cbook.get_sample_data(DEFAULT_PORTRAIT, asfileobj=False))


def _name(path: str | os.PathLike) -> str:
    return f"portrait '{Path(path)}'"


def check_portrait_file(path: str | os.PathLike) -> None:
    """A photo file that exists, reads as an image and is neither too small nor too large (header only: fast)."""
    from PIL import Image, UnidentifiedImageError

    name = _name(path)
    path = Path(path)
    if not path.exists():
        raise PortraitError(f"{name} does not exist; check the path, or leave it out for the default portrait")
    if not path.is_file():
        raise PortraitError(f"{name} is not a file; give the path of a JPEG or PNG photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is judged below
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise PortraitError(f"{name} is larger than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; at most "
                            f"{MAX_PIXELS / 1e6:.0f} are read: scale it down or crop it around the face") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise PortraitError(f"{name} could not be read as an image ({error}); it may be corrupt or not an "
                            "image: give a JPEG or PNG photo") from None
    _check_size(name, width, height)


def _check_size(name: str, width: int, height: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise PortraitError(f"{name} is only {width}x{height} pixels; give a photo at least {MIN_SIDE} px on "
                            "each side with the face well over 100 px tall")
    if width * height > MAX_PIXELS:
        side = int((MAX_PIXELS * max(width, height) / min(width, height)) ** 0.5)
        raise PortraitError(f"{name} is {width}x{height} ({width * height / 1e6:.0f} megapixels); at most "
                            f"{MAX_PIXELS / 1e6:.0f} are read: scale it down (to {side} px on the long side) or "
                            "crop it around the face")


def _read_image(source) -> tuple[np.ndarray, str]:
    """An RGB uint8 image and a name for messages, from a path or an array."""
    if isinstance(source, str | os.PathLike):
        from PIL import Image, ImageOps, UnidentifiedImageError

        path = Path(source)
        name = _name(source)
        check_portrait_file(path)
        try:
            with Image.open(path) as image:
                image = ImageOps.exif_transpose(image)  # phones store the rotation as a tag
                rgb = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise PortraitError(f"{name} could not be read as an image ({error}); it may be corrupt or not an "
                                "image: give a JPEG or PNG photo") from None
        return rgb, name
    name = "portrait array"
    array = np.asarray(source)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise PortraitError(f"{name} has shape {array.shape}; give an (H, W, 3) RGB or (H, W, 4) RGBA image")
    array = array[:, :, :3]
    _check_size(name, array.shape[1], array.shape[0])
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise PortraitError(f"{name} has dtype {array.dtype}; give uint8 (0-255) or finite floats in [0, 1]")
        array = np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array), name


def detect_faces(image: np.ndarray, max_faces: int = 4) -> list[np.ndarray]:
    """MediaPipe's 478 refined landmarks (x px, y px, z px; y down, z away from the camera) of each face found."""
    with _face_mesh(max_faces) as model:
        return _landmarks(model, image)


def _find_faces(image: np.ndarray, max_faces: int) -> list[np.ndarray]:
    """The faces of a photo of any size: the whole photo at most DETECT_SIDE a side first, then (a face too small
    for the detector at that scale) tiles of DETECT_SIDE at twice the scale, and twice again, up to full size."""
    height, width = image.shape[:2]
    shrink = min(1.0, DETECT_SIDE / max(height, width))
    faces = [f / shrink for f in detect_faces(image if shrink == 1.0 else _resize(image, shrink), max_faces)]
    while not faces and shrink < 1.0:
        shrink = min(1.0, 2 * shrink)
        scaled = image if shrink == 1.0 else _resize(image, shrink)
        faces = [f / shrink for f in _detect_tiled(scaled, max_faces)]
    return faces


def _detect_tiled(image: np.ndarray, max_faces: int) -> list[np.ndarray]:
    """Faces in overlapping DETECT_SIDE tiles (half a tile apart, so every face up to half a tile fits one)."""
    height, width = image.shape[:2]
    step = DETECT_SIDE // 2
    faces: list[np.ndarray] = []
    with _face_mesh(max_faces) as model:
        for top in range(0, max(height - step, 1), step):
            for left in range(0, max(width - step, 1), step):
                tile = image[top : top + DETECT_SIDE, left : left + DETECT_SIDE]
                for face in _landmarks(model, tile):
                    face = face + [left, top, 0.0]
                    # The same face seen in two overlapping tiles: keep one.
                    if all(np.linalg.norm(face[:, :2].mean(0) - f[:, :2].mean(0)) > np.ptp(f[:, 1]) / 2
                           for f in faces):
                        faces.append(face)
    return faces


@contextlib.contextmanager
def _face_mesh(max_faces: int):
    import mediapipe as mp

    with _native_logs_hidden(), mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=max_faces,
            min_detection_confidence=0.5) as model:
        yield model


def _landmarks(model, image: np.ndarray) -> list[np.ndarray]:
    height, width = image.shape[:2]
    with _native_logs_hidden():
        result = model.process(np.ascontiguousarray(image))
    # MediaPipe's z shares x's scale (normalised by the image width).
    return [np.array([[p.x, p.y, p.z] for p in face.landmark], np.float64) * [width, height, width]
            for face in result.multi_face_landmarks or []]


@contextlib.contextmanager
def _native_logs_hidden():
    """MediaPipe's C++ side writes log lines (INFO, W0000) straight to file descriptor 2, past Python and its
    environment variables; point that descriptor at /dev/null while it runs, so the terminal shows our lines only."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _segment(image: np.ndarray) -> np.ndarray:
    """The person's soft mask (H, W) float32 in [0, 1] (MediaPipe selfie segmentation)."""
    import cv2
    import mediapipe as mp

    with _native_logs_hidden(), mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as model:
        mask = model.process(np.ascontiguousarray(image)).segmentation_mask
    mask = np.clip(np.nan_to_num(mask.astype(np.float32)), 0.0, 1.0)
    return cv2.GaussianBlur(mask, (0, 0), max(0.6, image.shape[0] / 512))  # a soft, stable edge


def _crop_transform(landmarks: np.ndarray, size: int, photo_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The (2, 3) similarity from the photo to the aligned square crop; given the photo's (height, width), framed
    inside the photo where the standard framing runs past its edge (see the module's docstring)."""
    eyes = landmarks[IRIS_LEFT, :2] - landmarks[IRIS_RIGHT, :2]  # the subject's left iris is on the image right
    angle = np.arctan2(eyes[1], eyes[0])
    c, s = np.cos(-angle), np.sin(-angle)
    rotation = np.array([[c, -s], [s, c]])
    upright = landmarks[:, :2] @ rotation.T
    height = max(abs(upright[CHIN, 1] - upright[FOREHEAD, 1]), 1e-6)
    center = (upright[FOREHEAD] + upright[CHIN]) / 2
    share, shift = FACE_SHARE, np.zeros(2)
    if photo_shape is not None:
        share, shift = _framing(rotation, center, height, photo_shape[:2])
    scale = share * size / height
    offset = (np.array([0.5, FACE_CENTER_Y]) + shift) * size - scale * center
    return np.column_stack([scale * rotation, offset])


def _framing(rotation: np.ndarray, center: np.ndarray, height: float, shape: tuple[int, int]):
    """The face share of the side and the face centre's shift (2,) (shares of the side): the standard framing if
    the crop fits in the photo, else the smallest share (then shift) that fits, else the one that runs out least."""
    shares = np.linspace(FACE_SHARE, MAX_FACE_SHARE, 13)
    sx = np.linspace(-MAX_SHIFT[0], MAX_SHIFT[0], 21)
    sy = np.linspace(-MAX_SHIFT[1], MAX_SHIFT[2], 15)
    f, dx, dy = (a.ravel() for a in np.meshgrid(shares, sx, sy, indexing="ij"))
    # The crop's corners (in shares of the side, about the face centre) back in the photo: upright photo pixels are
    # the face centre plus (corner - face place) * height / share, then turned back by the rotation's transpose.
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    place = np.stack([0.5 + dx, FACE_CENTER_Y + dy], -1)  # (N, 2)
    upright = center + (corners[None] - place[:, None]) * (height / f)[:, None, None]  # (N, 4, 2)
    photo = upright @ rotation  # rotation is orthonormal: its transpose undoes it
    limit = np.array([shape[1], shape[0]], np.float64) - 0.5
    past = np.maximum(np.maximum(-0.5 - photo, photo - limit), 0.0).max(axis=(1, 2))  # photo pixels
    past = past * f / height  # as a share of the crop side
    cost = np.where(past < 1e-3, 0.0, past)
    best = np.flatnonzero(cost <= cost.min() + 1e-3)
    best = best[np.lexsort((dx[best] ** 2 + dy[best] ** 2, f[best]))][0]  # the least zoom, then the least shift
    return float(f[best]), np.array([dx[best], dy[best]])


@dataclass(frozen=True, eq=False)
class Portrait:
    """An aligned square portrait with its face's landmarks, person mask and estimated expression."""

    image: np.ndarray  # (S, S, 3) uint8 RGB crop
    landmarks: np.ndarray  # (478, 3) float32: x, y crop pixels (y down, centres at integers), z MediaPipe depth
    person: np.ndarray  # (S, S) float32 in [0, 1]: the person (face, hair, body) against the background
    expression: np.ndarray  # (52,) float32 ARKit weights the photo shows (see fit.estimate_expression)
    source: str = "portrait"
    crop: np.ndarray = field(default_factory=lambda: np.eye(2, 3))  # (2, 3) photo -> crop similarity
    fit: PortraitFit | None = None  # the face mesh placed on the photo

    @property
    def size(self) -> int:
        return self.image.shape[0]

    @classmethod
    def load(cls, source=None, size: int = 512, max_faces: int = 4, cache: bool = True) -> Portrait:
        """Read a portrait (path, array, or None for the bundled default), find the face, crop, fit the face mesh."""
        if not (isinstance(size, int | np.integer) and 64 <= size <= 4096):
            raise PortraitError(f"portrait size {size!r} is not an integer in 64-4096; use e.g. 512")
        source = default_portrait_path() if source is None else source
        if isinstance(source, str | os.PathLike):
            image, name = None, _name(source)  # a hit needs only the file's bytes, not the decoded image
            digest = portrait_cache.file_digest(source) if cache else None
        else:
            image, name = _read_image(source)
            digest = portrait_cache.array_digest(image) if cache else None
        key = portrait_cache.portrait_key(digest, size, max_faces) if digest else None
        cached = portrait_cache.read_entry(key, size) if key else None
        if cached is not None:
            fields, faces = cached
            _warn_faces(name, faces)
            return cls(**fields, source=name)
        if image is None:
            image, name = _read_image(source)
        faces = _find_faces(image, max_faces)
        if not faces:
            raise PortraitError(f"{name}: no face found; give a photo with a face seen from the front (eyes and "
                                "mouth visible), well lit, at least 100 px tall")
        areas = [np.ptp(f[:, 0]) * np.ptp(f[:, 1]) for f in faces]
        landmarks = faces[int(np.argmax(areas))]
        _warn_faces(name, len(faces))
        if np.ptp(landmarks[:, 1]) < MIN_FACE_PX:
            raise PortraitError(f"{name}: the face is only {np.ptp(landmarks[:, 1]):.0f} px tall; give a photo "
                                "where the face is at least 100 px tall")
        portrait = cls.from_landmarks(image, landmarks, size, name)
        if key is not None:
            portrait_cache.write_entry(key, portrait, len(faces))
        return portrait

    @classmethod
    def from_landmarks(cls, image: np.ndarray, landmarks: np.ndarray, size: int = 512,
                       source: str = "portrait") -> Portrait:
        """Crop and align a photo around already-detected landmarks (478, 3), segment it and fit the face mesh."""
        import cv2

        crop = _crop_transform(landmarks, size, image.shape)
        scale = float(np.hypot(*crop[:, 0]))
        aligned = _beyond_the_photo(image, crop, size, cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        # MediaPipe puts pixel centres at half-integers, OpenCV (and everything here) at integers.
        points = np.column_stack([(landmarks[:, :2] - 0.5) @ crop[:, :2].T + crop[:, 2], landmarks[:, 2] * scale])
        fit = fit_portrait(points)
        _check_face(source, aligned, points, fit)
        return cls(image=aligned, landmarks=points.astype(np.float32), person=_segment(aligned),
                   expression=fit.expression, source=source, crop=crop, fit=fit)


def _beyond_the_photo(image: np.ndarray, crop: np.ndarray, size: int, flags: int) -> np.ndarray:
    """The photo warped into the crop; where the crop runs past the photo's edge, a continuation that grows softer
    with the distance from the edge (each pixel the mean of the photo's pixels around it at that distance, by a
    push-pull pyramid), faded in over a few pixels: no edge pixels smeared into streaks."""
    import cv2

    from generators.talking_head.warp import push_pull

    aligned = cv2.warpAffine(image, crop, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.ones(image.shape[:2], np.float32), crop, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    if inside.min() >= 1.0 - 1e-3:
        return aligned
    known = np.floor(inside)  # whole pixels of the photo only
    filled = push_pull(aligned.astype(np.float32), known)
    # The pyramid's coarse levels show as soft blocks far out: a blur as wide as the feather's reach evens them.
    filled = cv2.GaussianBlur(filled, (0, 0), 4 * BEYOND_FEATHER * size)
    # Feather the seam inward, so the photo's last pixels blend into the continuation rather than meet it at a line.
    keep = np.clip(cv2.GaussianBlur(known, (0, 0), BEYOND_FEATHER * size) * 2.0 - 1.0, 0.0, 1.0)[..., None]
    return np.clip(keep * aligned + (1.0 - keep) * filled + 0.5, 0, 255).astype(np.uint8)


def _check_face(name: str, image: np.ndarray, points: np.ndarray, fit: PortraitFit) -> None:
    """A face turned too far from the camera, or with an eye or the mouth covered, is a clear error."""
    import cv2

    from generators.talking_head.animate import landmark_loops

    yaw = float(np.degrees(np.arctan2(fit.rotation[0, 2], fit.rotation[2, 2])))
    if abs(yaw) > MAX_YAW_DEG:
        raise PortraitError(f"{name}: the face is turned {abs(yaw):.0f} degrees from the camera; give a photo with "
                            f"the face within {MAX_YAW_DEG:.0f} degrees of frontal (both eyes and the mouth in view)")
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100.0 / 255.0)
    loops = landmark_loops()
    for feature, loop in (("right eye", "eye_right"), ("left eye", "eye_left"), ("mouth", "lips_outer")):
        corners = points[loops[loop], :2]
        centre, half = corners.mean(0), (np.ptp(corners, axis=0) / 2) * 1.3 + 2.0
        (x0, y0), (x1, y1) = np.floor(centre - half).astype(int), np.ceil(centre + half).astype(int)
        patch = lightness[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)]
        if patch.size < 4 or patch.std() < MIN_FEATURE_DETAIL:
            raise PortraitError(f"{name}: the {feature} looks covered (no detail there); give a photo where both "
                                "eyes and the mouth are in view, with no hand, mask, sunglasses or hair over them")


def _warn_faces(name: str, faces: int) -> None:
    """Warn of a photo with several faces, on a fit or a cache hit alike (stacklevel: Portrait.load's caller)."""
    if faces > 1:
        warnings.warn(f"{name}: {faces} faces found; animating the largest (crop the photo to choose another)",
                      stacklevel=3)


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    return cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))),
                      interpolation=cv2.INTER_AREA)

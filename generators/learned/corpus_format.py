"""The motion corpus on disk: the one definition its writer (avatar/training/corpus.py, .beat_data) and its reader
(generators/learned/dataset.py) share. No pickles: float16 arrays written as .npy, read memory-mapped.

  corpus.json           FORMAT, VERSION, FPS, DTYPE, the widths (ARRAYS and the style), what built it, counts
                        and hours per split and source
  {split}_content.npy   (sum of item frames, 84): rows per item, see generators.learned.representation
  {split}_emotion.npy   (sum of variant frames, 11): rows per variant; likewise _face (59) and _body (306)
  {split}_index.json    {"items": [...], "variants": [...]}: per item its id, source, speaker, text, n_frames,
                        content row offset, phones and words as [start, end, label]; per variant its item number,
                        emotion keyframes, seed, style vector, row offset, modality masks
"""

from __future__ import annotations

from pathlib import Path

from generators.learned import representation as rep

FORMAT = "avatar motion corpus"
VERSION = 1
INFO_FILE = "corpus.json"
SPLITS = ("train", "test")
FPS = rep.FPS
DTYPE = "<f2"  # float16, little-endian
DTYPE_NAME = "float16"
ARRAYS = {"content": rep.ACOUSTIC_DIM, "emotion": rep.EMOTION_DIM, "face": rep.FACE_DIM, "body": rep.BODY_DIM}


def array_path(folder: str | Path, split: str, name: str) -> Path:
    """The .npy file of one split's array (a name of ARRAYS)."""
    return Path(folder) / f"{split}_{name}.npy"


def index_path(folder: str | Path, split: str) -> Path:
    """The JSON index of one split's items and variants."""
    return Path(folder) / f"{split}_index.json"

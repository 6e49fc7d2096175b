"""Where the engine finds its shipped checkpoints (at run time) and the shared data (tests, benchmarks, training).

The checkpoints are package data: the folder `checkpoints/` is the importable package `checkpoints`, installed
with the engine, so an ordinary (non-editable) install finds them through importlib.resources. Commands that
write a checkpoint still take a plain folder (`-o checkpoints/ser` in the repository writes into that package).

The data (BEAT takes, speech emotion corpora, portraits; see its README.md) lives beside the repository, in
../shared/data; AVATAR_DATA names another folder. Nothing here checks that it exists: callers skip or say what
is missing.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA_HINT = "../shared/data"  # how help texts and error messages name the default data folder


def shared_data(*parts: str) -> Path:
    """A path inside the shared data folder: AVATAR_DATA, else ../shared/data beside the repository."""
    root = os.environ.get("AVATAR_DATA")
    return (Path(root) if root else REPOSITORY.parent / "shared" / "data").joinpath(*parts)


def checkpoint(name: str) -> Path:
    """The folder of a shipped checkpoint ("ser", "motion-diffusion"), wherever the engine is installed."""
    folder = resources.files("checkpoints") / name
    if not isinstance(folder, Path):  # a zipped install: the weights must be files on disk to be memory-mapped
        raise RuntimeError(
            f"the checkpoints package is not on the file system ({folder}); install the engine "
            "unzipped, e.g. `pip install .`"
        )
    return folder

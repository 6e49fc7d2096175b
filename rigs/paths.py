"""Where the engine finds the shared data its tests, benchmarks and training read (never at run time).

The data (BEAT takes, speech emotion corpora, portraits; see ../shared/data/README.md) lives beside the
repository, in ../shared/data; AVATAR_DATA names another folder. Nothing here checks that it exists: callers skip
or say what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def shared_data(*parts: str) -> Path:
    """A path inside the shared data folder: AVATAR_DATA, else ../shared/data beside the repository."""
    root = os.environ.get("AVATAR_DATA")
    return (Path(root) if root else REPOSITORY.parent / "shared" / "data").joinpath(*parts)

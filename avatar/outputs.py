"""Where the commands write: output paths checked before any work, and output folders written whole.

A render owns its output folder. It writes into a fresh hidden folder beside it (`.<name>.partial-<pid>-<random>`)
and, when every file is complete, swaps that folder in whole (one atomic exchange where the system has one), so
after a failure, a Ctrl-C or a kill the folder is as it was before the command, or complete. A killed run's hidden
folder is removed by the next run that writes beside it. Batch jobs use the same mechanism for their job folders.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from avatar.errors import InputError

PARTIAL = ".partial-"  # marks a folder still being written: `.<name>.partial-<pid>-<random>`
# Every file a render can write (avatar/stages.py lists them); a folder holding anything else is not a render's.
RENDER_FILES = frozenset(
    {
        "speech.wav",
        "face.csv",
        "face.json",
        "face.glb",
        "body.bvh",
        "body.glb",
        "preview.mp4",
        "video.mp4",
        "render.json",
        "report.json",
        "report.png",
        "emotion.json",
        "emotion.png",
    }
)
OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})  # written by file browsers; safe to replace
# Set by the command line's Ctrl-C and SIGTERM handlers. The KeyboardInterrupt they raise can be lost on its way up
# (raised inside a __del__, a callback or a library that swallows it); the flag is not, so no folder is swapped in
# after an interruption.
_interrupted = threading.Event()


def note_interrupt() -> None:
    """Record a Ctrl-C or SIGTERM: from now on no output folder is swapped in."""
    _interrupted.set()


def clear_interrupt() -> None:
    """Forget an earlier interruption (a new command starts)."""
    _interrupted.clear()


def interrupted() -> bool:
    """Whether a Ctrl-C or SIGTERM came since the command started."""
    return _interrupted.is_set()


def check_output_file(path: str | os.PathLike, option: str, suffixes: Iterable[str] | None = None) -> Path:
    """`path` as a file the command can write (its folder writable, not a folder itself, the right suffix)."""
    path = Path(path)
    if suffixes is not None:
        suffixes = tuple(suffixes)
        if path.suffix.lower() not in suffixes:
            raise InputError(f"{option} '{path}' must end in {_either(suffixes)}: the name says what is written")
    if path.is_dir():
        example = path / ("out" + (suffixes[0] if suffixes else ""))
        raise InputError(f"{option} '{path}' is a folder; give a file name, such as '{example}'")
    _check_writable(path.parent, f"{option} '{path}'")
    return path


def check_output_folder(
    path: str | os.PathLike, option: str = "-o", inputs: Iterable = (), replace: bool = False
) -> Path:
    """`path` as a folder a render can own: writable, and holding nothing but an earlier render's files (anything,
    with `replace`).

    `inputs` are the render's input paths: none may lie inside the folder, which the render replaces whole.
    """
    path = Path(path)
    where = f"{option} '{path}'"
    if path.exists() and not path.is_dir():
        raise InputError(f"{where} is a file; give a folder (it is created if missing)")
    if path.is_dir():
        resolved = path.resolve()
        if resolved == Path.cwd() or resolved in Path.cwd().parents:
            raise InputError(
                f"{where} is the folder you are in (or holds it), which a render replaces whole; give "
                "a folder of its own, such as out/"
            )
        foreign = [] if replace else sorted(p.name for p in path.iterdir() if p.name not in RENDER_FILES | OS_LITTER)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise InputError(
                f"{where} holds files a render does not write ({shown}); a render replaces its whole "
                "folder, so give a new or empty folder, or one an earlier render wrote"
            )
        for item in inputs:
            if isinstance(item, str | os.PathLike) and resolved in Path(item).resolve().parents:
                raise InputError(
                    f"input '{item}' is inside {where}, which a render replaces whole; move it out "
                    "or write to another folder"
                )
    _check_writable(path.parent, where)
    return path


def check_writable_folder(path: str | os.PathLike, option: str) -> Path:
    """`path` as a folder to write files into (created if missing), or a one-line InputError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} '{path}' is a file; give a folder (it is created if missing)")
    _check_writable(path, f"{option} '{path}'")
    return path


@contextlib.contextmanager
def folder_written_whole(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh hidden folder beside `final`; when the block succeeds, it replaces `final` whole.

    On any error or interruption (noted by note_interrupt, even if its KeyboardInterrupt was swallowed) the hidden
    folder is removed and `final` is left as it was.
    """
    final = Path(final).resolve()  # '.' and '..' have no name to put a hidden folder beside
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(final.parent, final.name)
    partial = final.with_name(f".{final.name}{PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    partial.mkdir()
    try:
        yield partial
        if interrupted():
            raise KeyboardInterrupt
        swap_into_place(partial, final)
    finally:
        _remove(partial)  # after a swap: the folder it replaced
    remove_stale_partials(final.parent, final.name)  # a killed run's encoder may have written on after the start


def _remove(folder: Path) -> None:
    """Delete a folder; an encoder being stopped may still close a file in it, so try a few times."""
    for _ in range(10):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.1)


def swap_into_place(partial: Path, final: Path) -> None:
    """Put the complete folder `partial` at `final`; whatever was at `final` ends up at `partial`'s name."""
    if final.exists() and _exchange(partial, final):
        return
    if final.exists():  # no atomic exchange here: two renames, with the old folder kept until the new is in place
        stale = final.with_name(f".{final.name}{PARTIAL}{os.getpid()}-stale-{uuid.uuid4().hex[:8]}")
        os.rename(final, stale)
        os.rename(partial, final)
        os.rename(stale, partial)
    else:
        os.rename(partial, final)


def remove_stale_partials(parent: str | os.PathLike, name: str | None = None) -> None:
    """Delete the hidden folders that killed or crashed runs left in `parent` (of `name` only, when given);
    those of processes still running are theirs."""
    pattern = f".{name}{PARTIAL}*" if name is not None else f".*{PARTIAL}*"
    for path in Path(parent).glob(pattern):
        owner = path.name.rsplit(PARTIAL, 1)[1].split("-", 1)[0]
        if path.is_dir() and not (owner.isdigit() and int(owner) != os.getpid() and _running(int(owner))):
            shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # a file system or kernel without the exchange
        return False
    raise OSError(code, os.strerror(code), str(b))


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # no C library to load (some platforms): the two-rename path
        return None


def _check_writable(folder: Path, what: str) -> None:
    """The nearest existing folder at or above `folder` takes a new file (a probe), else a one-line InputError."""
    existing = folder if str(folder) else Path(".")
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{what}: '{existing}' is a file, not a folder; choose another path")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".avatar-probe-") as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise InputError(f"{what} cannot be written in '{existing}': {describe_os_error(error)}") from None


def describe_os_error(error: OSError) -> str:
    """What an OSError means for the user, and the fix, in a few words."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full ({reason}); free some space or write to another disk"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not writable ({reason}); choose a folder you can write to"
    return reason


def _either(suffixes: tuple[str, ...]) -> str:
    return suffixes[0] if len(suffixes) == 1 else ", ".join(suffixes[:-1]) + " or " + suffixes[-1]

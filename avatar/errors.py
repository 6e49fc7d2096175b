"""The one error type for bad user input, and the command line's exit codes.

Every public entry point (the CLI, AvatarPipeline, batch, the page) raises InputError for input it cannot use, with
a one-line message that names the input, the problem and the fix. Documented subclasses: rigs.errors.RigInputError
(track files and rigs) and generators.talking_head.PortraitError (photos). InputError is defined in rigs.errors, the
lowest layer, so that those subclasses can share it.
"""

from rigs.errors import InputError

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_JOBS_FAILED", "InputError"]

# Exit codes of `avatar` (see the README's "When something goes wrong").
EXIT_JOBS_FAILED = 1  # batch: some jobs failed (the others are kept)
EXIT_BAD_INPUT = 2  # the command could not do what was asked: bad input, an unusable output path, a full disk
EXIT_INTERNAL = 70  # a fault in the engine itself (EX_SOFTWARE): one line, and AVATAR_TRACEBACK=1 shows the trace
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM: the output is left as it was before the command

"""The error raised for bad rig input (files, tracks, names)."""


class RigInputError(ValueError):
    """Bad input to a rig or a file format; the message names the input, the problem and the fix."""

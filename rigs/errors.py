"""The errors raised for bad user input. InputError is the root (the lowest layer holds it, so every layer's input
errors share it); avatar.errors re-exports it."""


class InputError(ValueError):
    """Bad user input; the message names the input, the problem and the fix."""


class RigInputError(InputError):
    """Bad input to a rig or a file format; the message names the input, the problem and the fix."""

"""Loading what lives as long as the process (modules, models) without the cyclic garbage collector walking it.

Importing torch and the engine's modules and loading the models allocates a few million objects that stay until
the process ends. While they load, every full collection walks all of those loaded so far again (about 1.2 s of a
4-s load on this project's 2-core machine), and the last collection at exit walks them once more (about 1 s: a
batch worker's or a CLI render's exit). Loaded with the collector paused, then frozen (gc.freeze: moved out of its
sight), they cost neither; the collector goes on looking after what the work itself makes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """Run the block with the cyclic collector paused, then freeze every object tracked so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

"""Giving freed memory back to the system (glibc's ``malloc_trim``).

CPython's small-object allocator keeps its arenas while any object in them lives, and
glibc keeps freed heap memory for reuse; neither goes back to the system by itself.
``malloc_trim(0)`` returns what glibc holds free (the top of the heap and whole free
pages inside it). Elsewhere (no glibc) :func:`malloc_trim` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

__all__ = ["malloc_trim"]


def _load() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


_TRIM = _load()


def malloc_trim() -> bool:
    """Return free heap memory to the system; True if glibc released some."""
    return bool(_TRIM(0)) if _TRIM is not None else False

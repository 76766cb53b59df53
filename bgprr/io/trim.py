"""Giving freed memory back to the system (glibc's ``malloc_trim``).

CPython's small-object allocator keeps its arenas while any object in them lives, and
glibc keeps freed heap memory for reuse; neither goes back to the system by itself.
``malloc_trim(0)`` returns what glibc holds free (the top of the heap and whole free
pages inside it). Elsewhere (no glibc) :func:`malloc_trim` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

__all__ = ["FloodTrim", "malloc_trim"]


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


class FloodTrim:
    """When to give a flood's memory back: called at every periodic look with the count
    of connections accepted since start. ``threshold`` new connections between two looks
    make a flood; the look after the first one without any new connection trims (a full
    collection, then :func:`malloc_trim`), as does the look after one that removed
    dynamic neighbors (``removed``), never during a flood."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.trims = 0  # trims done
        self.flooded = False  # the last look saw a flood of new connections
        self.due = False  # the next look trims
        self._seen = 0  # connections accepted at the last look

    def look(self, accepted: int, *, removed: bool, enabled: bool) -> bool:
        """One look; True if it trimmed."""
        new = accepted - self._seen
        self._seen = accepted
        due, self.due = self.due, removed or (self.flooded and not new)
        self.flooded = new >= self.threshold
        if not (due and new < self.threshold and enabled):
            return False
        # What a flood allocated is freed by now (its neighbors were removed, or nothing
        # new came, one interval ago: their connections have closed since). A full
        # collection also empties CPython's free lists (objects kept for reuse,
        # scattered over the heap, that keep its pages in use); then glibc gives its
        # free pages back. CPython's own arenas (without PYTHONMALLOC=malloc) stay
        # mapped while any object in them lives.
        gc.collect()
        malloc_trim()
        self.trims += 1
        return True

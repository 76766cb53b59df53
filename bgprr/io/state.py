"""Graceful-restart state kept across restarts of the daemon.

When bgprr restarts with ``-r``, it must wait for End-of-RIB from every peer that was up
before it sends its own table (RFC 4724 §4.1). Static neighbors are known from the
configuration; dynamic neighbors are not, so the daemon records the peers that are
Established in a small text file (``established-peers`` in the state directory: one peer
key per line) and reads it back on a ``-r`` start.

Cost: a peer coming up must be on disk before the loop iteration ends (a reflector killed
right after must wait for that peer), so additions are *appended*, one short write per
iteration, whatever the number of peers. A full rewrite (atomic: a temporary file, then
``os.replace``) drops peers that went down; it is needed only for correctness of the
*next* restart's wait (a peer that is gone for good would be waited for until the
deferral time), so the daemon coalesces it (:data:`REWRITE_DELAY`). With 2000 clients
connecting at once that is a few hundred appends instead of one 2000-line rewrite per
loop iteration (O(N²) bytes; 0.7 s of CPU in a 2000-node storm under uvloop).

A torn last line (a crash in the middle of an append) is ignored on load. The JSON file
that earlier bgprr versions wrote (``peers.json``, ``{"established": [...]}``) is still
read when the new file does not exist.

Faults: the file is best effort. A directory that cannot be written (read-only, full,
missing, wrong owner) never stops the reflector: the first failure is logged once, as one
line naming the directory and the error, and kept in :attr:`PeerStateFile.problem` (which
``/readyz`` reports, with the latest error); later failures are not logged again, and the
next write that succeeds logs that the directory is writable again. Every change is still
tried, so recovery needs no restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable

log = logging.getLogger("bgprr.state")

STATE_FILE = "established-peers"
LEGACY_FILE = "peers.json"
HEADER = "# bgprr: peers Established when this file was written (one key per line)\n"
REWRITE_DELAY = 1.0  # seconds: how long a removal may wait for its rewrite


def load_expected_peers(state_dir: str) -> frozenset[str]:
    """Peers that were Established when the previous instance stopped (empty if unknown)."""
    path = os.path.join(state_dir, STATE_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return _load_legacy(state_dir)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return frozenset()
    lines = text.split("\n")
    lines.pop()  # "" after the final newline, or a torn last line
    return frozenset(s for s in lines if s and not s.startswith("#"))


def _load_legacy(state_dir: str) -> frozenset[str]:
    path = os.path.join(state_dir, LEGACY_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return frozenset()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return frozenset()
    peers = data.get("established", []) if isinstance(data, dict) else []
    return frozenset(p for p in peers if isinstance(p, str))


class PeerStateFile:
    """The on-disk set of Established peers (best effort: a failure is logged once and
    kept in :attr:`problem` until a write succeeds)."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, STATE_FILE)
        self.written = False  # a full write by this process succeeded (appends may follow)
        self.appends = 0
        self.rewrites = 0
        self.failures = 0  # writes that failed (appends, rewrites and probes)
        self.problem: str | None = None  # why the last write failed; None once one succeeds

    def probe(self) -> None:
        """Check that the directory takes a file (created, written, removed), so that a
        fault is reported at start rather than when the first peer comes up."""
        tmp = ""
        try:
            os.makedirs(self.state_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".probe-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(HEADER)
            self._succeeded()
        except OSError as exc:
            self._failed(exc)
        finally:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def add(self, peers: Iterable[str]) -> None:
        """Append ``peers`` (after a full :meth:`rewrite` by this process)."""
        keys = sorted(peers)
        if not keys:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(f"{k}\n" for k in keys))
            self.appends += 1
            self._succeeded()
        except OSError as exc:
            self._failed(exc)
            self.written = False  # the caller rewrites everything next time

    def rewrite(self, peers: Iterable[str]) -> None:
        """Replace the file with exactly ``peers`` (atomically)."""
        tmp = ""
        try:
            os.makedirs(self.state_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".peers-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(HEADER + "".join(f"{k}\n" for k in sorted(peers)))
            os.replace(tmp, self.path)
            self.written = True
            self.rewrites += 1
            self._succeeded()
        except OSError as exc:
            self._failed(exc)
            self.written = False
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _failed(self, exc: OSError) -> None:
        self.failures += 1
        problem = f"state directory {self.state_dir} not writable: {_why(exc)}"
        first, self.problem = self.problem is None, problem
        if first:
            log.warning(
                "%s; reflection goes on, but a restart with -r will not know the peers "
                "that came up since (retrying at every change)",
                problem,
            )

    def _succeeded(self) -> None:
        if self.problem is not None:
            self.problem = None
            log.info("state directory %s writable again", self.state_dir)


class StateRecorder:
    """When the daemon writes its :class:`PeerStateFile` (``file``; None: no state
    directory, nothing recorded). ``peers()`` gives the keys to record on a rewrite."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        file: PeerStateFile | None,
        peers: Callable[[], set[str]],
    ) -> None:
        self.loop = loop
        self.file = file
        self.peers = peers
        self.added: set[str] = set()  # came up since the last save
        self.removed = False  # something went down since the last save
        self._handle: asyncio.Handle | None = None
        self._rewrite_handle: asyncio.TimerHandle | None = None

    def up(self, key: str) -> None:
        self.added.add(key)
        self.soon()

    def down(self, key: str) -> None:
        self.added.discard(key)
        self.changed()

    def changed(self) -> None:
        """Some recorded peer may be gone (a rewrite is due)."""
        self.removed = True
        self.soon()

    def soon(self) -> None:
        """Record the peers that came up at the end of this loop iteration (coalescing a
        burst of sessions). Not later: a reflector killed right after a peer came up must
        wait for that peer's End-of-RIB when restarted with ``-r``, or the other peers get
        an incomplete table and sweep that peer's routes. Peers that went down are dropped
        from the file by a rewrite at most ``REWRITE_DELAY`` later."""
        if self.file is None or self._handle is not None:
            return
        self._handle = self.loop.call_soon(self.now)

    def now(self) -> None:
        self._handle = None
        st = self.file
        if st is None:
            return
        added, self.added = self.added, set()
        if not st.written:
            st.rewrite(self.peers())
        elif added:
            st.add(added)
        if self.removed and self._rewrite_handle is None:
            self._rewrite_handle = self.loop.call_later(REWRITE_DELAY, self.rewrite)
        self.removed = False

    def rewrite(self) -> None:
        if self._rewrite_handle is not None:
            self._rewrite_handle.cancel()
            self._rewrite_handle = None
        if self.file is not None:
            self.file.rewrite(self.peers())


def _why(exc: OSError) -> str:
    """The error without the file name (the message names the directory already)."""
    if isinstance(exc, FileExistsError):  # os.makedirs of a path that is a file
        return os.strerror(errno.ENOTDIR)
    return exc.strerror or str(exc)

"""Graceful-restart state kept across restarts of the daemon.

When bgprr restarts with ``-r``, it must wait for End-of-RIB from every peer that was up
before it sends its own table (RFC 4724 §4.1). Static neighbors are known from the
configuration; dynamic neighbors are not, so the daemon records the peers that are
Established in a small JSON file and reads it back on a ``-r`` start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

log = logging.getLogger("bgprr.state")

STATE_FILE = "peers.json"


def load_expected_peers(state_dir: str) -> frozenset[str]:
    """Peers that were Established when the previous instance stopped (empty if unknown)."""
    path = os.path.join(state_dir, STATE_FILE)
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


def save_established_peers(state_dir: str, peers: list[str]) -> None:
    """Atomically record the Established peers (best effort: a failure is logged)."""
    try:
        os.makedirs(state_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=".peers-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"established": sorted(peers)}, fh)
        os.replace(tmp, os.path.join(state_dir, STATE_FILE))
    except OSError as exc:
        log.warning("cannot write state to %s: %s", state_dir, exc)

"""Readiness and identity of a running reflector (``/readyz``, the control API's
``global.get``, :meth:`~bgprr.api.library.RouteReflector.readiness`).

Ready means: the daemon has started (configuration loaded, neighbors started, the BGP
listener bound), it is not stopping, and, when it started as a restarting speaker
(``-r``), the graceful restart has completed. That takes two steps: the selection
deferral ends (every peer waited for has sent End-of-RIB, or the deferral time passed),
then the reflector sends its tables and End-of-RIB to every peer that was up when the
deferral ended. Once complete it stays complete: a peer that comes up later does not make
the reflector unready.

Warnings do not make it unready: a state directory that cannot be written (full,
read-only) is reported in ``warnings`` (and on ``/readyz`` after ``ready``) but the
reflector stays ready. It reflects exactly as before; only its *next* restart with ``-r``
may not know the peers that came up since. A failing readiness probe would change
nothing that helps: Kubernetes would take the pod out of its Service's endpoints (BGP
peers dial the node's address, not a Service), count it as unavailable for the
StatefulSet's rolling update and the PodDisruptionBudget (stalling rollouts and node
drains while both reflectors serve), and never restart it (that is liveness). The
operator is told instead: one log line, ``/readyz``, ``bgprr global``.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

from bgprr._version import __version__
from bgprr.io.daemon import Daemon
from bgprr.io.settings import reflector_cluster_id
from bgprr.reflect.types import EndOfRibSent, SelectionDeferralEnded
from bgprr.session import StateChanged

log = logging.getLogger("bgprr.api")

JSON = dict[str, Any]


class Readiness:
    """Follows a daemon's graceful restart through its events (``on_event`` is a
    ``Daemon.listeners`` callback) and answers :meth:`state`."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.restart_done = not daemon.restarting
        self._pending: set[str] | None = None  # after the deferral: owed our End-of-RIB
        self._sending_to = 0  # peers owed our End-of-RIB when the deferral ended

    def on_event(self, key: str, ev: object) -> None:
        if self.restart_done:
            return
        if isinstance(ev, SelectionDeferralEnded):
            self._deferral_ended()
        elif self._pending is not None and isinstance(ev, EndOfRibSent | StateChanged):
            self._recheck([ev.key if isinstance(ev, EndOfRibSent) else key])

    def _deferral_ended(self) -> None:
        self._pending = {k for k in self.daemon.peers if self._owed_eor(k)}
        self._sending_to = len(self._pending)
        self._recheck([])

    def _owed_eor(self, key: str) -> bool:
        """Up, and End-of-RIB not yet sent in some family."""
        try:
            peer = self.daemon.engine.peer(key)
        except KeyError:
            return False
        return peer.up and any(m.eor_due for m in peer.members.values())

    def _recheck(self, keys: list[str]) -> None:
        pending = self._pending
        assert pending is not None
        for k in keys:
            if k in pending and not self._owed_eor(k):
                pending.discard(k)
        if not pending:
            self.restart_done = True
            log.info(
                "graceful restart complete: End-of-RIB sent to %d peers; ready",
                self._sending_to,
            )

    def state(self, now: float) -> JSON:
        """``{"ready", "reason", "restart", "warnings"}`` (see docs/api.md, Readiness)."""
        d = self.daemon
        restart = None if not d.restarting else self._restart(now)
        reason: str | None = None
        port = d.config.global_.port
        if not d.started:
            reason = "starting"
        elif d.stopping or d.stopped.is_set():
            reason = "stopping"
        elif port >= 0 and not any(s.is_serving() for s in d.servers):
            reason = f"not listening on port {port}"
        elif restart is not None and restart["phase"] != "done":
            left = restart["waiting_for"]
            total = restart["peers"]
            peers = "peer" if total == 1 else "peers"
            if restart["phase"] == "deferring":
                reason = (
                    f"graceful restart: waiting for End-of-RIB from {len(left)} of {total} "
                    f"{peers}, {restart['deferral_left']} s left"
                )
            else:
                reason = (
                    f"graceful restart: sending tables, End-of-RIB not yet sent to "
                    f"{len(left)} of {total} {peers}"
                )
        warnings = [d.state_problem] if d.state_problem else []
        if d.kernel is not None and d.kernel.problem:
            warnings.append(f"kernel routes: {d.kernel.problem}")
        return {"ready": reason is None, "reason": reason, "restart": restart,
                "warnings": warnings}

    def _restart(self, now: float) -> JSON:
        engine = self.daemon.engine
        if not self.restart_done and engine.deferring:
            owing, total = engine.gr.owing()
            left = math.ceil(max(0.0, engine.gr.deferral_deadline - now))
            return {"phase": "deferring", "waiting_for": owing, "peers": total,
                    "deferral_left": left}
        if not self.restart_done:
            if self._pending is None:  # ended before this object saw the event
                self._deferral_ended()
            else:
                self._recheck(list(self._pending))
        if not self.restart_done:
            assert self._pending is not None
            return {"phase": "sending", "waiting_for": sorted(self._pending),
                    "peers": self._sending_to, "deferral_left": None}
        return {"phase": "done", "waiting_for": [], "peers": self._sending_to,
                "deferral_left": None}


def instance_info(
    daemon: Daemon, config_path: str | None, readiness: JSON, now: float
) -> JSON:
    """What ``global.get`` answers: which bgprr this is, and whether it is ready."""
    g = daemon.config.global_
    return {
        "version": __version__,
        "pid": os.getpid(),
        "router_id": g.router_id,
        "local_as": g.asn,
        "cluster_id": reflector_cluster_id(daemon.config),
        "config": os.path.abspath(config_path) if config_path else None,
        "listen_port": g.port,
        "listen_addresses": list(g.local_address_list),
        "restarting": daemon.restarting,
        "uptime": max(0, int(now - daemon.started_at)),
        "neighbors": len(daemon.peers),
        "readiness": readiness,
    }

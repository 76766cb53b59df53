"""Prometheus metrics (``/metrics`` of ``--http HOST:PORT``; needs the ``metrics`` extra).

Values are read from the daemon when scraped, in the event loop (the asyncio HTTP
server of :mod:`bgprr.api.http`, so no thread ever walks the tables while the loop
changes them). The reflection latency histogram is fed by the daemon's output pump
(``Daemon.latency_observer``): the time from an UPDATE handed to the engine to the end of
the flush that wrote the resulting bytes to every dirty writable peer.
"""

from __future__ import annotations

import importlib.util
import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import views
from .http import parse_hostport

if TYPE_CHECKING:
    from bgprr.io.daemon import Daemon

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)
STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established")


def metrics_available() -> bool:
    return importlib.util.find_spec("prometheus_client") is not None


def metrics_unavailable(spec: str) -> str | None:
    """Why ``--metrics spec`` cannot work (one line), or None."""
    if not metrics_available():
        return "--metrics needs prometheus-client: pip install 'bgprr[metrics]'"
    try:
        parse_hostport(spec, "--metrics")
    except ValueError as exc:
        return str(exc)
    return None


class Collector:
    """Reads the daemon's state on every scrape."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def describe(self) -> list[Any]:
        return []  # no fixed description: collected on demand only

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        d = self.daemon
        engine = d.engine
        sessions = GaugeMetricFamily(
            "bgprr_sessions", "Neighbors by session state", labels=["state"]
        )
        counts = dict.fromkeys(STATES, 0)
        for runner in d.peers.values():
            counts[runner.session.state.value] += 1
        for state, n in counts.items():
            sessions.add_metric([state], n)
        yield sessions

        pfx = {
            kind: GaugeMetricFamily(
                f"bgprr_peer_prefixes_{kind}", f"Prefixes {kind} per neighbor", labels=["peer"]
            )
            for kind in ("received", "accepted", "advertised")
        }
        msgs = {
            way: CounterMetricFamily(
                f"bgprr_messages_{way}", f"BGP messages {way} by type", labels=["peer", "type"]
            )
            for way in ("received", "sent")
        }
        dropped = CounterMetricFamily(
            "bgprr_peer_prefixes_dropped",
            "Prefixes received and treated as withdrawn, per neighbor and reason "
            "(looped: our ORIGINATOR_ID or cluster id; as_loop: our AS in AS_PATH; "
            "treat_as_withdraw: RFC 7606)",
            labels=["peer", "reason"],
        )
        for key, runner in sorted(d.peers.items()):
            c = engine.counters(key)
            pfx["received"].add_metric([key], c.accepted + c.rejected)
            pfx["accepted"].add_metric([key], c.accepted)
            pfx["advertised"].add_metric([key], c.advertised)
            dropped.add_metric([key, "looped"], c.looped)
            dropped.add_metric([key, "as_loop"], c.as_loop)
            dropped.add_metric([key, "treat_as_withdraw"], c.treat_as_withdraw)
            for kind, n in sorted(runner.msg_in.items()):
                msgs["received"].add_metric([key, kind], n)
            for kind, n in sorted(runner.msg_out.items()):
                msgs["sent"].add_metric([key, kind], n)
        yield from pfx.values()
        yield dropped
        yield from msgs.values()

        notif = CounterMetricFamily(
            "bgprr_notifications",
            "NOTIFICATION messages by direction, code and subcode",
            labels=["direction", "code", "subcode"],
        )
        for (way, code, sub), n in sorted(d.notifications.items()):
            notif.add_metric([way, str(code), str(sub)], n)
        yield notif

        refused = CounterMetricFamily(
            "bgprr_connections_refused",
            "Accepted connections closed outside any session, by reason (docs/operations.md)",
            labels=["reason"],
        )
        for reason, n in sorted(d.refusals.total.items()):
            refused.add_metric([reason], n)
        yield refused
        removed = CounterMetricFamily(
            "bgprr_dynamic_neighbors_removed", "Dynamic neighbors removed after going down"
        )
        removed.add_metric([], d.reaped)
        yield removed
        held = GaugeMetricFamily(
            "bgprr_dynamic_connections_held",
            "Connections from dynamic ranges waiting for their first message (no neighbor yet)",
        )
        held.add_metric([], len(d.pending))
        yield held

        groups = GaugeMetricFamily("bgprr_update_groups", "Update groups", labels=["family"])
        sizes = GaugeMetricFamily(
            "bgprr_update_group_members", "Members per update group", labels=["family", "group"]
        )
        dests = GaugeMetricFamily(
            "bgprr_loc_rib_destinations", "Loc-RIB destinations", labels=["family"]
        )
        paths = GaugeMetricFamily("bgprr_loc_rib_paths", "Loc-RIB paths", labels=["family"])
        for fam in views.FAMILIES.values():
            name = views.family_name(fam)
            table = engine.table(fam)
            groups.add_metric([name], len(table.groups))
            for gkey, group in table.groups.items():
                sizes.add_metric([name, _group_label(gkey)], len(group.members))
            dests.add_metric([name], len(table.dests))
            paths.add_metric([name], sum(len(x.paths) for x in table.dests.values()))
        yield from (groups, sizes, dests, paths)

        interned = GaugeMetricFamily("bgprr_attribute_sets", "Interned path attribute sets")
        interned.add_metric([], len(engine.intern_table))
        yield interned

        kernel = self.daemon.kernel
        if kernel is not None:  # docs/kernel.md
            held = GaugeMetricFamily("bgprr_kernel_routes", "Routes of ours in the kernel")
            held.add_metric([], len(kernel.plan))
            pending = GaugeMetricFamily(
                "bgprr_kernel_pending",
                "Prefix changes not in the kernel yet (queued or being written)",
            )
            pending.add_metric([], kernel.pending)
            ops = CounterMetricFamily(
                "bgprr_kernel_operations", "Kernel route operations sent", labels=["op"]
            )
            st = kernel.stats
            for name, value in (
                ("add", st.added),
                ("replace", st.replaced),
                ("delete", st.deleted),
            ):
                ops.add_metric([name], value)
            skipped = CounterMetricFamily(
                "bgprr_kernel_not_installed",
                "Routes not installed: refused by the kernel, next hop unreachable or local",
                labels=["reason"],
            )
            for name, value in (
                ("refused", st.refused),
                ("unreachable", st.unresolved),
                ("local", st.local),
            ):
                skipped.add_metric([name], value)
            yield from (held, pending, ops, skipped)


def _group_label(gkey: Any) -> str:
    role = "ebgp" if gkey.ebgp else "client" if gkey.client else "ibgp"
    cluster = str(ipaddress.IPv4Address(gkey.cluster_id)) if gkey.cluster_id else "-"
    llgr = "/llgr" if gkey.llgr else ""
    return (
        f"{role}/as{4 if gkey.as4 else 2}/addpath{gkey.addpath}/max{gkey.max_len}"
        f"/cluster{cluster}{llgr}"
    )


class MetricsServer:
    """The registry (collector + latency histogram), rendered for ``/metrics``."""

    def __init__(self, daemon: Daemon) -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.daemon = daemon
        self.registry = CollectorRegistry()
        self.registry.register(Collector(daemon))
        self.latency = Histogram(
            "bgprr_reflection_latency_seconds",
            "UPDATE read from a peer -> bytes handed to the last peer's transport",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        daemon.latency_observer = self.latency.observe

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        data: bytes = generate_latest(self.registry)
        return data

    def close(self) -> None:
        """Stop feeding the latency histogram."""
        if self.daemon.latency_observer == self.latency.observe:
            self.daemon.latency_observer = None

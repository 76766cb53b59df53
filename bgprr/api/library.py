"""The library API: a route reflector inside the caller's event loop.

    async with RouteReflector("rr.toml") as rr:            # or a bgprr.config.Config
        rr.add_neighbor("10.0.0.5", 64512, rr_client=True)
        rr.originate("10.99.0.0/24", "10.0.0.1", communities=["64512:100"])
        async with rr.events() as stream:
            async for ev in stream: ...

Every query returns plain JSON-ready data (docs/api.md); the control API
(:mod:`bgprr.api.control`) and thus the CLI call these same methods. Runtime neighbor
changes survive a SIGHUP reload unless the file contradicts them (see :meth:`reload`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bgprr.config import Config, ConfigError, Neighbor, load_config, load_config_text
from bgprr.config.model import canonical_address
from bgprr.io.daemon import Daemon
from bgprr.io.runner import SessionRunner
from bgprr.reflect import types as rt
from bgprr.session import State, StateChanged
from bgprr.wire.attributes import PathAttrs, encode_as_path, encode_attribute
from bgprr.wire.constants import AFI, RouteRefreshSubtype
from bgprr.wire.prefix import key_to_str

from . import parse, views
from .errors import BadRequest, Exists, NotFound
from .events import BestPathChanged, EndOfRib, EventStream, PeerStateChanged
from .readiness import Readiness, instance_info

if TYPE_CHECKING:
    from .control import ControlServer
    from .http import HttpServer
    from .metrics import MetricsServer

log = logging.getLogger("bgprr.api")

JSON = dict[str, Any]
ORIGINS = {"igp": 0, "egp": 1, "incomplete": 2, "i": 0, "e": 1, "?": 2}
MATCHES = ("exact", "longer", "shorter")


class RouteReflector:
    """A bgprr route reflector; ``async with`` starts and stops it (see module doc)."""

    def __init__(
        self,
        config: Config | str | os.PathLike[str],
        *,
        config_type: str = "toml",
        graceful_restart: bool = False,
        state_dir: str | None = None,
        best_path_events: bool = True,
    ) -> None:
        self._config_path: str | None = None
        if isinstance(config, Config):
            self._initial = config
        else:
            self._config_path = os.fspath(config)
            self._initial = load_config(self._config_path, config_type)
        self._config_type = config_type
        self._graceful_restart = graceful_restart
        self._state_dir = state_dir
        self._best_path_events = best_path_events
        self._daemon: Daemon | None = None
        self._streams: list[EventStream] = []
        self._file_config = self._initial
        self._added: dict[str, Neighbor] = {}  # runtime-added, unlike the file's entry
        self._deleted: set[str] = set()  # runtime-deleted file neighbors
        self._control: ControlServer | None = None
        self._metrics: MetricsServer | None = None
        self._http: HttpServer | None = None
        self._ready: Readiness | None = None

    @classmethod
    def attach(cls, daemon: Daemon, *, config_path: str | None = None) -> RouteReflector:
        """Wrap a :class:`~bgprr.io.daemon.Daemon`, started or not (``bgprr --config``
        serves the control API before it starts; :meth:`readiness` says ``starting``)."""
        self = cls(daemon.config, config_type=daemon.config_type)
        self._config_path = config_path
        self._bind(daemon)
        return self

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._daemon is not None:
            raise RuntimeError("already started")
        daemon = Daemon(
            self._initial,
            graceful_restart=self._graceful_restart,
            state_dir=self._state_dir,
            config_type=self._config_type,
            best_path_events=self._best_path_events,
        )
        await daemon.start()
        self._bind(daemon)

    def _bind(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._file_config = daemon.config
        self._ready = Readiness(daemon)
        daemon.listeners.append(self._on_daemon_event)
        daemon.config_filter = self._merge_reload

    async def stop(self, *, graceful: bool = False) -> None:
        """Close every session (``graceful``: keep GR peers' routes, as on SIGTERM)."""
        await self.close_control()
        for stream in list(self._streams):
            stream.close()
        d = self._daemon
        if d is not None and not d.stopped.is_set():
            await d.stop(graceful=graceful)

    async def __aenter__(self) -> RouteReflector:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def daemon(self) -> Daemon:
        if self._daemon is None:
            raise RuntimeError("the route reflector is not started")
        return self._daemon

    @property
    def config(self) -> Config:
        """The configuration in effect (file plus runtime changes)."""
        return self.daemon.config

    def _now(self) -> float:
        return self.daemon.loop.time()

    # ------------------------------------------------------------------ identity, readiness

    def readiness(self) -> JSON:
        """``{"ready", "reason", "restart"}``: ready once started, listening and (after
        ``-r``) the graceful restart has completed (docs/api.md, Readiness)."""
        if self._ready is None:
            raise RuntimeError("the route reflector is not started")
        return self._ready.state(self._now())

    def info(self) -> JSON:
        """Which bgprr this is, and its :meth:`readiness` (``global.get``)."""
        return instance_info(self.daemon, self._config_path, self.readiness(), self._now())

    # ------------------------------------------------------------------ control / http

    async def serve_control(
        self,
        socket_path: str | None,
        metrics: str | None = None,
        *,
        tcp: str | None = None,
        token: str | None = None,
        http: str | None = None,
    ) -> None:
        """The control API on ``socket_path`` (mode 0600) and ``tcp`` (``127.0.0.1:PORT``,
        every request must carry ``token``); health and metrics on ``http`` (HOST:PORT;
        ``metrics``: the same, requiring prometheus-client). Raises OSError
        (:class:`~bgprr.api.control.SocketInUse`: a live process holds ``socket_path``)
        or ValueError, with nothing left serving."""
        from .control import ControlServer
        from .http import HttpServer
        from .metrics import MetricsServer, metrics_available

        if metrics and http and metrics != http:
            raise ValueError("--metrics is an alias of --http: give one address")
        if metrics and not metrics_available():
            raise ValueError("--metrics needs prometheus-client: pip install 'bgprr[metrics]'")
        try:
            if socket_path or tcp:
                self._control = ControlServer(self, token=token)
                if socket_path:
                    await self._control.listen_unix(socket_path)
                if tcp:
                    await self._control.listen_tcp(tcp)
            address = http or metrics
            if address:
                if metrics_available():
                    self._metrics = MetricsServer(self.daemon)
                self._http = HttpServer(self, self._metrics)
                await self._http.listen(address)
        except BaseException:
            await self.close_control()
            raise

    @property
    def control(self) -> ControlServer | None:
        """The control API server started by :meth:`serve_control`, if any."""
        return self._control

    @property
    def http(self) -> HttpServer | None:
        """The health/metrics HTTP server started by :meth:`serve_control`, if any."""
        return self._http

    @property
    def metrics(self) -> MetricsServer | None:
        """The Prometheus registry served on ``/metrics``, if any."""
        return self._metrics

    async def close_control(self) -> None:
        if self._control is not None:
            await self._control.close()
            self._control = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None

    # ------------------------------------------------------------------ events

    def events(self, maxsize: int = 1024) -> EventStream:
        """A new subscription: peer state changes, best-path changes (when built with
        ``best_path_events=True``), End-of-RIB. At most ``maxsize`` events wait; beyond
        that they are dropped and counted (an :class:`~bgprr.api.events.Overflow`)."""
        stream = EventStream(maxsize, self._streams.remove)
        self._streams.append(stream)
        return stream

    def _on_daemon_event(self, key: str, ev: object) -> None:
        if self._ready is not None:
            self._ready.on_event(key, ev)
        if not self._streams:
            return
        out: PeerStateChanged | BestPathChanged | EndOfRib | None = None
        if isinstance(ev, StateChanged):
            out = PeerStateChanged(peer=key, old=ev.old.value, new=ev.new.value, reason=ev.reason)
        elif isinstance(ev, rt.BestPathChanged):
            best = ev.best
            nh: str | None = None
            if best is not None:
                nh = views.next_hop_text(PathAttrs(best.attrs.raw), best.attrs.next_hop)
            out = BestPathChanged(
                family=views.family_name(ev.family),
                prefix=key_to_str(ev.key, ev.family[0]),
                next_hop=nh,
                source=None if best is None else best.peer.key if best.peer else "local",
            )
        elif isinstance(ev, rt.EndOfRibReceived | rt.EndOfRibSent):
            out = EndOfRib(
                peer=ev.key,
                family=views.family_name(ev.family),
                direction="received" if isinstance(ev, rt.EndOfRibReceived) else "sent",
            )
        if out is not None:
            for stream in self._streams:
                stream.push(out)

    # ------------------------------------------------------------------ neighbors: queries

    def _runner(self, address: str) -> SessionRunner:
        canon = canonical_address(address)
        runner = self.daemon.peers.get(canon or address)
        if runner is None:
            raise NotFound(f"neighbor {address} not found")
        return runner

    def neighbors(self) -> list[JSON]:
        """Every neighbor (static, runtime-added and connected dynamic ones), by address."""
        d = self.daemon
        now = self._now()
        runners = sorted(d.peers.values(), key=lambda r: parse.addr_order(r.key))
        return [views.neighbor_view(r, d.engine, now, detail=False) for r in runners]

    def neighbor(self, address: str) -> JSON:
        runner = self._runner(address)
        return views.neighbor_view(runner, self.daemon.engine, self._now(), detail=True)

    # ------------------------------------------------------------------ neighbors: changes

    def build_neighbor(
        self,
        address: str,
        peer_as: int,
        *,
        rr_client: bool = False,
        password: str | None = None,
        peer_group: str | None = None,
        passive: bool | None = None,
        description: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Neighbor:
        """The resolved neighbor, exactly as if written in the file: GoBGP keys
        (``settings`` is a GoBGP-schema neighbor table, e.g. ``{"timers": {"config":
        {"hold-time": 30}}}``) go through the configuration validator with the current
        global settings and peer groups. Raises BadRequest with the validator's message."""
        if canonical_address(address) is None:
            raise BadRequest(f"invalid neighbor address {address!r}")
        table: dict[str, Any] = json.loads(json.dumps(dict(settings or {})))
        conf = table.setdefault("config", {})
        if not isinstance(conf, dict):
            raise BadRequest("settings: config must be a table")
        conf["neighbor-address"] = address
        conf["peer-as"] = peer_as
        if password:
            conf["auth-password"] = password
        if peer_group:
            conf["peer-group"] = peer_group
        if description is not None:
            conf["description"] = description
        if rr_client:
            parse.table_at(table, "route-reflector", "config")["route-reflector-client"] = True
        if passive is not None:
            parse.table_at(table, "transport", "config")["passive-mode"] = passive
        g = self.config.global_
        doc = {
            "global": {
                "config": {
                    "as": g.asn,
                    "router-id": g.router_id,
                    "port": g.port,
                    "local-address-list": list(g.local_address_list),
                }
            },
            "peer-groups": [parse.group_table(pg) for pg in self.config.peer_groups],
            "neighbors": [table],
        }
        try:
            config = load_config_text(json.dumps(doc), "json", "<runtime neighbor>")
        except ConfigError as exc:
            raise BadRequest(str(exc)) from None
        return config.neighbors[0]

    def add_neighbor(self, address: str, peer_as: int, **options: Any) -> JSON:
        """Add and start a neighbor (options: those of :meth:`build_neighbor`)."""
        n = self.build_neighbor(address, peer_as, **options)
        if n.address in self.daemon.peers:
            raise Exists(f"neighbor {n.address} exists")
        self.daemon.add_neighbor(n)
        if self._file_config.neighbor(n.address) != n:
            self._added[n.address] = n  # differs from the file (or not in it): an overlay
        self._deleted.discard(n.address)
        log.info("neighbor %s added at run time", n.address)
        return self.neighbor(n.address)

    def remove_neighbor(self, address: str) -> None:
        runner = self._runner(address)
        key = runner.key
        self.daemon.remove_neighbor(key)
        if self._added.pop(key, None) is None and self._file_config.neighbor(key) is not None:
            self._deleted.add(key)
        log.info("neighbor %s deleted at run time", key)

    def reset_neighbor(self, address: str, *, message: str = "") -> None:
        """Hard reset: Cease / Administrative Reset, then the session comes back (a
        neighbor down after its prefix limit is started again)."""
        self._runner(address).admin_reset(message)

    def soft_reset_in(self, address: str, family: str | None = None) -> None:
        """Ask the neighbor to send its routes again (ROUTE-REFRESH)."""
        runner = self._runner(address)
        neg = runner.session.negotiated
        if runner.established is None or neg is None:
            raise BadRequest(f"neighbor {runner.key} is not established")
        if not neg.route_refresh:
            raise BadRequest(f"neighbor {runner.key} did not negotiate route refresh")
        for fam in self._families(neg.families, family):
            runner.route_refresh(fam[0], fam[1])

    def soft_reset_out(self, address: str, family: str | None = None) -> None:
        """Send the neighbor its whole Adj-RIB-Out again."""
        runner = self._runner(address)
        d = self.daemon
        if runner.established is None:
            raise BadRequest(f"neighbor {runner.key} is not established")
        for fam in self._families(d.engine.families(runner.key), family):
            d.engine.route_refresh_received(
                runner.key, fam[0], fam[1], RouteRefreshSubtype.NORMAL, self._now()
            )
        d.schedule_flush()

    @staticmethod
    def _families(have: Iterable[tuple[int, int]], family: str | None) -> list[tuple[int, int]]:
        fams = sorted(have)
        if family is None:
            return fams
        want = parse.family(family)
        if want not in fams:
            raise BadRequest(f"family {family} is not negotiated")
        return [want]

    def shutdown_neighbor(self, address: str, *, message: str = "") -> None:
        """Cease / Administrative Shutdown (with ``message``, RFC 9003); stays down."""
        self._runner(address).disable(message)

    def disable_neighbor(self, address: str, *, message: str = "") -> None:
        self.shutdown_neighbor(address, message=message)

    def enable_neighbor(self, address: str) -> None:
        """Start a neighbor that was shut down / disabled, or is down after its prefix
        limit."""
        self._runner(address).enable()

    # ------------------------------------------------------------------ reload

    def reload(self, path: str | None = None) -> None:
        """Re-read the configuration file (what SIGHUP does).

        Rule for runtime changes: the file wins for every neighbor address whose entry in
        the file changed since the last load (a new entry counts as changed); otherwise
        runtime changes are kept. So a runtime-added neighbor stays unless the file's entry
        for its address changed; a runtime-deleted one stays deleted unless its file entry
        changed; a runtime disable/enable stays unless the neighbor's file entry changed
        (the neighbor is then rebuilt from the file, ``admin-down`` included).
        """
        target = path or self._config_path
        if target is None:
            raise BadRequest("no configuration file to reload")
        self.daemon.reload(target)

    def _merge_reload(self, current: Config, new: Config) -> Config:
        old_file = self._file_config
        self._file_config = new
        by_addr = {n.address: n for n in new.neighbors}
        keep = list(new.neighbors)
        for addr in sorted(self._deleted):
            entry = by_addr.get(addr)
            if entry is not None and entry == old_file.neighbor(addr):
                keep.remove(entry)
            else:
                self._deleted.discard(addr)
        for addr, n in list(self._added.items()):
            entry = by_addr.get(addr)
            if entry is None:
                keep.append(n)
            elif entry == old_file.neighbor(addr):  # the file did not change it
                keep[keep.index(entry)] = n
            else:
                del self._added[addr]
        return replace(new, neighbors=tuple(keep))

    # ------------------------------------------------------------------ local routes

    def originate(
        self,
        prefix: str,
        next_hop: str,
        *,
        origin: str = "igp",
        as_path: Sequence[int] = (),
        med: int | None = None,
        local_pref: int | None = 100,
        communities: Iterable[str | int] = (),
        large_communities: Iterable[str | Sequence[int]] = (),
    ) -> None:
        """Originate (or replace) a local route; IPv6 next hops go as MP next hop."""
        afi, key = parse.prefix(prefix)
        try:
            nh = ipaddress.ip_address(next_hop)
        except ValueError:
            raise BadRequest(f"invalid next hop {next_hop!r}") from None
        if (nh.version == 4) != (afi == AFI.IPV4):
            raise BadRequest(f"next hop {next_hop} is not of the family of {prefix}")
        if origin.lower() not in ORIGINS:
            raise BadRequest(f"invalid origin {origin!r} (igp, egp or incomplete)")
        asns = [int.from_bytes(parse.u32(a, "AS number"), "big") for a in as_path]
        parts = [
            encode_attribute(0x40, 1, bytes((ORIGINS[origin.lower()],))),
            encode_attribute(0x40, 2, encode_as_path([(2, asns)] if asns else [])),
        ]
        if afi == AFI.IPV4:
            parts.append(encode_attribute(0x40, 3, nh.packed))
        if med is not None:
            parts.append(encode_attribute(0x80, 4, parse.u32(med, "med")))
        if local_pref is not None:
            parts.append(encode_attribute(0x40, 5, parse.u32(local_pref, "local_pref")))
        comms = [parse.community(c) for c in communities]
        if comms:
            value = b"".join(parse.u32(c, "community") for c in comms)
            parts.append(encode_attribute(0xC0, 8, value))
        larges = [parse.large_community(c) for c in large_communities]
        if larges:
            value = b"".join(b"".join(parse.u32(x, "large community") for x in c) for c in larges)
            parts.append(encode_attribute(0xC0, 32, value))
        mp_nh = nh.packed if afi == AFI.IPV6 else b""
        fam = (afi, 1)
        self.daemon.engine.originate(fam, key, b"".join(parts), mp_nh, self._now())
        self.daemon.schedule_flush()

    def withdraw(self, prefix: str) -> None:
        afi, key = parse.prefix(prefix)
        fam = (afi, 1)
        engine = self.daemon.engine
        if key not in engine.table(fam).local:
            raise NotFound(f"{prefix}: no such local route")
        engine.withdraw_local(fam, key, self._now())
        self.daemon.schedule_flush()

    # ------------------------------------------------------------------ RIBs

    def rib(
        self, family: str = "ipv4", prefix: str | None = None, match: str = "exact"
    ) -> list[JSON]:
        """Loc-RIB destinations (best path first in each). ``prefix`` with a length and
        ``match="exact"``: that destination; a bare address: the longest match;
        ``longer`` / ``shorter``: more specific / covering destinations."""
        build = self._rib_views(family, prefix, match)
        return [v for item in build.items if (v := build.one(item)) is not None]

    async def rib_async(
        self, family: str = "ipv4", prefix: str | None = None, match: str = "exact"
    ) -> list[JSON]:
        """:meth:`rib`, yielding to the event loop every :data:`CHUNK` destinations so
        that a large table does not hold up routing (what the control API uses)."""
        return await _chunked(self._rib_views(family, prefix, match))

    def _rib_views(self, family: str, prefix: str | None, match: str) -> _Build:
        fam = parse.family(family)
        if match not in MATCHES:
            raise BadRequest(f"invalid match {match!r} (exact, longer or shorter)")
        table = self.daemon.engine.table(fam)
        trie = table.trie
        afi = fam[0]
        items: list[tuple[int, Any]]
        if prefix is None:  # keys sort as the trie walks (address, then length), faster
            items = sorted(table.dests.items())
        else:
            pafi, key = parse.prefix(prefix)
            if pafi != afi:
                raise BadRequest(f"{prefix} is not an {family} prefix")
            if match == "longer":
                items = list(trie.longer(key))
            elif match == "shorter":
                items = trie.covering(key)
            elif "/" not in prefix:  # a bare address: longest match
                found = trie.longest_match(key)
                items = [found] if found is not None else []
            else:
                dest = trie.get(key)
                items = [(key, dest)] if dest is not None else []
        now = self._now()
        cache: views.AttrCache = {}

        def one(item: Any) -> JSON | None:
            k, d = item
            if d.best is None:  # gone meanwhile
                return None
            return views.route_view(k, afi, d.best, d.paths, now, cache)

        return _Build(items, one)

    def rib_summary(self) -> JSON:
        engine = self.daemon.engine
        fams: JSON = {}
        for name, fam in views.FAMILIES.items():
            table = engine.table(fam)
            fams[name] = {
                "destinations": len(table.dests),
                "paths": sum(len(d.paths) for d in table.dests.values()),
                "local": len(table.local),
                "update_groups": len(table.groups),
            }
        return {"families": fams, "attribute_sets": len(engine.intern_table)}

    def adj_rib_in(
        self, address: str, family: str = "ipv4", *, post_policy: bool = False
    ) -> list[JSON]:
        """What the neighbor sent (``post_policy``: after the import policy, rejected
        paths left out, rewritten ones as rewritten)."""
        build = self._adj_in_views(address, family, post_policy)
        return [v for item in build.items if (v := build.one(item)) is not None]

    async def adj_rib_in_async(
        self, address: str, family: str = "ipv4", post_policy: bool = False
    ) -> list[JSON]:
        return await _chunked(self._adj_in_views(address, family, post_policy))

    def _adj_in_views(self, address: str, family: str, post_policy: bool = False) -> _Build:
        runner = self._runner(address)
        fam = parse.family(family)
        now = self._now()
        cache: views.AttrCache = {}
        engine = self.daemon.engine
        get = engine.adj_rib_in_post if post_policy else engine.adj_rib_in
        items = get(runner.key, fam)
        return _Build(items, lambda item: views.adj_in_item(item, fam[0], now, cache))

    def adj_rib_out(self, address: str, family: str = "ipv4") -> list[JSON]:
        build = self._adj_out_views(address, family)
        return [v for item in build.items if (v := build.one(item)) is not None]

    async def adj_rib_out_async(self, address: str, family: str = "ipv4") -> list[JSON]:
        return await _chunked(self._adj_out_views(address, family))

    def _adj_out_views(self, address: str, family: str) -> _Build:
        runner = self._runner(address)
        fam = parse.family(family)
        cache: dict[tuple[bytes, bytes], JSON] = {}
        items = self.daemon.engine.adj_rib_out(runner.key, fam)
        return _Build(items, lambda item: views.adj_out_item(item, fam[0], cache))

    def global_policy(self) -> JSON:
        """The global import and export chains (every neighbor but route-server
        clients; docs/policy.md)."""
        pol = self.daemon.engine.policies()
        return views.policy_view((pol.global_import, pol.global_export), source="global")

    def neighbor_policy(self, address: str) -> JSON:
        """The chains that apply to the neighbor's routes: a route-server client's own,
        anyone else's the global ones."""
        runner = self._runner(address)
        chains = self.daemon.engine.peer_policies(runner.key)
        source = "neighbor" if runner.neighbor.rs_client else "global"
        out = views.policy_view(chains, source=source)
        out["address"] = runner.key
        return out

    def is_established(self, address: str) -> bool:
        return self._runner(address).session.state is State.ESTABLISHED


# ---------------------------------------------------------------------------- helpers

CHUNK = 2000  # views built between two yields to the event loop


@dataclass(frozen=True, slots=True)
class _Build:
    """Entries of a table snapshot and how to make the view of one (None: skip it)."""

    items: Sequence[Any]
    one: Callable[[Any], JSON | None]


async def _chunked(build: _Build) -> list[JSON]:
    out: list[JSON] = []
    for i, item in enumerate(build.items):
        view = build.one(item)
        if view is not None:
            out.append(view)
        if i % CHUNK == CHUNK - 1:
            await asyncio.sleep(0)
    return out

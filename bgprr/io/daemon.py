"""The daemon: listeners, peers, the engine and its timers, inside the caller's event loop.

It implements :class:`~bgprr.io.runner.RunnerHost` for its neighbors' runners. The
process around it (signals, the control API, metrics, logging) is wired by
:mod:`bgprr.app`.

Output is pull-based: whenever input changed the engine, one ``_flush`` is scheduled with
``call_soon``, so it runs after the event loop has handled the input already read in
this iteration (batching under load, immediate when idle). While input keeps coming
the flushes are paced: the next one starts no earlier than one flush's duration after
the last one ended, so output takes at most about half the loop's time and the rest
goes to reading (connections, OPENs, UPDATEs). Each flush costs a pull per dirty peer,
so pacing packs a burst of input (2000 clients announcing at once) into a few large
UPDATEs per peer instead of thousands of small ones; when idle the previous flush was
short and a change goes out at once. Output left over once input has stopped (a bulk
table to slow readers) is not paced. ``_flush`` asks the engine for
the bytes of each dirty peer whose transport can take more (write buffer under
``WRITE_HIGH``), writes them, and stops; a peer whose buffer is full gets nothing more
until ``resume_writing``. The engine keeps pending state per peer (latest wins), never a
message queue.

A flush pass ends after ``FLUSH_SLICE`` seconds of work; the peers it did not reach are
served first by the next pass, which the loop runs after reading again, so OPENs,
KEEPALIVEs and new connections never wait for a whole fan-out to thousands of sessions
(5,000 nodes reconnecting at once: the mesh back in 17 s instead of 27 s, and 123 MB of
RSS after the first mesh instead of 1,004 MB, docs/benchmarks.md "Scale").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from bgprr.config import (
    Config,
    ConfigError,
    Neighbor,
    config_diff,
    dynamic_member,
    dynamic_range_for,
    load_config,
)
from bgprr.config.model import canonical_address
from bgprr.io.policies import client_chains, compile_config
from bgprr.reflect.engine import ReflectionEngine
from bgprr.reflect.types import (
    BestPathChanged,
    PeerCaps,
    PeerReset,
    PrefixLimitWarning,
    SelectionDeferralEnded,
)
from bgprr.session import RouteRefreshReceived, SessionDown, State, StateChanged
from bgprr.wire.constants import FAMILY_NAMES
from bgprr.wire.errors import CeaseSub, ErrorCode
from bgprr.wire.messages import Notification, encode_message
from bgprr.wire.update import Update

from .connection import WRITE_HIGH, BGPConnection
from .guard import RefusalLog, TokenBucket
from .kernel import KernelSync
from .listener import Listener
from .outbound import listen
from .pending import PendingOpens
from .runner import SessionRunner
from .settings import (
    RangeHello,
    deferral_time,
    gr_enabled,
    ip_int,
    listener_md5_keys,
    peer_settings,
    range_hello,
    reflector_cluster_id,
    session_config,
)
from .sockopts import set_listener_md5
from .state import PeerStateFile, StateRecorder, load_expected_peers
from .trim import FloodTrim

log = logging.getLogger("bgprr")

FLUSH_SLICE = 0.05  # seconds of output work per flush pass (see the module's docstring)

#: A dynamic neighbor down (Idle or Active, no connection) this long, holding no routes
#: and owing no End-of-RIB, is removed (its memory and API entry go; it comes back as a
#: new neighbor when it connects again).
DYNAMIC_LINGER = 60.0
REAP_INTERVAL = 5.0  # seconds between two looks for such neighbors
# Connections accepted between two such looks that make a flood: the look after the
# first one without any new connection gives the C heap's free memory back
# ([global.config] malloc-trim), as does the look after one that removed dynamic
# neighbors.
FLOOD_CONNECTIONS = 100
_DOWN_STATES = (State.IDLE, State.ACTIVE)


def _without_policy(config: Config) -> Config:
    """``config`` with no neighbor apply-policy: what resets a session when it changes."""
    return replace(config, neighbors=tuple(replace(n, apply_policy=None) for n in config.neighbors))


class Daemon:
    """A running reflector inside the caller's event loop."""

    def __init__(
        self,
        config: Config,
        *,
        graceful_restart: bool = False,
        state_dir: str | None = None,
        config_type: str = "toml",
        best_path_events: bool = False,
    ) -> None:
        self.config = config
        self.config_type = config_type
        self.state_dir = state_dir
        self.loop = asyncio.get_running_loop()
        self.restarting = graceful_restart and gr_enabled(config)
        expected: frozenset[str] = frozenset()
        if self.restarting:
            static = {n.address for n in config.neighbors if n.graceful_restart.enabled}
            saved = load_expected_peers(state_dir) if state_dir else frozenset()
            expected = frozenset(static | set(saved))
        self.expected_peers = expected
        g = config.global_
        self.engine = ReflectionEngine(
            router_id=ip_int(g.router_id),
            local_as=g.asn,
            cluster_id=ip_int(reflector_cluster_id(config)),
            restarting=self.restarting,
            deferral_time=deferral_time(config),
            expected_peers=expected,
            now=self.loop.time(),
            best_path_events=best_path_events or config.kernel.enabled,
            multipath_events=config.kernel.enabled and config.kernel.multipath,
        )
        # Routing policy (docs/policy.md): compiled once per configuration.
        self.policies = compile_config(config)
        self.engine.set_policies(
            global_import=self.policies.global_import,
            global_export=self.policies.global_export,
        )
        # Best routes into the host's kernel ([zebra.config] enabled; docs/kernel.md).
        self._best_path_listeners = best_path_events
        self.kernel: KernelSync | None = None
        if config.kernel.enabled:
            self.kernel = KernelSync(config.kernel, restarting=self.restarting)
        self.peers: dict[str, SessionRunner] = {}
        self.servers: list[Listener] = []
        self.stopped = asyncio.Event()
        self.started = False  # start() done: neighbors started, listening (readiness)
        self.stopping = False  # stop() begun
        self.notifications: dict[tuple[str, int, int], int] = {}
        self._flush_scheduled = False
        self._flush_not_before = 0.0  # loop time: pacing of flushes under load
        self._input_seen = False  # bytes arrived from some peer since the last flush began
        self._flush_rest: list[str] = []  # dirty peers the last pass did not reach
        self._engine_timer: asyncio.TimerHandle | None = None
        self._engine_timer_at: float | None = None
        self._state_file = PeerStateFile(state_dir) if state_dir else None
        self._state = StateRecorder(self.loop, self._state_file, self._state_peers)
        self.started_at = self.loop.time()
        # Hooks for bgprr.api (events, metrics, runtime changes); empty: no cost.
        # listeners(peer key or "", event): session StateChanged and engine events.
        self.listeners: list[Callable[[str, object], None]] = []
        # Reflection latency: UPDATE handed to the engine -> the following flush done.
        self.latency_observer: Callable[[float], None] | None = None
        self._update_t0: float | None = None
        # Reload: adjusts the file's new configuration (runtime changes kept).
        self.config_filter: Callable[[Config, Config], Config] | None = None
        # Connection floods (bgprr.io.guard): connections not from a configured neighbor
        # take a token; dynamic neighbors counted per range; refusals logged in summary.
        self.bucket = TokenBucket(g.connection_rate, g.connection_burst, self.loop.time())
        self.refusals = RefusalLog(self.loop)
        self._range_of: dict[str, str] = {}  # dynamic neighbor -> its range's prefix
        self._range_members: dict[str, set[str]] = {}  # prefix -> dynamic neighbors
        self._range_hellos: dict[str, RangeHello] = {}  # prefix -> our OPEN to its members
        self.pending = PendingOpens(self.loop, self._promote, self.refusals.note)
        self.dynamic_linger = DYNAMIC_LINGER
        self.reap_interval = REAP_INTERVAL
        self.reaped = 0  # dynamic neighbors removed since start
        self._reap_handle: asyncio.TimerHandle | None = None
        self._accepted = 0  # connections accepted since start
        self.trim = FloodTrim(FLOOD_CONNECTIONS)  # gives a flood's memory back (_reap)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._state_file is not None:
            self._state_file.probe()
        if self.kernel is not None:
            await self.kernel.start()
        for n in self.config.neighbors:
            self._add_peer(n)
        await self._listen()
        for runner in self.peers.values():
            runner.start()
        if self.restarting:
            log.info("restarting speaker: waiting for End-of-RIB from %s", "peers")
        self.started = True
        self._reap_handle = self.loop.call_later(self.reap_interval, self._reap)
        self._after_engine_change()

    def _any_gtsm(self) -> bool:
        if any(n.ttl_security_min is not None for n in self.config.neighbors):
            return True
        return any(g.get("ttl-security.config.enabled") is True for g in self.config.peer_groups)

    async def _listen(self) -> None:
        g = self.config.global_
        if g.port < 0:
            return
        for address in g.local_address_list:
            try:
                server, _sock = await listen(
                    address, g.port, self._on_accept, gtsm=self._any_gtsm()
                )
            except OSError as exc:
                if address == "::" and len(g.local_address_list) > 1:
                    log.warning("not listening on [::]:%d: %s", g.port, exc)
                    continue
                raise
            self.servers.append(server)
            log.info("listening on %s port %d", address, g.port)
        self._update_listener_passwords()

    async def stop(self, *, graceful: bool | None = None, text: str = "") -> None:
        """Close every session and the listeners.

        ``graceful`` (default: when graceful restart is configured) closes the TCP
        connections of peers that negotiated GR without a NOTIFICATION, so that they keep
        our routes until the next start with ``-r`` (BIRD ends GR on any NOTIFICATION);
        others get Cease / Administrative Shutdown. ``graceful=False`` withdraws
        everything: every peer gets the NOTIFICATION.
        """
        self.stopping = True
        if self.kernel is not None:
            self.kernel.freeze()  # sessions closing below must not rewrite the kernel
        if self._reap_handle is not None:
            self._reap_handle.cancel()
        self.refusals.close()
        self.pending.close()
        self._state.rewrite()
        for server in self.servers:
            server.close()
        for runner in self.peers.values():
            neg = runner.session.negotiated
            keep = (
                graceful is not False
                and runner.established is not None
                and (neg is not None and neg.peer_gr is not None)
            )
            if keep:
                runner.close_silently()
            else:
                runner.shutdown(text)
        # Let NOTIFICATIONs and FINs go out.
        await asyncio.sleep(0.2)
        for runner in self.peers.values():
            runner.close_silently()
        if self._engine_timer is not None:
            self._engine_timer.cancel()
        if self.kernel is not None:
            # kept for a restart with -r when the peers keep our routes too
            await self.kernel.stop(keep=graceful is not False and gr_enabled(self.config))
        self.stopped.set()

    def _add_peer(self, n: Neighbor) -> SessionRunner:
        config = session_config(self.config, n, restarting=self.restarting)
        runner = SessionRunner(self, n, config, self.loop)
        self.peers[n.address] = runner
        if n.rs_client:  # its own chains (gobgpd), set before the engine knows it
            self.engine.set_local_policy(n.address, *client_chains(self.policies, n))
        self.engine.configure_peer(peer_settings(self.config, n))
        return runner

    def add_neighbor(self, n: Neighbor) -> SessionRunner:
        """Configure and start a neighbor at run time (``n`` joins ``config.neighbors``
        unless it is dynamic)."""
        if n.address in self.peers:
            raise ValueError(f"neighbor {n.address} exists")
        if not n.dynamic:
            self.config = replace(self.config, neighbors=(*self.config.neighbors, n))
        runner = self._add_peer(n)
        self._update_listener_passwords()
        runner.start()
        return runner

    def remove_neighbor(self, key: str) -> bool:
        """Stop (Cease / peer de-configured) and forget a neighbor; False if unknown."""
        if key not in self.peers:
            return False
        self.config = replace(
            self.config, neighbors=tuple(n for n in self.config.neighbors if n.address != key)
        )
        self._remove_peer(
            key, Notification(code=ErrorCode.CEASE, subcode=CeaseSub.PEER_DECONFIGURED)
        )
        return True

    def _remove_peer(self, key: str, notification: Notification | None) -> None:
        runner = self.peers.pop(key, None)
        if runner is None:
            return
        prefix = self._range_of.pop(key, None)
        if prefix is not None:
            members = self._range_members[prefix]
            members.discard(key)
            if not members:  # a set keeps the table of its largest size (a flood's)
                del self._range_members[prefix]
        runner.stop(notification)
        runner.close_silently()
        self.engine.remove_peer(key, self.loop.time())
        self._after_engine_change()

    # ------------------------------------------------------------------ reload (SIGHUP)

    def reload(self, path: str) -> None:
        try:
            new = load_config(path, self.config_type)
        except ConfigError as exc:
            log.error("reload refused: %s", exc)
            return
        if self.config_filter is not None:
            new = self.config_filter(self.config, new)
        self.apply_config(new)

    def apply_config(self, new: Config) -> None:
        """Make the neighbors of ``new`` the configured ones (reset changed ones) and its
        routing policy the one applied: a change of policy only (an apply-policy, a set,
        a definition) resets no session, the engine sends the differences."""
        if new.global_ != self.config.global_:
            log.warning("reload: [global] changes need a restart; applying neighbors only")
        added, removed, changed = config_diff(_without_policy(self.config), _without_policy(new))
        old = self.config
        self._range_hellos.clear()
        self.config = Config(
            source=new.source,
            global_=old.global_,
            neighbors=new.neighbors,
            peer_groups=new.peer_groups,
            dynamic_neighbors=new.dynamic_neighbors,
            policy=new.policy,
            kernel=old.kernel,
        )
        for runner in self.peers.values():  # the new apply-policy of unchanged neighbors
            if runner.neighbor.dynamic:
                continue
            n = self.config.neighbor(runner.key)
            if n is not None and n.apply_policy != runner.neighbor.apply_policy:
                runner.neighbor = n
        self.apply_policies()
        deconfigured = Notification(code=ErrorCode.CEASE, subcode=CeaseSub.PEER_DECONFIGURED)
        for key in removed:
            log.info("reload: neighbor %s removed", key)
            self._remove_peer(key, deconfigured)
        for key in changed:
            log.info("reload: neighbor %s changed; resetting it", key)
            self._remove_peer(
                key,
                Notification(code=ErrorCode.CEASE, subcode=CeaseSub.OTHER_CONFIGURATION_CHANGE),
            )
            n = self.config.neighbor(key)
            if n is not None:
                self._add_peer(n).start()
        for key in added:
            log.info("reload: neighbor %s added", key)
            n = self.config.neighbor(key)
            if n is not None:
                self._add_peer(n).start()
        self._update_listener_passwords()

    def apply_policies(self) -> None:
        """Compile the configuration's policies and hand them to the engine (which
        re-evaluates its tables and sends only what changed)."""
        self.policies = compile_config(self.config)
        clients = {
            key: client_chains(self.policies, r.neighbor)
            for key, r in self.peers.items()
            if r.neighbor.rs_client
        }
        self.engine.set_policies(
            global_import=self.policies.global_import,
            global_export=self.policies.global_export,
            neighbors={k: v for k, v in clients.items() if v != (None, None)},
        )
        self._after_engine_change()

    def _update_listener_passwords(self) -> None:
        """TCP-MD5 keys on the listening sockets (settings.listener_md5_keys), so that
        the SYNs of signed peers are accepted."""
        keys = listener_md5_keys(self.config)
        for server in self.servers:
            for sock in server.sockets:
                for where, exc in set_listener_md5(sock, keys):
                    log.warning("TCP-MD5 for %s: %s", where, exc)

    # ------------------------------------------------------------------ accepting

    def _on_accept(self, conn: BGPConnection) -> None:
        """A configured neighbor's connection goes to its runner, unlimited. Any other
        takes a token (``connection-rate``); then it must come from a dynamic range whose
        ``max-sessions`` (dynamic neighbors and connections waiting) is not reached; it
        waits in ``pending`` until the peer's first message (bgprr.io.pending). Refused:
        Cease / Connection Rejected (RFC 4486 §4: a connection disallowed after it was
        accepted), then close."""
        self._accepted += 1
        address = conn.peer_address
        runner = self.peers.get(address)
        if runner is not None and not runner.neighbor.dynamic:
            runner.accept(conn)
            return
        if not self.bucket.take(self.loop.time()):
            self._refuse(conn, "over connection-rate")
            return
        if runner is not None:  # a dynamic neighbor connecting again
            runner.accept(conn)
            return
        entry = dynamic_range_for(self.config, address)
        if entry is None:
            self._refuse(conn, "no neighbor or dynamic range")
            return
        held = len(self._range_members.get(entry.prefix, ())) + self.pending.count(entry.prefix)
        if entry.max_sessions and held >= entry.max_sessions:
            self._refuse(conn, f"{entry.prefix} at max-sessions {entry.max_sessions}")
            return
        hello = self._range_hellos.get(entry.prefix)
        if hello is None:
            hello = range_hello(self.config, entry, restarting=self.restarting)
            if hello is None:
                self._refuse(conn, "no neighbor or dynamic range")
                return
            self._range_hellos[entry.prefix] = hello
        self.pending.add(conn, entry.prefix, hello)

    def _promote(self, conn: BGPConnection, prefix: str, sent: bytes, data: list[bytes]) -> None:
        """A held connection's acceptable OPEN came: the dynamic neighbor now."""
        runner = self.peers.get(conn.peer_address) or self._new_dynamic(conn.peer_address)
        if runner is None:  # its range was removed since it came
            self._refuse(conn, "no neighbor or dynamic range")
            return
        conn.detach(data)
        if runner.session.open_bytes != sent:  # the range's settings changed since
            self._refuse(conn, "settings changed", CeaseSub.OTHER_CONFIGURATION_CHANGE)
            return
        runner.accept(conn, open_sent=True)

    def _new_dynamic(self, address: str) -> SessionRunner | None:
        entry = dynamic_range_for(self.config, address)
        if entry is None:
            return None
        n = dynamic_member(self.config, entry, canonical_address(address) or address)
        if n is None:
            return None
        log.debug("dynamic neighbor %s (peer group %s)", address, n.peer_group)
        runner = self._add_peer(n)
        self._range_members.setdefault(entry.prefix, set()).add(runner.key)
        self._range_of[runner.key] = entry.prefix
        runner.start()
        return runner

    def _refuse(
        self, conn: BGPConnection, reason: str, sub: CeaseSub = CeaseSub.CONNECTION_REJECTED
    ) -> None:
        self.refusals.note(reason, conn.peer_address)
        conn.write(encode_message(Notification(code=ErrorCode.CEASE, subcode=sub)))
        conn.close()

    def dynamic_count(self, prefix: str) -> int:
        """Dynamic neighbors of the ``[[dynamic-neighbors]]`` range ``prefix`` now."""
        return len(self._range_members.get(prefix, ()))

    def _reap(self) -> None:
        """Remove the dynamic neighbors that are down and hold nothing (DYNAMIC_LINGER)."""
        self._reap_handle = self.loop.call_later(self.reap_interval, self._reap)
        now = self.loop.time()
        linger = self.dynamic_linger
        gone = [
            key
            for key, r in self.peers.items()
            if r.neighbor.dynamic
            and not r.conns
            and r.session.state in _DOWN_STATES
            and now - r.state_since >= linger
            and not r.admin_down
            and not r.pfx_limit_down
            and not self.engine.holds_routes(key)
        ]
        for key in gone:
            self._remove_peer(key, None)
        self.trim.look(self._accepted, removed=bool(gone), enabled=self.config.global_.malloc_trim)
        if gone:
            self.reaped += len(gone)
            log.info(
                "removed %d dynamic neighbors (%s%s): down for %g s, holding no routes",
                len(gone),
                ", ".join(gone[:3]),
                ", ..." if len(gone) > 3 else "",
                linger,
            )

    # ------------------------------------------------------------------ session callbacks

    def on_input(self) -> None:
        self._input_seen = True

    def on_state_change(self, runner: SessionRunner, out: StateChanged) -> None:
        for listener in self.listeners:
            listener(runner.key, out)

    def on_notification(self, runner: SessionRunner, data: bytes, *, sent: bool) -> None:
        if len(data) >= 21:
            key = ("sent" if sent else "received", data[19], data[20])
            self.notifications[key] = self.notifications.get(key, 0) + 1

    def on_established(self, runner: SessionRunner, caps: PeerCaps, now: float) -> None:
        self.engine.peer_established(runner.key, caps, now)
        self._state.up(runner.key)
        self._after_engine_change()

    def on_update(self, runner: SessionRunner, update: Update, now: float) -> None:
        if self._update_t0 is None and self.latency_observer is not None:
            self._update_t0 = self.loop.time()
        self.engine.update_received(runner.key, update, now)
        self._after_engine_change()

    def on_route_refresh(
        self, runner: SessionRunner, out: RouteRefreshReceived, now: float
    ) -> None:
        self.engine.route_refresh_received(runner.key, out.afi, out.safi, out.subtype, now)
        self._after_engine_change()

    def on_down(self, runner: SessionRunner, out: SessionDown, now: float) -> None:
        got = out.notification_received
        if got is not None:
            nkey = ("received", got.code, got.subcode)
            self.notifications[nkey] = self.notifications.get(nkey, 0) + 1
        self.engine.peer_down(runner.key, now, graceful=out.graceful)
        self._state.down(runner.key)
        self._after_engine_change()

    # ------------------------------------------------------------------ output pump

    def _after_engine_change(self) -> None:
        self.schedule_flush()

    def schedule_flush(self, *, paced: bool = True) -> None:
        """Flush at the end of this loop iteration; ``paced`` (new input): not before the
        pacing deadline. Output-bound continuations (a transport that can take more) are
        not paced: waiting would only leave the loop idle."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            if paced and self.loop.time() < self._flush_not_before:
                self.loop.call_at(self._flush_not_before, self._flush)
            else:
                self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        now = self.loop.time()
        self._input_seen = False
        try:
            more = self._flush_peers()
        finally:
            end = self.loop.time()
            self._flush_not_before = end + (end - now)
        if more:  # some peer stopped at its budget with more to send
            # paced only while input keeps coming (the loop has other work then)
            self.schedule_flush(paced=self._input_seen)

    def _flush_order(self) -> list[str]:
        """This pass's dirty peers: those the last pass did not reach first."""
        dirty = self.engine.dirty_peers()
        rest = self._flush_rest
        if not rest:
            return dirty
        self._flush_rest = []
        now_dirty = set(dirty)
        first = [k for k in rest if k in now_dirty]
        if not first:
            return dirty
        seen = set(first)
        return first + [k for k in dirty if k not in seen]

    def _flush_peers(self) -> bool:
        """One pull per dirty, writable peer, for at most ``FLUSH_SLICE`` seconds; True
        if some peer may take more at once (or was not reached)."""
        more = False
        time = self.loop.time
        deadline = time() + FLUSH_SLICE
        order = self._flush_order()
        for i, key in enumerate(order):
            runner = self.peers.get(key)
            if runner is None:
                continue
            conn = runner.established
            if conn is None or not conn.writable or conn.closed:
                continue
            budget = WRITE_HIGH - conn.buffered()
            if budget <= 0:
                continue
            msgs = self.engine.pull(key, budget)
            if msgs and runner.send_updates(msgs):
                # output-bound (its budget ran out, it can take more): continue at once
                more = more or (conn.writable and self.engine.pull_full)
            if time() > deadline and i + 1 < len(order):
                self._flush_rest = order[i + 1 :]
                more = True
                break
        if self._update_t0 is not None:
            if self.latency_observer is not None:
                self.latency_observer(self.loop.time() - self._update_t0)
            self._update_t0 = None
        self._handle_engine_events()
        self._rearm_engine_timer()
        return more

    def _handle_engine_events(self) -> None:
        events = self.engine.poll_events()
        kernel = self.kernel
        if kernel is not None:
            kernel.changes(events)
            if kernel.hold and not self.engine.deferring:
                kernel.deferral_ended()
        for ev in events:
            if type(ev) is BestPathChanged and not self._best_path_listeners:
                continue  # asked for by the kernel routes only
            for listener in self.listeners:
                listener("", ev)
            if isinstance(ev, PeerReset):
                runner = self.peers.get(ev.key)
                log.warning("peer %s: %s", ev.key, ev.reason)
                if runner is None:
                    continue
                notif = Notification(code=ev.code, subcode=ev.subcode, data=ev.data)
                runner.engine_reset(notif, ev.idle_s)
            elif isinstance(ev, PrefixLimitWarning):
                family = FAMILY_NAMES.get(ev.family, str(ev.family))
                log.warning(
                    "peer %s: %d prefixes in %s, limit %d", ev.key, ev.count, family, ev.max
                )
            elif isinstance(ev, SelectionDeferralEnded):
                log.info("restarting speaker: sending our tables (%s)", ev.reason)
                self._state.changed()  # expected peers that never came back

    def _rearm_engine_timer(self) -> None:
        deadline = self.engine.next_timer()
        if deadline is None:
            if self._engine_timer is not None:
                self._engine_timer.cancel()
                self._engine_timer = None
            return
        if self._engine_timer is not None and self._engine_timer_at == deadline:
            return
        if self._engine_timer is not None:
            self._engine_timer.cancel()
        self._engine_timer_at = deadline
        self._engine_timer = self.loop.call_at(deadline, self._on_engine_timer)

    def _on_engine_timer(self) -> None:
        self._engine_timer = None
        self._engine_timer_at = None
        try:
            self.engine.handle_timer(self.loop.time())
        except Exception:
            log.exception("engine timer failed")
        self.schedule_flush()

    def memory_figures(self) -> dict[str, int]:
        """Sizes of the tables that hold memory (for bgprr.io.memprobe)."""
        eng = self.engine
        return {
            "peers": len(self.peers),
            "attr_sets": len(eng.intern_table),
            "shared_states": len(eng.shared_states),
        }

    # ------------------------------------------------------------------ state file

    @property
    def state_problem(self) -> str | None:
        """Why the graceful-restart state cannot be recorded (None when it can, or when
        there is no state directory): see bgprr.io.state."""
        return None if self._state_file is None else self._state_file.problem

    def _state_peers(self) -> set[str]:
        """Established peers, and while deferring (restarting) the peers still owed."""
        up = {k for k, r in self.peers.items() if r.established is not None}
        if self.engine.deferring:
            up |= self.expected_peers
        return up


__all__ = ["Daemon"]

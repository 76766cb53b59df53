"""Two :class:`~bgprr.session.fsm.Session` objects wired together in memory (tests).

Like h11's ``ConnectionPair``: ``Connect`` from one side opens a connection that the
other side sees as inbound, ``Send`` and ``SendMany`` bytes arrive at the other side,
``Close`` makes the other side see ``connection_lost``. Time is a fake clock moved by
:meth:`advance`. Every output each side produced is kept in ``log[side]`` in order.
"""

from __future__ import annotations

from bgprr.session import AbortConnect, Close, Connect, Output, Send, SendMany, Session


class PeerPair:
    def __init__(
        self, a: Session, b: Session, *, now: float = 0.0, auto_connect: bool = True
    ) -> None:
        self.peers = (a, b)
        self.now = now
        self.auto_connect = auto_connect
        self.log: tuple[list[Output], list[Output]] = ([], [])
        self.pending: list[int] = []  # sides with an outbound attempt not yet completed
        self.links: dict[int, tuple[int, bool]] = {}  # conn_id -> (initiator side, open)
        self._next_id = 1

    @property
    def a(self) -> Session:
        return self.peers[0]

    @property
    def b(self) -> Session:
        return self.peers[1]

    def connect(self, side: int) -> int:
        """Complete a pending (or new) outbound connection from ``side``; returns its id."""
        if side in self.pending:
            self.pending.remove(side)
        cid = self._next_id
        self._next_id += 1
        self.links[cid] = (side, True)
        self.peers[side].connection_made(cid, self.now, inbound=False)
        self.peers[1 - side].connection_made(cid, self.now, inbound=True)
        return cid

    def pump(self) -> None:
        """Deliver outputs until both sides are quiet."""
        busy = True
        while busy:
            busy = False
            for side in (0, 1):
                outs = self.peers[side].poll()
                if outs:
                    busy = True
                for out in outs:
                    self.log[side].append(out)
                    self._act(side, out)

    def _act(self, side: int, out: Output) -> None:
        other = self.peers[1 - side]
        if isinstance(out, Connect):
            self.pending.append(side)
            if self.auto_connect:
                self.connect(side)
        elif isinstance(out, AbortConnect):
            if side in self.pending:
                self.pending.remove(side)
        elif isinstance(out, Send):
            if self.links.get(out.conn_id, (0, False))[1]:
                other.data_received(out.conn_id, out.data, self.now)
        elif isinstance(out, SendMany):
            if self.links.get(out.conn_id, (0, False))[1]:
                for data in out.messages:
                    other.data_received(out.conn_id, data, self.now)
        elif isinstance(out, Close):
            link = self.links.get(out.conn_id)
            if link is not None and link[1]:
                self.links[out.conn_id] = (link[0], False)
                other.connection_lost(out.conn_id, self.now)

    def drop(self, conn_id: int) -> None:
        """The network loses connection ``conn_id``: both sides see ``connection_lost``."""
        self.links[conn_id] = (self.links[conn_id][0], False)
        for peer in self.peers:
            peer.connection_lost(conn_id, self.now)

    def advance(self, seconds: float) -> None:
        """Move the clock, firing every timer that falls due on the way, in order."""
        end = self.now + seconds
        while True:
            self.pump()
            due = [t for t in (p.next_timer() for p in self.peers) if t is not None and t <= end]
            if not due:
                break
            self.now = max(self.now, min(due))
            for peer in self.peers:
                peer.handle_timer(self.now)
        self.now = end
        self.pump()

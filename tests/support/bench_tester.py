"""A stand-in for the load tester's ``Tester`` where a peer is driven by hand: what a
receiving peer reads from it (its loop, its connection statistics) and its goal count."""

from __future__ import annotations

import asyncio

from bench.loadtester import Stats


class NullTester:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.stats = Stats()
        self.goals = 0

    def on_goal(self, peer: object) -> None:
        self.goals += 1

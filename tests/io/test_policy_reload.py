"""Routing policy in a running daemon: a reload (SIGHUP's path) that changes only the
policy resets no session and sends only the changed prefixes."""

from __future__ import annotations

from pathlib import Path

from bgprr.wire.constants import IPV4_UNICAST
from tests.io.test_daemon_loopback import (
    RR,
    Start,
    established,
    free_port,
    key,
    originate,
    routes,
    rr_config,
    start,
    start_b_and_c,
)
from tests.loopback import wait_for

__all__ = ["start"]  # the fixture

REJECT_TEN2 = """
[[defined-sets.prefix-sets]]
prefix-set-name = "ten2"
[[defined-sets.prefix-sets.prefix-list]]
ip-prefix = "10.2.0.0/16"
masklength-range = "16..32"

[[policy-definitions]]
name = "no-ten2"
[[policy-definitions.statements]]
[policy-definitions.statements.conditions.match-prefix-set]
prefix-set = "ten2"
[policy-definitions.statements.actions]
route-disposition = "reject-route"
"""

APPLY = """
[global.apply-policy.config]
import-policy-list = ["no-ten2"]
"""


def with_policy(text: str, policy: str, apply: str) -> str:
    """``policy`` appended, ``apply`` put right after the [global.config] table."""
    head, rest = text.split("[[neighbors]]", 1)
    return head + apply + "\n" + policy + "\n[[neighbors]]" + rest


async def test_reload_applies_policy_without_reset_and_sends_differences(
    start: Start, tmp_path: Path
) -> None:
    port = free_port()
    base = rr_config(port, ["127.0.0.2", "127.0.0.3"])
    rr, b, c = await start_b_and_c(start, base, port)
    originate(b, ["10.2.0.0/26", "10.3.0.0/26"])
    await wait_for(lambda: len(routes(c)) == 2)
    before = c.engine.counters(RR)
    sessions = {k: r.session for k, r in rr.peers.items()}

    path = tmp_path / "rr.toml"
    path.write_text(with_policy(base, REJECT_TEN2, APPLY))
    rr.reload(str(path))
    await wait_for(lambda: key("10.2.0.0/26") not in routes(c))
    assert key("10.3.0.0/26") in routes(c)
    after = c.engine.counters(RR)
    # only the changed prefix: one withdrawal, nothing re-announced
    assert (after.received - before.received, after.withdrawn - before.withdrawn) == (0, 1)
    assert rr.engine.counters("127.0.0.2").rejected == 1
    assert len(rr.engine.adj_rib_in("127.0.0.2", IPV4_UNICAST)) == 2
    assert all(rr.peers[k].session is s for k, s in sessions.items())
    assert established(rr, "127.0.0.2") and established(rr, "127.0.0.3")

    # back to no policy: the prefix returns, still no reset
    path.write_text(base)
    rr.reload(str(path))
    await wait_for(lambda: key("10.2.0.0/26") in routes(c))
    final = c.engine.counters(RR)
    assert (final.received - after.received, final.withdrawn - after.withdrawn) == (1, 0)
    assert all(rr.peers[k].session is s for k, s in sessions.items())

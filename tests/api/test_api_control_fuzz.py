"""Fuzz the control API's request handling: any line gets a well-formed reply, and no
combination of method and parameter values is an internal error."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgprr.api import schema
from bgprr.api.control import METHODS, handle_request
from bgprr.api.library import RouteReflector
from bgprr.config import Neighbor, load_config_text
from bgprr.io.runner import SessionRunner

CONFIG = """
[global.config]
as = 64511
router-id = "127.0.6.1"
port = -1

[[peer-groups]]
[peer-groups.config]
peer-group-name = "g"
peer-as = 64511

[[neighbors]]
[neighbors.config]
neighbor-address = "127.0.6.2"
peer-as = 64511
[neighbors.transport.config]
remote-port = 1
"""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 40), max_value=1 << 40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "10.0.0.0/8", "127.0.6.2", "2001:db8::/32", "ipv6", "x:y", "1:2",
                       "1:2:3", "longer", "g", "::1", "10.0.0.1"])
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=4),
    max_leaves=8,
)


def param_names() -> list[str]:
    names = {name for spec, _ in METHODS.values() for name in spec}
    return sorted(names | {"timers", "config"})


requests = st.fixed_dictionaries(
    {"id": json_values, "method": st.sampled_from(sorted(METHODS))},
    optional={
        "params": st.dictionaries(st.sampled_from(param_names()), json_values, max_size=5)
    },
)


def test_fuzz_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.new_event_loop()
    try:
        rr = loop.run_until_complete(_start(monkeypatch))

        @settings(max_examples=300, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(req=requests)
        def one(req: dict[str, Any]) -> None:
            if req["method"] == "config.reload":
                return  # re-reads a file: not what this test is about
            reply = loop.run_until_complete(
                handle_request(rr, json.dumps(req).encode(), None)
            )
            schema.validate(reply, schema.REPLY)
            if "error" in reply:
                assert reply["error"]["code"] != "internal", (req, reply)
            else:
                schema.validate(reply["result"], schema.RESULTS[req["method"]])

        @settings(max_examples=200, deadline=None)
        @given(line=st.binary(max_size=64))
        def raw(line: bytes) -> None:
            reply = loop.run_until_complete(handle_request(rr, line, None))
            schema.validate(reply, schema.REPLY)

        one()
        raw()
        loop.run_until_complete(rr.stop())
    finally:
        loop.close()


async def _start(monkeypatch: pytest.MonkeyPatch) -> RouteReflector:
    rr = RouteReflector(load_config_text(CONFIG))
    await rr.start()
    daemon = rr.daemon
    real_add = daemon.add_neighbor

    def loopback_only(n: Neighbor) -> SessionRunner:
        # Team rule: never connect anywhere but loopback. A fuzzed neighbor.add of another
        # address is validated as usual, then started passive (it never connects out).
        if not ipaddress.ip_address(n.address).is_loopback:
            n = replace(n, passive=True)
        return real_add(n)

    monkeypatch.setattr(daemon, "add_neighbor", loopback_only)
    return rr

"""Routing policy applied by the engine (bgprr.reflect.policyapply), in process: what
each neighbor is sent, checked byte for byte, with gobgpd 3.10's semantics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.policy import compile_policies
from bgprr.reflect.types import PeerReset
from bgprr.wire.update import pack_withdrawals
from tests.policy.helpers import config
from tests.reflect.test_ebgp import LOCAL_AS, P1, P2, F, Net, ebgp_in, ip, upd
from tests.support.harness import announce, block, withdraw

PS = (
    '[[defined-sets.prefix-sets]]\nprefix-set-name = "p1"\n'
    '[[defined-sets.prefix-sets.prefix-list]]\nip-prefix = "192.168.1.0/24"\n'
)
NH = (
    '[[defined-sets.prefix-sets]]\nprefix-set-name = "unused"\n'
    '[[defined-sets.prefix-sets.prefix-list]]\nip-prefix = "10.9.9.0/24"\n'
)


def policy(name: str, conditions: str = "", actions: str = "") -> str:
    return (
        f'[[policy-definitions]]\nname = "{name}"\n[[policy-definitions.statements]]\n'
        f"[policy-definitions.statements.conditions]\n{conditions}\n"
        f"[policy-definitions.statements.actions]\n{actions}\n"
    )


IF_P1 = '[policy-definitions.statements.conditions.match-prefix-set]\nprefix-set = "p1"\n'
REJECT = 'route-disposition = "reject-route"\n'
BGP = "[policy-definitions.statements.actions.bgp-actions]\n"


def chains(text: str, imp: Sequence[str] = (), exp: Sequence[str] = ()) -> dict[str, Any]:
    full = text + "\n[global.apply-policy.config]\n"
    full += f"import-policy-list = {list(imp)!r}\nexport-policy-list = {list(exp)!r}\n"
    full = full.replace("'", '"')
    pol = compile_policies(config(full))
    return {"global_import": pol.global_import, "global_export": pol.global_export}


def setup() -> Net:
    net = Net()
    net.add("e1", 21, asn=65100, local=ip(1))
    net.add("c1", 2, client=True, local=ip(1))
    net.add("c2", 3, client=True, local=ip(1))
    net.add("e2", 22, asn=65200, local=ip(1))
    net.drain()
    for k in net.nodes:
        net.got(k)
    return net


EB = block(as_path=[65100, 7], next_hop=ip(21), local_pref=None)


def test_import_reject_is_a_withdrawal_counted_and_kept_before_policy() -> None:
    net = setup()
    net.r.set_policies(**chains(PS + policy("rej", IF_P1, REJECT), imp=["rej"]))
    net.send("e1", ebgp_in([P1, P2], EB))
    net.drain()
    assert net.got("c1") == upd(block(as_path=[65100, 7], next_hop=ip(21)), [P2])
    c = net.r.counters("e1")
    assert (c.received, c.accepted, c.rejected) == (2, 1, 1)
    assert [k for k, _i, _p in net.r.adj_rib_in("e1", F)] == [P1, P2]
    assert [k for k, _i, _p in net.r.adj_rib_in_post("e1", F)] == [P2]
    # withdrawing the rejected path lowers the count, sends nothing
    net.send("e1", withdraw([P1]))
    net.drain()
    assert net.got("c1") == [] and net.r.counters("e1").rejected == 0


def test_import_rewrite_is_interned_and_sent() -> None:
    net = setup()
    act = BGP + "set-med = 55\n"
    net.r.set_policies(**chains(policy("med", "", act), imp=["med"]))
    net.send("e1", ebgp_in([P1, P2], EB))
    net.drain()
    want = block(as_path=[65100, 7], next_hop=ip(21), med=55)
    assert net.got("c1") == upd(want, [P1, P2])
    paths = [p for _k, _i, p in net.r.adj_rib_in_post("e1", F)]
    assert paths[0].attrs is paths[1].attrs  # one interned set for both prefixes
    # removing everything leaves the intern table empty (references balanced)
    net.send("e1", withdraw([P1, P2]))
    assert len(net.r.intern_table) == 0


def test_export_per_group_and_groupkey_export() -> None:
    net = setup()
    net.r.set_policies(**chains(PS + policy("rej", IF_P1, REJECT), exp=["rej"]))
    net.send("e1", ebgp_in([P1, P2], EB))
    net.drain()
    assert net.got("c1") == upd(block(as_path=[65100, 7], next_hop=ip(21)), [P2])
    g1 = net.r.peer("c1").members[F].group
    assert g1 is net.r.peer("c2").members[F].group and g1.gkey.export
    assert net.got("e2") == upd(
        block(as_path=[LOCAL_AS, 65100, 7], next_hop=ip(1), local_pref=None), [P2]
    )


def test_export_sees_original_next_hop_and_unchanged_keeps_it() -> None:
    net = setup()
    cond = (
        "[policy-definitions.statements.conditions.bgp-conditions]\n"
        'next-hop-in-list = ["10.0.0.21/32"]\n'
    )
    act = 'route-disposition = "accept-route"\n' + BGP + 'set-next-hop = "unchanged"\n'
    text = policy("nh", cond, act) + policy("rej", "", REJECT)
    net.r.set_policies(**chains(text, exp=["nh", "rej"]))
    net.send("c1", announce([P1], block(as_path=[9], next_hop=ip(21))))
    net.drain()
    # matched on the original next hop (else rejected); towards eBGP it stays 10.0.0.21
    assert net.got("e2") == upd(
        block(as_path=[LOCAL_AS, 9], next_hop=ip(21), local_pref=None), [P1]
    )
    net.send("c1", announce([P2], block(as_path=[9], next_hop=ip(5))))
    net.drain()
    assert net.got("e2") == []


def test_export_next_hop_self_uses_session_address() -> None:
    net = setup()
    net.r.set_policies(**chains(policy("s", "", BGP + 'set-next-hop = "self"\n'), exp=["s"]))
    net.send("e1", ebgp_in([P1], EB))
    net.drain()
    assert net.got("c1") == upd(block(as_path=[65100, 7], next_hop=ip(1)), [P1])
    # the chain reads the peer: one group per neighbor
    assert net.r.peer("c1").members[F].group is not net.r.peer("c2").members[F].group


def test_ibgp_send_side_loop_check_after_import_prepend() -> None:
    net = setup()
    prep = (
        "[policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]\n"
        f'as = "{LOCAL_AS}"\nrepeat-n = 1\n'
    )
    net.r.set_policies(**chains(policy("pp", "", prep), imp=["pp"]))
    net.send("e1", ebgp_in([P1], EB))
    net.drain()
    assert [k for k, _b, _p in net.r.loc_rib(F)] == [P1]
    assert net.got("c1") == [] and net.got("c2") == []
    # towards eBGP only the neighbor's own AS counts (gobgpd's isASLoop)
    want = block(as_path=[LOCAL_AS, LOCAL_AS, 65100, 7], next_hop=ip(1), local_pref=None)
    assert net.got("e2") == upd(want, [P1])


def test_reload_sends_only_differences_without_reset() -> None:
    net = setup()
    net.send("e1", ebgp_in([P1, P2], EB))
    net.drain()
    for k in net.nodes:
        net.got(k)
    net.r.poll_events()
    net.r.set_policies(**chains(PS + policy("rej", IF_P1, REJECT), imp=["rej"]))
    net.drain()
    assert net.got("c1") == pack_withdrawals(F, [P1], None)
    assert net.got("e2") == pack_withdrawals(F, [P1], None)
    assert net.got("c2") == pack_withdrawals(F, [P1], None)
    # import policy gone, an export policy that changes nothing on the wire: the
    # neighbors move groups and get P1 back, nothing else
    net.r.set_policies(**chains(policy("none", "", ""), exp=["none"]))
    net.drain()
    want = upd(block(as_path=[65100, 7], next_hop=ip(21)), [P1])
    assert net.got("c1") == want
    assert net.got("c2") == want
    assert net.r.peer("c1").members[F].group.gkey.export
    to_e2 = block(as_path=[LOCAL_AS, 65100, 7], next_hop=ip(1), local_pref=None)
    assert net.got("e2") == upd(to_e2, [P1]) and net.got("e1") == []
    net.r.set_policies()
    net.drain()
    assert all(net.got(k) == [] for k in net.nodes)
    assert not any(isinstance(e, PeerReset) for e in net.r.poll_events())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([P1, P2]), st.sampled_from([None, 1, 2])), max_size=12),
    st.booleans(),
)
def test_engine_with_policy_equals_model(ops: list[tuple[int, int | None]], late: bool) -> None:
    """Loc-RIB == the policy applied to the Adj-RIB-In (reject community 1, MED 9 on
    the rest), whether the policy is set before or after the routes arrived."""
    cs = (
        "[[defined-sets.bgp-defined-sets.community-sets]]\n"
        'community-set-name = "one"\ncommunity-list = ["0:1"]\n'
    )
    cond = (
        "[policy-definitions.statements.conditions.bgp-conditions.match-community-set]\n"
        'community-set = "one"\n'
    )
    text = cs + policy("r", cond, REJECT) + policy("m", "", BGP + "set-med = 9\n")
    pol = chains(text, imp=["r", "m"])
    net = setup()
    if not late:
        net.r.set_policies(**pol)
    held: dict[int, int] = {}
    for k, comm in ops:
        if comm is None:
            net.send("e1", withdraw([k]))
            held.pop(k, None)
        else:
            attrs = block(as_path=[65100], next_hop=ip(21), local_pref=None, communities=[comm])
            net.send("e1", ebgp_in([k], attrs))
            held[k] = comm
    if late:
        net.r.set_policies(**pol)
    want = {
        k: block(as_path=[65100], next_hop=ip(21), local_pref=None, med=9, communities=[c])
        for k, c in held.items()
        if c != 1
    }
    got = {k: b.attrs.raw for k, b, _p in net.r.loc_rib(F)}
    assert got == want
    assert net.r.counters("e1").rejected == sum(1 for c in held.values() if c == 1)
    net.r.set_policies()
    assert {k for k, _b, _p in net.r.loc_rib(F)} == set(held)
    net.send("e1", withdraw(list(held)))
    assert len(net.r.intern_table) == 0


def test_global_import_runs_on_local_routes() -> None:
    """gobgpd runs the global import chain on routes added through its API too."""
    net = setup()
    pol = chains(PS + policy("rej", IF_P1, REJECT), imp=["rej"])
    net.r.set_policies(**pol)
    local = block(as_path=[], next_hop=ip(9))
    net.r.originate(F, P1, local, b"", 0.0)
    net.r.originate(F, P2, local, b"", 0.0)
    assert [k for k, _b, _p in net.r.loc_rib(F)] == [P2]
    net.r.set_policies()
    assert [k for k, _b, _p in net.r.loc_rib(F)] == [P1, P2]
    net.r.set_policies(**pol)
    net.r.withdraw_local(F, P1, 0.0)
    net.r.withdraw_local(F, P2, 0.0)
    assert list(net.r.loc_rib(F)) == [] and len(net.r.intern_table) == 0


def test_route_server_clients_own_chains_and_no_path_hiding() -> None:
    """gobgpd 3.10: a client's own import chain runs once on what it sends (one
    route-server Loc-RIB, no per-client views); its own export chain on the path
    selected for it, and a rejected path is not replaced by the next one."""
    net = Net()
    for name, n in (("rs1", 11), ("rs2", 12), ("rs3", 13)):
        net.add(name, n, asn=65000 + n, rs_client=True, local=ip(1))
    net.drain()
    for k in net.nodes:
        net.got(k)
    cs = (
        "[[defined-sets.bgp-defined-sets.community-sets]]\n"
        'community-set-name = "x"\ncommunity-list = ["0:7"]\n'
    )
    cond = (
        "[policy-definitions.statements.conditions.bgp-conditions.match-community-set]\n"
        'community-set = "x"\n'
    )
    text = PS + cs + policy("rej-p1", IF_P1, REJECT) + policy("rej-x", cond, REJECT)
    for addr, direction, name in (
        ("10.0.0.11", "import", "rej-p1"),
        ("10.0.0.12", "export", "rej-x"),
    ):
        text += (
            f'[[neighbors]]\n[neighbors.config]\nneighbor-address = "{addr}"\npeer-as = 65001\n'
            "[neighbors.route-server.config]\nroute-server-client = true\n"
            f'[neighbors.apply-policy.config]\n{direction}-policy-list = ["{name}"]\n'
        )
    pol = compile_policies(config(text))
    assert pol.global_import is None and pol.global_export is None
    net.r.set_policies(
        neighbors={"rs1": pol.neighbors["10.0.0.11"], "rs2": pol.neighbors["10.0.0.12"]}
    )
    assert net.r.peer_policies("rs3") == (None, None)
    tagged = block(as_path=[65011], next_hop=ip(11), local_pref=None, communities=[7])
    net.send("rs1", ebgp_in([P1, P2], tagged))
    net.drain()
    # rs1's import rejected P1 for everybody; rs2's export rejects the tagged P2
    assert net.got("rs3") == upd(tagged, [P2]) and net.got("rs2") == []
    assert net.r.counters("rs1").rejected == 1
    # a longer untagged path from rs3: rs2 still gets nothing (no path hiding)
    plain = block(as_path=[65013, 9, 9], next_hop=ip(13), local_pref=None)
    net.send("rs3", ebgp_in([P2], plain))
    net.drain()
    assert net.got("rs2") == []
    assert net.got("rs1") == upd(plain, [P2])

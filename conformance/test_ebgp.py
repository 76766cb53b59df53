"""11. eBGP (RFC 4271 §5.1) and route server (RFC 7947) with BIRD 1.6 neighbors.

The reflector under test (AS 65000, 10.250.0.1) speaks eBGP to two BIRD 1.6 routers
(AS 65011 and 65012) and iBGP to a BIRD 1.6 route-reflector client (AS 65000); in the
route-server case both BIRD routers are route-server clients. Each BIRD announces one
static prefix with a MED; the AS_PATH, NEXT_HOP, MED and LOCAL_PREF each one holds are
read from ``birdc show route all``. The same test runs against gobgpd (``--rr gobgp``):
both must give the same answers.
"""

from __future__ import annotations

import re
import time

import pytest

from conformance import configs
from conformance.daemons import BirdDaemon, FrrClient, Path_, Reflector, bgprr_executable
from conformance.netns import Lab, wait_for

RR = "10.250.0.1"
B1, B2, F3, C1 = "10.250.0.11", "10.250.0.12", "10.250.0.13", "10.250.0.21"
LOCAL_AS = 65000
P1, P2, P3, PC = "10.11.0.0/24", "10.12.0.0/24", "10.13.0.0/24", "10.21.0.0/24"
LOOPED = "10.12.9.0/24"  # B2 sends it with AS 65000 already in the path


def rr_toml(*, rs: bool) -> str:
    text = f'[global.config]\n  as = {LOCAL_AS}\n  router-id = "{RR}"\n'
    for addr, asn in ((B1, 65011), (B2, 65012), (F3, 65013)):
        text += (
            f'\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "{addr}"\n'
            f"    peer-as = {asn}\n"
        )
        if rs:
            text += "  [neighbors.route-server.config]\n    route-server-client = true\n"
    text += (
        f'\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "{C1}"\n'
        f"    peer-as = {LOCAL_AS}\n  [neighbors.route-reflector.config]\n"
        f'    route-reflector-client = true\n    route-reflector-cluster-id = "{RR}"\n'
    )
    return text


def bird_conf(me: str, asn: int, prefix: str, med: int, *, looped: bool = False) -> str:
    """BIRD 1.6: one static prefix (and the looped one) exported with ``med``."""
    statics = f"  route {prefix} blackhole;\n"
    loop = ""
    if looped:
        statics += f"  route {LOOPED} blackhole;\n"
        loop = f"    if net = {LOOPED} then bgp_path.prepend({LOCAL_AS});\n"
    # iBGP is multihop with recursive next hops by default: the fabric is one subnet, so
    # "direct" (as the eBGP sessions are anyway)
    gateway = "  direct;\n" if asn == LOCAL_AS else ""
    return (
        f"router id {me};\nprotocol device {{ scan time 2; }}\n"
        f"protocol static st {{\n{statics}}}\n"
        f"protocol bgp up {{\n  local {me} as {asn};\n  neighbor {RR} as {LOCAL_AS};\n"
        f"{gateway}  import all;\n  export filter {{\n"
        f'    if proto != "st" then reject;\n    bgp_med = {med};\n{loop}    accept;\n  }};\n}}\n'
    )


def frr_conf(*, enforce_first_as: bool) -> str:
    """FRR 8: AS 65013, announces P3 with MED 80 to the route server."""
    lines = [
        "frr defaults traditional", "hostname f3", "log stdout debugging", "!",
        f"ip route {P3} blackhole",
        "route-map med permit 10", " set metric 80", "!",
        "router bgp 65013", f" bgp router-id {F3}", " no bgp default ipv4-unicast",
        " no bgp ebgp-requires-policy", " no bgp network import-check",
        f" neighbor {RR} remote-as {LOCAL_AS}", f" neighbor {RR} update-source {F3}",
        f" neighbor {RR} timers connect 2",
    ]
    if enforce_first_as:
        lines.append(f" neighbor {RR} enforce-first-as")
    lines += [" address-family ipv4 unicast", f"  network {P3} route-map med",
              f"  neighbor {RR} activate", " exit-address-family", "!"]
    return "\n".join(lines) + "\n"


def routes(b: BirdDaemon) -> dict[str, Path_]:
    """Best path per prefix learned over BGP (its own blackhole statics left out). BIRD
    shows LOCAL_PREF 100 on eBGP routes too (its default), so that is not checked there."""
    out: dict[str, Path_] = {}
    for prefix, paths in b.rib().items():
        learned = [p for p in paths if p.next_hop is not None]  # statics: blackhole
        if learned:
            out[prefix] = learned[0]
    return out


Started = tuple[Reflector, BirdDaemon, BirdDaemon, BirdDaemon]


def start(lab: Lab, rr_kind: str, *, rs: bool) -> Started:
    rr = Reflector(lab, rr_kind, "rr", RR, configs.RRConfig(router_id=RR))
    rr.conf_path.write_text(rr_toml(rs=rs))
    birds = []
    for name, me, asn, prefix, med in (("b1", B1, 65011, P1, 50), ("b2", B2, 65012, P2, 60),
                                       ("c1", C1, LOCAL_AS, PC, 70)):
        host = lab.add_host(name, me, None)
        birds.append(BirdDaemon(lab, host, f"{name}-bird",
                                bird_conf(me, asn, prefix, med, looped=name == "b2")))
    rr.start()
    for b in birds:
        b.start()
    for b in birds:
        wait_for(lambda b=b: b.established() == 1, 60, 0.25, f"{b.name} up")
    return rr, birds[0], birds[1], birds[2]


@pytest.mark.gobgp_fails(reason="ORIGINATOR_ID and CLUSTER_LIST on eBGP-learned routes "
                         "sent to route-reflector clients")
def test_ebgp_attributes(lab: Lab, rr_kind: str) -> None:
    rr, b1, b2, c1 = start(lab, rr_kind, rs=False)
    wait_for(lambda: {P2, PC} <= set(routes(b1)) and {P1, PC} <= set(routes(b2))
             and {P1, P2} <= set(routes(c1)), 60, 0.25, "routes everywhere")
    time.sleep(2)  # room for the looped prefix, were it to be accepted
    at_b2 = routes(b2)[P1]
    # eBGP to eBGP: our AS prepended, next hop self, MED from another AS dropped
    assert (at_b2.as_path, at_b2.next_hop, at_b2.med) == ("65000 65011", RR, None)
    at_b1 = routes(b1)[PC]
    # iBGP to eBGP: the client's MED is not sent to another AS, no LOCAL_PREF
    assert (at_b1.as_path, at_b1.next_hop, at_b1.med) == ("65000", RR, None)
    at_c1 = routes(c1)[P1]
    # eBGP to iBGP: as learned (next hop unchanged, MED kept), LOCAL_PREF 100 added
    assert (at_c1.as_path, at_c1.next_hop, at_c1.med, at_c1.local_pref) == (
        "65011", B1, 50, 100)
    # B2's route through our own AS is dropped (RFC 4271 §9.1.2) by the reflector
    assert LOOPED not in routes(b1) and LOOPED not in routes(c1)
    if rr_kind == "bgprr":  # and counted
        exe = bgprr_executable()
        assert exe is not None
        sock = str(lab.workdir / "rr-bgprr.sock")
        text = lab.run(rr.host.ns, [exe, "--api-socket", sock, "neighbor", B2]).stdout
        assert re.search(r"AS loop:\s+1\n", text), text
    # not reflected, so no ORIGINATOR_ID / CLUSTER_LIST (RFC 4456 §8): gobgpd adds both,
    # with the eBGP neighbor's router id as ORIGINATOR_ID
    assert at_c1.originator_id is None and at_c1.cluster_list == []


def test_route_server_clients(lab: Lab, rr_kind: str) -> None:
    _rr, b1, b2, c1 = start(lab, rr_kind, rs=True)
    wait_for(lambda: P2 in routes(b1) and P1 in routes(b2), 60, 0.25, "client routes")
    time.sleep(2)
    at_b2 = routes(b2)[P1]
    # transparent: the client's AS only, its own next hop, its MED
    assert (at_b2.as_path, at_b2.next_hop, at_b2.med) == ("65011", B1, 50)
    at_b1 = routes(b1)[P2]
    assert (at_b1.as_path, at_b1.next_hop, at_b1.med) == ("65012", B2, 60)
    # route-server clients and the other neighbors do not mix (gobgpd's rule)
    assert PC not in routes(b1) and PC not in routes(b2)
    assert P1 not in routes(c1) and P2 not in routes(c1)
    # a client's route goes to the other clients only, not back to itself
    assert P1 not in routes(b1) and P2 not in routes(b2)


@pytest.mark.parametrize("enforce_first_as", [False, True], ids=["default", "enforce"])
def test_route_server_frr_client(lab: Lab, rr_kind: str, enforce_first_as: bool) -> None:
    """FRR 8.4 (``frr defaults traditional``) takes a route server's paths, whose first AS
    is not the server's; with ``neighbor RS enforce-first-as`` it drops them (an RS client
    must not set it)."""
    f3 = FrrClient(lab, "f3", F3, [RR], [P3])
    f3.conf_path.write_text(frr_conf(enforce_first_as=enforce_first_as))
    _rr, b1, b2, _c1 = start(lab, rr_kind, rs=True)
    f3.start()
    wait_for(lambda: f3.established() == 1, 60, 0.25, "f3 up")
    wait_for(lambda: P3 in routes(b1) and P3 in routes(b2), 60, 0.25, "f3's route at b1, b2")
    at_b1 = routes(b1)[P3]
    assert (at_b1.as_path, at_b1.next_hop, at_b1.med) == ("65013", F3, 80)
    if enforce_first_as:
        time.sleep(3)
        assert f3.rib() == {}
        return
    wait_for(lambda: {P1, P2} <= set(f3.rib()), 60, 0.25, "b1's and b2's routes at f3")
    got = f3.rib_detail(P1)[0]  # transparent: b1's AS_PATH, next hop and MED
    assert (got.as_path, got.next_hop, got.med, got.source) == ("65011", B1, 50, RR)

"""Bad configurations: each one is refused with exactly this one-line message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgprr.config import ConfigError, check_main, load_config, load_config_text
from tests.config.gobgpd_check import gobgpd_dry_run, needs_gobgpd

G = '[global.config]\nas = 64511\nrouter-id = "172.16.18.32"\n'


def nb(address: str = "10.0.0.1", extra: str = "", peer_as: str = "64511") -> str:
    """One [[neighbors]] entry; ``extra`` goes after its [neighbors.config] keys."""
    return (
        f'\n[[neighbors]]\n[neighbors.config]\nneighbor-address = "{address}"\n'
        f"peer-as = {peer_as}\n{extra}"
    )


def group(name: str, extra: str = "", peer_as: str = "64511") -> str:
    return (
        f'\n[[peer-groups]]\n[peer-groups.config]\npeer-group-name = "{name}"\n'
        f"peer-as = {peer_as}\n{extra}"
    )


def dyn(prefix: str, name: str) -> str:
    return (
        f'\n[[dynamic-neighbors]]\n[dynamic-neighbors.config]\nprefix = "{prefix}"\n'
        f'peer-group = "{name}"\n'
    )


# (id, TOML text, the exact message for source name "rr.toml")
BAD: list[tuple[str, str, str]] = [
    # -- types ---------------------------------------------------------------------------
    (
        "remove-private-as-value",
        G + nb(peer_as="65000", extra='remove-private-as = "some"\n'),
        'rr.toml: neighbors[0].config.remove-private-as: expected "all" or "replace", got "some"',
    ),
    (
        "allow-own-as-range",
        G + nb(extra="[neighbors.as-path-options.config]\nallow-own-as = 256\n"),
        "rr.toml: neighbors[0].as-path-options.config.allow-own-as: 256 is out of range 0..255",
    ),
    (
        "rs-and-rr-client",
        G
        + nb(
            extra="[neighbors.route-reflector.config]\nroute-reflector-client = true\n"
            "[neighbors.route-server.config]\nroute-server-client = true\n"
        ),
        "rr.toml: neighbors[0].route-server.config.route-server-client: a neighbor cannot be "
        "both route-server-client and route-reflector-client (as in GoBGP)",
    ),
    (
        "peer-as-string",
        G + nb("10.0.0.1") + nb("10.0.0.2") + nb("10.0.0.3", peer_as='"x"'),
        'rr.toml: neighbors[2].config.peer-as: expected an integer, got "x"',
    ),
    (
        "as-bool",
        '[global.config]\nas = true\nrouter-id = "1.1.1.1"\n',
        "rr.toml: global.config.as: expected an integer, got true",
    ),
    (
        "as-zero",
        '[global.config]\nas = 0\nrouter-id = "1.1.1.1"\n',
        "rr.toml: global.config.as: 0 is out of range 1..4294967295",
    ),
    (
        "as-too-big",
        '[global.config]\nas = 4294967296\nrouter-id = "1.1.1.1"\n',
        "rr.toml: global.config.as: 4294967296 is out of range 1..4294967295",
    ),
    (
        "port-out-of-range",
        '[global.config]\nas = 1\nrouter-id = "1.1.1.1"\nport = 70000\n',
        "rr.toml: global.config.port: 70000 is out of range -1..65535",
    ),
    (
        "passive-mode-string",
        G + nb(extra='[neighbors.transport.config]\npassive-mode = "yes"\n'),
        'rr.toml: neighbors[0].transport.config.passive-mode: expected true or false, got "yes"',
    ),
    (
        "password-int",
        G + nb(extra="auth-password = 1234\n"),
        "rr.toml: neighbors[0].config.auth-password: expected a string (the value is not "
        "shown: it is a secret)",
    ),
    (
        "password-too-long-for-tcp-md5",
        G + nb(extra=f'auth-password = "{"k" * 81}"\n'),
        "rr.toml: neighbors[0].config.auth-password: longer than 80 bytes, the longest TCP-MD5 "
        "key Linux accepts (the value is not shown: it is a secret)",
    ),
    (
        "hold-time-fraction",
        G + nb(extra="[neighbors.timers.config]\nhold-time = 90.5\n"),
        "rr.toml: neighbors[0].timers.config.hold-time: expected a whole number of seconds, "
        "got 90.5",
    ),
    (
        "connect-retry-negative",
        G + nb(extra="[neighbors.timers.config]\nconnect-retry = -1\n"),
        "rr.toml: neighbors[0].timers.config.connect-retry: expected a number of seconds >= 0, "
        "got -1",
    ),
    (
        "ttl-zero",
        G + nb(extra="[neighbors.transport.config]\nttl = 0\n"),
        "rr.toml: neighbors[0].transport.config.ttl: 0 is out of range 1..255",
    ),
    (
        "threshold-pct",
        G
        + nb(
            extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicast"\n[neighbors.afi-safis.prefix-limit.config]\n'
            "max-prefixes = 10\nshutdown-threshold-pct = 101\n"
        ),
        "rr.toml: neighbors[0].afi-safis[0].prefix-limit.config.shutdown-threshold-pct: "
        "101 is out of range 0..100",
    ),
    (
        "gr-restart-time-12-bits",
        G + nb(extra="[neighbors.graceful-restart.config]\nenabled = true\nrestart-time = 4096\n"),
        "rr.toml: neighbors[0].graceful-restart.config.restart-time: 4096 is out of range 0..4095",
    ),
    (
        "neighbors-not-array",
        G + '[neighbors]\n[neighbors.config]\nneighbor-address = "10.0.0.1"\n',
        "rr.toml: neighbors: expected an array of tables ([[...]] in TOML), got a table",
    ),
    (
        "config-not-table",
        G + "[[neighbors]]\nconfig = 5\n",
        "rr.toml: neighbors[0].config: expected a table, got 5",
    ),
    # -- unknown keys ----------------------------------------------------------------------
    (
        "unknown-key",
        G + nb(extra="bogus-key = 3\n"),
        "rr.toml: neighbors[0].config.bogus-key: unknown key",
    ),
    (
        "unknown-top-level",
        G + "[bgp]\nx = 1\n",
        "rr.toml: bgp: unknown key",
    ),
    (
        "listen-config-is-not-gobgp-3",
        G + "[global.listen-config]\nport = 1790\n",
        "rr.toml: global.listen-config: unknown key",
    ),
    (
        "afi-safi-name-outside-config",
        G + nb(extra='[[neighbors.afi-safis]]\nafi-safi-name = "ipv4-unicast"\n'),
        "rr.toml: neighbors[0].afi-safis[0].afi-safi-name: unknown key "
        "(did you mean neighbors[0].afi-safis[0].config.afi-safi-name?)",
    ),
    (
        "peer-group-config-has-no-admin-down",
        G + group("g", "admin-down = true\n"),
        "rr.toml: peer-groups[0].config.admin-down: unknown key",
    ),
    (
        "duplicate-key-case",
        '[global.config]\nAS = 1\nas = 2\nrouter-id = "1.1.1.1"\n',
        'rr.toml: global.config.as: duplicate key (also written as "AS")',
    ),
    # -- addresses and prefixes --------------------------------------------------------------
    (
        "bad-neighbor-address",
        G + nb("10.0.0.256"),
        'rr.toml: neighbors[0].config.neighbor-address: "10.0.0.256" is not a valid IP address',
    ),
    (
        "scoped-address",
        G + nb("fe80::1%eth0"),
        'rr.toml: neighbors[0].config.neighbor-address: "fe80::1%eth0": '
        "interface-scoped addresses are not supported by bgprr",
    ),
    (
        "router-id-ipv6",
        '[global.config]\nas = 1\nrouter-id = "fe80::1"\n',
        'rr.toml: global.config.router-id: "fe80::1" is not a valid IPv4 address',
    ),
    (
        "local-address-list-bad",
        '[global.config]\nas = 1\nrouter-id = "1.1.1.1"\nlocal-address-list = ["0.0.0.0", "x"]\n',
        'rr.toml: global.config.local-address-list: "x" is not a valid IP address',
    ),
    (
        "prefix-host-bits",
        G + group("g") + dyn("10.0.0.1/8", "g"),
        'rr.toml: dynamic-neighbors[0].config.prefix: "10.0.0.1/8" has host bits set '
        '(did you mean "10.0.0.0/8"?)',
    ),
    (
        "prefix-too-long",
        G + group("g") + dyn("10.0.0.0/33", "g"),
        'rr.toml: dynamic-neighbors[0].config.prefix: "10.0.0.0/33" is not a valid prefix',
    ),
    (
        "prefix-without-length",
        G + group("g") + dyn("10.0.0.0", "g"),
        'rr.toml: dynamic-neighbors[0].config.prefix: "10.0.0.0" is not a valid prefix '
        "(expected address/length)",
    ),
    (
        "cluster-id-not-ipv4",
        G
        + nb(
            extra="[neighbors.route-reflector.config]\nroute-reflector-client = true\n"
            'route-reflector-cluster-id = "abc"\n'
        ),
        "rr.toml: neighbors[0].route-reflector.config.route-reflector-cluster-id: "
        '"abc" is not an IPv4 address or a 32-bit unsigned integer',
    ),
    (
        "cluster-id-ipv6",
        G + nb(extra='[neighbors.route-reflector.config]\nroute-reflector-cluster-id = "::1"\n'),
        "rr.toml: neighbors[0].route-reflector.config.route-reflector-cluster-id: "
        '"::1" is not an IPv4 address or a 32-bit unsigned integer',
    ),
    # -- families ----------------------------------------------------------------------------
    (
        "family-not-supported",
        G
        + nb(
            extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "l2vpn-evpn"\n'
        ),
        "rr.toml: neighbors[0].afi-safis[0].config.afi-safi-name: afi-safi-name "
        '"l2vpn-evpn" is not supported by bgprr (only ipv4-unicast, ipv6-unicast)',
    ),
    (
        "family-unknown",
        G
        + nb(
            extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicst"\n'
        ),
        "rr.toml: neighbors[0].afi-safis[0].config.afi-safi-name: unknown afi-safi-name "
        '"ipv4-unicst"',
    ),
    (
        "family-twice",
        G
        + nb(
            extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicast"\n'
            "[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicast"\n'
        ),
        'rr.toml: neighbors[0].afi-safis[1].config.afi-safi-name: afi-safi "ipv4-unicast" '
        "is listed twice (also neighbors[0].afi-safis[0])",
    ),
    (
        "family-without-name",
        G + nb(extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\nenabled = true\n"),
        "rr.toml: neighbors[0].afi-safis[0].config.afi-safi-name: required key is missing",
    ),
    # -- missing and duplicate ---------------------------------------------------------------
    (
        "no-global-as",
        '[global.config]\nrouter-id = "1.1.1.1"\n',
        "rr.toml: global.config.as: required key is missing",
    ),
    (
        "no-router-id",
        "[global.config]\nas = 1\n",
        "rr.toml: global.config.router-id: required key is missing",
    ),
    (
        "no-neighbor-address",
        G + "[[neighbors]]\n[neighbors.config]\npeer-as = 1\n",
        "rr.toml: neighbors[0].config.neighbor-address: required key is missing",
    ),
    (
        "no-peer-as",
        G + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.1"\n',
        "rr.toml: neighbors[0].config.peer-as: required key is missing",
    ),
    (
        "duplicate-neighbor",
        G + nb("2001:db8::1") + nb("2001:DB8:0::1"),
        'rr.toml: neighbors[1].config.neighbor-address: duplicate neighbor "2001:db8::1" '
        "(also neighbors[0])",
    ),
    (
        "duplicate-peer-group",
        G + group("g") + group("g"),
        'rr.toml: peer-groups[1].config.peer-group-name: duplicate peer group "g" '
        "(also peer-groups[0])",
    ),
    (
        "peer-group-without-name",
        G + "[[peer-groups]]\n[peer-groups.config]\npeer-as = 1\n",
        "rr.toml: peer-groups[0].config.peer-group-name: required key is missing",
    ),
    (
        "no-such-peer-group",
        G + nb(extra='peer-group = "nope"\n'),
        'rr.toml: neighbors[0].config.peer-group: no such peer group "nope"',
    ),
    (
        "dynamic-no-such-peer-group",
        G + dyn("10.0.0.0/8", "nope"),
        'rr.toml: dynamic-neighbors[0].config.peer-group: no such peer group "nope"',
    ),
    (
        "duplicate-dynamic-prefix",
        G + group("g") + dyn("10.0.0.0/8", "g") + dyn("10.0.0.0/8", "g"),
        "rr.toml: dynamic-neighbors[1].config.prefix: duplicate dynamic neighbor prefix "
        '"10.0.0.0/8" (also dynamic-neighbors[0])',
    ),
    (
        "dynamic-group-without-peer-as",
        G
        + '\n[[peer-groups]]\n[peer-groups.config]\npeer-group-name = "g"\n'
        + dyn("10.0.0.0/8", "g"),
        'rr.toml: dynamic-neighbors[0].config.peer-group: peer group "g" has no '
        "config.peer-as (dynamic neighbors take their peer-as from the group)",
    ),
    # -- contradictions ----------------------------------------------------------------------
    (
        "peer-as-contradicts-group",
        G + group("g") + nb(extra='peer-group = "g"\n', peer_as="65000"),
        "rr.toml: neighbors[0].config.peer-as: peer-as 65000 contradicts peer-as 64511 of "
        'peer group "g" (GoBGP would silently use the group\'s)',
    ),
    (
        "local-as-mismatch",
        G + nb(extra="local-as = 65000\n"),
        "rr.toml: neighbors[0].config.local-as: local-as 65000 differs from global.config.as "
        "64511; a per-neighbor local-as is not supported by bgprr",
    ),
    (
        "dynamic-group-not-passive",
        G
        + group("g", "[peer-groups.transport.config]\npassive-mode = false\n")
        + dyn("10.0.0.0/8", "g"),
        'rr.toml: peer-groups[0].transport.config.passive-mode: peer group "g" is used by '
        "dynamic-neighbors[0], whose members are always passive; passive-mode = false "
        "contradicts that",
    ),
    (
        "hold-time-two",
        G + nb(extra="[neighbors.timers.config]\nhold-time = 2\n"),
        "rr.toml: neighbors[0].timers.config.hold-time: hold-time must be 0 or at least "
        "3 seconds (RFC 4271), got 2",
    ),
    (
        "keepalive-not-below-hold",
        G + nb(extra="[neighbors.timers.config]\nhold-time = 9\nkeepalive-interval = 9\n"),
        "rr.toml: neighbors[0].timers.config.keepalive-interval: keepalive-interval 9 must be "
        "less than hold-time 9",
    ),
    (
        "keepalive-vs-inherited-hold",
        G
        + group("g", "[peer-groups.timers.config]\nhold-time = 9\n")
        + nb(extra='peer-group = "g"\n[neighbors.timers.config]\nkeepalive-interval = 10\n'),
        "rr.toml: neighbors[0].timers.config.keepalive-interval: keepalive-interval 10 must be "
        "less than hold-time 9",
    ),
    (
        "multihop-and-ttl-security",
        G
        + nb(
            peer_as="65000",
            extra="[neighbors.ebgp-multihop.config]\nenabled = true\n"
            "[neighbors.ttl-security.config]\nenabled = true\n",
        ),
        "rr.toml: neighbors[0].ttl-security.config.enabled: ttl-security and ebgp-multihop "
        "are mutually exclusive (as in GoBGP)",
    ),
    (
        "ebgp-rr-client",
        G
        + nb(
            peer_as="65000",
            extra="[neighbors.route-reflector.config]\nroute-reflector-client = true\n",
        ),
        "rr.toml: neighbors[0].route-reflector.config.route-reflector-client: a route "
        "reflector client must be an iBGP neighbor, but peer-as 65000 differs from local-as "
        "64511",
    ),
    (
        "ebgp-rr-client-via-group",
        G
        + group(
            "g",
            "[peer-groups.route-reflector.config]\nroute-reflector-client = true\n",
            peer_as="65000",
        )
        + dyn("10.0.0.0/8", "g"),
        "rr.toml: peer-groups[0].route-reflector.config.route-reflector-client: a route "
        "reflector client must be an iBGP neighbor, but peer-as 65000 differs from local-as "
        "64511",
    ),
    (
        "local-address-family",
        G + nb(extra='[neighbors.transport.config]\nlocal-address = "::1"\n'),
        'rr.toml: neighbors[0].transport.config.local-address: local-address "::1" is IPv6 '
        'but the neighbor address "10.0.0.1" is IPv4',
    ),
    (
        "mp-graceful-restart-without-gr",
        G
        + nb(
            extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicast"\n'
            "[neighbors.afi-safis.mp-graceful-restart.config]\nenabled = true\n"
        ),
        "rr.toml: neighbors[0].afi-safis[0].mp-graceful-restart.config.enabled: graceful "
        "restart for ipv4-unicast needs graceful-restart.config.enabled = true",
    ),
    (
        "llgr-without-long-lived-enabled",
        G
        + nb(
            extra="[neighbors.graceful-restart.config]\nenabled = true\n"
            "[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicast"\n'
            "[neighbors.afi-safis.long-lived-graceful-restart.config]\nenabled = true\n"
        ),
        "rr.toml: neighbors[0].afi-safis[0].long-lived-graceful-restart.config.enabled: "
        "long-lived graceful restart for ipv4-unicast needs "
        "graceful-restart.config.long-lived-enabled = true",
    ),
    (
        "long-lived-without-gr",
        G + nb(extra="[neighbors.graceful-restart.config]\nlong-lived-enabled = true\n"),
        "rr.toml: neighbors[0].graceful-restart.config.long-lived-enabled: long-lived-enabled "
        "needs graceful-restart.config.enabled = true",
    ),
    (
        "not-listening-dynamic",
        G.replace("as = 64511", "as = 64511\nport = -1") + group("g") + dyn("10.0.0.0/8", "g"),
        "rr.toml: global.config.port: port -1 (do not listen) leaves no way in for "
        "dynamic-neighbors[0], which can only connect in",
    ),
    (
        "not-listening-passive",
        G.replace("as = 64511", "as = 64511\nport = -1")
        + nb("10.0.0.1")
        + nb("10.0.0.2", extra="[neighbors.transport.config]\npassive-mode = true\n"),
        "rr.toml: global.config.port: port -1 (do not listen) leaves no way in for "
        "neighbors[1], which is passive",
    ),
    # -- GoBGP keys with a value bgprr does not implement -----------------------------------
    (
        "minimum-advertisement-interval",
        G + nb(extra="[neighbors.timers.config]\nminimum-advertisement-interval = 30\n"),
        "rr.toml: neighbors[0].timers.config.minimum-advertisement-interval: a non-zero value "
        "is not supported by bgprr (bgprr sends updates without delay)",
    ),
    (
        "treat-as-withdraw-false",
        G + nb(extra="[neighbors.error-handling.config]\ntreat-as-withdraw = false\n"),
        "rr.toml: neighbors[0].error-handling.config.treat-as-withdraw: false is not "
        "supported by bgprr (bgprr always behaves as if true)",
    ),
    (
        "state-table",
        G + nb(extra="[neighbors.state]\npeer-as = 1\n"),
        "rr.toml: neighbors[0].state: not supported by bgprr "
        "(operational state, not configuration)",
    ),
    # -- syntax --------------------------------------------------------------------------------
    (
        "toml-syntax",
        "[global.config]\nas = \n",
        "rr.toml: invalid TOML: Invalid value (at line 2, column 6)",
    ),
]


# GoBGP keys refused by name: (id, TOML snippet appended to a valid file, refused key path).
# gobgpd 3.10 itself accepts every one of these files (checked below when installed), so
# these are real GoBGP keys, not typos.
REFUSED: list[tuple[str, str, str]] = [
    (
        "tag-sets",
        '[[defined-sets.tag-sets]]\ntag-set-name = "t0"\n',
        "defined-sets.tag-sets",
    ),
    (
        "match-tag-set",
        '[[policy-definitions]]\nname = "p1"\n[[policy-definitions.statements]]\n'
        '[policy-definitions.statements.conditions.match-tag-set]\ntag-set = "t0"\n',
        "policy-definitions[0].statements[0].conditions.match-tag-set",
    ),
    (
        "global-in-policy-list",
        "[global.apply-policy.config]\nin-policy-list = []\n",
        "global.apply-policy.config.in-policy-list",
    ),
    (
        "global-confederation",
        "[global.confederation.config]\nenabled = false\n",
        "global.confederation",
    ),
    (
        "global-graceful-restart",
        "[global.graceful-restart.config]\nenabled = false\n",
        "global.graceful-restart",
    ),
    (
        "global-afi-safis",
        '[[global.afi-safis]]\n[global.afi-safis.config]\nafi-safi-name = "ipv4-unicast"\n',
        "global.afi-safis",
    ),
    (
        "bmp-servers",
        '[[bmp-servers]]\n[bmp-servers.config]\naddress = "127.0.0.1"\n',
        "bmp-servers",
    ),
    (
        "rpki-servers",
        '[[rpki-servers]]\n[rpki-servers.config]\naddress = "127.0.0.1"\n',
        "rpki-servers",
    ),
    (
        "global-multipath-ebgp",
        "[global.use-multiple-paths.ebgp.config]\nmaximum-paths = 4\n",
        "global.use-multiple-paths.ebgp",
    ),
    ("collector", '[collector.config]\nurl = ""\n', "collector"),
    (
        "mrt-dump",
        '[[mrt-dump]]\n[mrt-dump.config]\ndump-type = "updates"\nfile-name = "/nonexistent/x"\n',
        "mrt-dump",
    ),
    (
        "vrfs",
        '[[vrfs]]\n[vrfs.config]\nname = "v1"\nrd = "100:100"\nboth-rt-list = ["100:100"]\n',
        "vrfs",
    ),
    (
        "route-server",
        nb(extra="[neighbors.route-server.config]\nsecondary-route = true\n"),
        "neighbors[0].route-server.config.secondary-route",
    ),
    ("neighbor-vrf", nb(extra='vrf = ""\n'), "neighbors[0].config.vrf"),
    (
        "neighbor-interface",
        nb(extra='neighbor-interface = ""\n'),
        "neighbors[0].config.neighbor-interface",
    ),
    (
        "tcp-mss",
        nb(extra="[neighbors.transport.config]\ntcp-mss = 1400\n"),
        "neighbors[0].transport.config.tcp-mss",
    ),
    (
        "stale-routes-time",
        nb(extra="[neighbors.graceful-restart.config]\nstale-routes-time = 10.0\n"),
        "neighbors[0].graceful-restart.config.stale-routes-time",
    ),
    (
        "use-multiple-paths",
        nb(extra="[neighbors.use-multiple-paths.config]\nenabled = false\n"),
        "neighbors[0].use-multiple-paths",
    ),
    (
        "afi-safi-apply-policy",
        nb(
            extra="[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
            'afi-safi-name = "ipv4-unicast"\n[neighbors.afi-safis.apply-policy.config]\n'
            'default-import-policy = "accept-route"\n'
        ),
        "neighbors[0].afi-safis[0].apply-policy",
    ),
    (
        "peer-group-route-server",
        group("g", "[peer-groups.route-server.config]\nsecondary-route = true\n"),
        "peer-groups[0].route-server.config.secondary-route",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD]
)
def test_bad_config(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "toml", "rr.toml")
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    err = info.value
    assert err.path == "rr.toml"
    assert message == (
        f"rr.toml: {err.key}: {err.problem}" if err.key else f"rr.toml: {err.problem}"
    )


@pytest.mark.parametrize(
    ("snippet", "key"), [(s, k) for _, s, k in REFUSED], ids=[i for i, _, _ in REFUSED]
)
def test_refused_by_name(snippet: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(G + snippet, "toml", "rr.toml")
    assert info.value.key == key
    assert info.value.problem == "not supported by bgprr"
    assert str(info.value) == f"rr.toml: {key}: not supported by bgprr"


@needs_gobgpd
def test_gobgpd_accepts_the_refused_keys(tmp_path: Path) -> None:
    """The refused keys are GoBGP's own: gobgpd --dry-run reads each file without error."""
    for name, snippet, _ in REFUSED:
        path = tmp_path / f"{name}.toml"
        path.write_text(G + snippet)
        proc = gobgpd_dry_run(path)
        assert proc.returncode == 0, (name, proc.stdout[-500:] + proc.stderr[-500:])


# -- other formats and files ----------------------------------------------------------------


def test_json_errors() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text('{"global": {"config": {"as": "x"}}}', "json", "rr.json")
    assert str(info.value) == 'rr.json: global.config.as: expected an integer, got "x"'
    with pytest.raises(ConfigError) as info:
        load_config_text('{"global": 1, "global": 2}', "json", "rr.json")
    assert str(info.value) == 'rr.json: invalid JSON: duplicate key "global"'
    with pytest.raises(ConfigError) as info:
        load_config_text('{"global": ', "json", "rr.json")
    assert str(info.value) == "rr.json: invalid JSON: Expecting value (at line 1, column 12)"
    with pytest.raises(ConfigError) as info:
        load_config_text("[1, 2]", "json", "rr.json")
    assert str(info.value) == "rr.json: expected a table at the top level, got an array"
    with pytest.raises(ConfigError) as info:
        load_config_text('{"neighbors": [5]}', "json", "rr.json")
    assert str(info.value) == "rr.json: neighbors[0]: expected a table, got 5"


def test_yaml_errors() -> None:
    pytest.importorskip("yaml")
    with pytest.raises(ConfigError) as info:
        load_config_text("global:\n  config:\n    as: 1\n    as: 2\n", "yaml", "rr.yaml")
    assert str(info.value) == 'rr.yaml: invalid YAML: duplicate key "as" (at line 4)'
    with pytest.raises(ConfigError) as info:
        load_config_text("global:\n  config:\n    as: [1\n", "yaml", "rr.yaml")
    assert str(info.value).startswith("rr.yaml: invalid YAML: ")
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config_text("global:\n  config:\n    as: null\n", "yaml", "rr.yaml")
    assert str(info.value) == "rr.yaml: global.config.as: expected an integer, got null"


def test_unknown_format() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text("", "ini", "rr.ini")
    assert str(info.value) == "rr.ini: unknown format 'ini' (expected toml, json or yaml)"


def test_missing_file_and_check_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(info.value) == f"{missing}: cannot read file: No such file or directory"
    bad = tmp_path / "rr.toml"
    bad.write_text(G + nb(extra="bogus = 1\n"))
    assert check_main(str(bad)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{bad}: neighbors[0].config.bogus: unknown key\n"
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError) as info:
        load_config(str(binary))
    assert str(info.value) == f"{binary}: not UTF-8 text: invalid start byte"


def test_config_error_pickles() -> None:
    import pickle

    err = ConfigError("rr.toml", "global.config.as", "required key is missing")
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.key, again.problem) == (err.path, err.key, err.problem)
    assert str(ConfigError("a", "", "two\nlines")) == "a: two lines"

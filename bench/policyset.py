"""The benchmark's import policy (``REFLECTOR-policy`` in ``python -m bench --rr``).

One policy, written for each reflector in its own language with the same meaning: every
route received from any client goes through a 10,000-entry prefix set; a route the set
matches gets the community ``64512:100`` added, every route is accepted. The set:

* 5,000 exact /26 entries: every other Calico IPAM block of ``calico-10k``
  (``10.0.0.0/26``, ``10.0.0.128/26``, …), so about a third of that scenario's prefixes
  (half of its /26 blocks) match;
* 5,000 ``/16`` entries with mask lengths 16..24, spread over the Internet-like space of
  ``inet-500k`` (fixed seed), matching a share of its prefixes.

For bgprr and gobgpd (the same TOML): ``[global.apply-policy.config]`` import list, a
``prefix-sets`` entry per prefix, ``set-community`` ``add``. For BIRD 1.6 and 2: an
import filter ``if net ~ [ … ] then bgp_community.add((64512,100)); accept;``.
"""

from __future__ import annotations

import random

ENTRIES = 10_000
COMMUNITY = (64512, 100)


def entries(n: int = ENTRIES, seed: int = 7) -> list[tuple[str, int, int]]:
    """``(network, min length, max length)`` for the set's ``n`` entries."""
    half = n // 2
    out = []
    for i in range(half):
        a = 0x0A000000 + 2 * i * 64
        out.append((_dotted(a), 26, 26))
    rng = random.Random(seed)
    seen: set[int] = set()
    while len(out) < n:
        first = rng.randint(1, 223)
        if first in (10, 127):
            continue
        net = (first << 24) | (rng.getrandbits(8) << 16)
        if net in seen:
            continue
        seen.add(net)
        out.append((_dotted(net), 16, 24))
    return out


def _dotted(v: int) -> str:
    return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))


def gobgp_policy_toml(n: int = ENTRIES) -> str:
    """The TOML (gobgpd 3.10's policy language, read by bgprr too)."""
    out = [
        "[global.apply-policy.config]",
        '  import-policy-list = ["bench-import"]',
        '  default-import-policy = "accept-route"',
        "",
        "[[defined-sets.prefix-sets]]",
        '  prefix-set-name = "bench-set"',
    ]
    for net, lo, hi in entries(n):
        out += [
            "  [[defined-sets.prefix-sets.prefix-list]]",
            f'    ip-prefix = "{net}/{lo}"',
            f'    masklength-range = "{lo}..{hi}"',
        ]
    asn, val = COMMUNITY
    out += [
        "",
        "[[policy-definitions]]",
        '  name = "bench-import"',
        "  [[policy-definitions.statements]]",
        '    name = "tag"',
        "    [policy-definitions.statements.conditions.match-prefix-set]",
        '      prefix-set = "bench-set"',
        '      match-set-options = "any"',
        "    [policy-definitions.statements.actions]",
        '      route-disposition = "accept-route"',
        "    [policy-definitions.statements.actions.bgp-actions.set-community]",
        '      options = "add"',
        "      [policy-definitions.statements.actions.bgp-actions.set-community"
        ".set-community-method]",
        f'        communities-list = ["{asn}:{val}"]',
        "",
    ]
    return "\n".join(out)


def bird_filter(name: str = "bench_import", n: int = ENTRIES) -> str:
    """The same policy as a BIRD filter (the syntax is the same in 1.6 and 2)."""
    items = ",\n    ".join(
        f"{net}/{lo}" if lo == hi else f"{net}/{lo}{{{lo},{hi}}}" for net, lo, hi in entries(n)
    )
    asn, val = COMMUNITY
    return (
        f"filter {name} {{\n"
        f"  if net ~ [\n    {items}\n  ] then bgp_community.add(({asn},{val}));\n"
        "  accept;\n}\n"
    )

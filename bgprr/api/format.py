"""Text tables in GoBGP's layout, from the JSON views (pure: tested against golden text)."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


WELL_KNOWN = {
    "65535:0": "GRACEFUL_SHUTDOWN",
    "65535:6": "LLGR_STALE",
    "65535:7": "NO_LLGR",
    "65535:65281": "NO_EXPORT",
    "65535:65282": "NO_ADVERTISE",
    "65535:65283": "NO_EXPORT_SUBCONFED",
}


def updown(seconds: int | None) -> str:
    """``never`` / ``HH:MM:SS`` / ``Nd HH:MM:SS`` (GoBGP's formatTimedelta)."""
    if seconds is None:
        return "never"
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    hms = f"{hours:02d}:{mins:02d}:{secs:02d}"
    return f"{days}d {hms}" if days else hms


def _since(n: JSON) -> int | None:
    return n["uptime"] if n.get("uptime") is not None else n.get("downtime")


def neighbor_table(rows: list[JSON]) -> str:
    """``gobgp neighbor``: Peer, AS, Up/Down, State, #Received, Accepted."""
    times = [updown(_since(n)) for n in rows]
    wa = max([len("Peer")] + [len(n["address"]) for n in rows])
    wn = max([len("AS")] + [len(str(n["peer_as"])) for n in rows])
    wt = max([len("Up/Down")] + [len(t) for t in times])

    def line(peer: str, asn: str, t: str, state: str, rcv: str, acc: str) -> str:
        return f"{peer:<{wa}} {asn:>{wn}} {t:>{wt}} {state:<11} |{rcv:>9} {acc:>9}"

    out = [line("Peer", "AS", "Up/Down", "State", "#Received", "Accepted")]
    for n, t in zip(rows, times, strict=True):
        p = n["prefixes"]
        out.append(
            line(
                n["address"],
                str(n["peer_as"]),
                t,
                n["short_state"],
                str(p["received"]),
                str(p["accepted"]),
            )
        )
    return "\n".join(out) + "\n"


_MSG_ROWS = [
    ("Opens", "OPEN"),
    ("Notifications", "NOTIFICATION"),
    ("Updates", "UPDATE"),
    ("Keepalives", "KEEPALIVE"),
    ("Route Refresh", "ROUTE_REFRESH"),
]


def neighbor_detail(n: JSON) -> str:
    """``gobgp neighbor ADDR``: state, timers, capabilities, counters, last error."""
    role = ", route-reflector-client" if n["rr_client"] else ""
    neg = n.get("negotiated")
    t = n["timers"]
    lines = [f"BGP neighbor is {n['address']}, remote AS {n['peer_as']}{role}"]
    rid = neg["router_id"] if neg else "-"
    lines.append(f"  BGP version 4, remote router ID {rid}")
    state = n["state"]
    if n["admin_down"]:
        state += " (admin down)"
    elif n["pfx_limit_down"]:
        state += " (prefix limit)"
    if n.get("uptime") is not None:
        lines.append(f"  BGP state = {state}, up for {updown(n['uptime'])}")
    else:
        lines.append(f"  BGP state = {state}, down for {updown(n.get('downtime'))}")
    group = n.get("peer_group") or "-"
    kind = "dynamic" if n["dynamic"] else "static"
    lines.append(f"  Peer group: {group}, {kind}, {'passive' if n['passive'] else 'active'}")
    if n.get("description"):
        lines.append(f"  Description: {n['description']}")
    if neg:
        lines.append(
            f"  Hold time is {neg['hold_time']}, keepalive interval is "
            f"{neg['keepalive']} seconds"
        )
    lines.append(
        f"  Configured hold time is {t['hold_time']}, keepalive interval is "
        f"{_num(t['keepalive_interval'])} seconds"
    )
    lines.append(
        f"  Connect retry {_num(t['connect_retry'])} s, idle hold after reset "
        f"{_num(t['idle_hold_time_after_reset'])} s"
    )
    lines.append(f"  Configured families: {', '.join(n['families']) or '-'}")
    if neg:
        lines.append("  Neighbor capabilities:")
        lines.append(f"    families: {', '.join(neg['families']) or '-'}")
        lines.append(f"    {', '.join(neg['capabilities']) or '-'}")
        if neg["addpath_receive"] or neg["addpath_send"]:
            lines.append(
                f"    add-path receive: {', '.join(neg['addpath_receive']) or '-'}; "
                f"send: {', '.join(neg['addpath_send']) or '-'}"
            )
    sent, rcvd = n["messages"]["sent"], n["messages"]["received"]
    lines.append("  Message statistics:")
    lines.append(f"    {'':<16}{'Sent':>10} {'Rcvd':>10}")
    for label, key in _MSG_ROWS:
        lines.append(f"    {label + ':':<16}{sent.get(key, 0):>10} {rcvd.get(key, 0):>10}")
    lines.append(f"    {'Total:':<16}{sum(sent.values()):>10} {sum(rcvd.values()):>10}")
    p = n["prefixes"]
    lines.append("  Route statistics:")
    for label, key in (
        ("Advertised", "advertised"),
        ("Received", "received"),
        ("Accepted", "accepted"),
        ("Rejected (policy)", "rejected"),
        ("Withdrawn", "withdrawn_total"),
        ("Looped", "looped"),
        ("AS loop", "as_loop"),
        ("Treat-as-withdraw", "treat_as_withdraw"),
    ):
        lines.append(f"    {label + ':':<20}{p.get(key, 0):>10}")
    if n.get("last_error"):
        lines.append(f"  Last error: {n['last_error']}")
    return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else str(x)


def attrs_text(p: JSON) -> str:
    """GoBGP's ``Attrs`` column: ``[{Origin: i} {LocalPref: 100} ...]``."""
    items: list[str] = []
    if p.get("origin") is not None:
        items.append(f"{{Origin: {p['origin']}}}")
    if p.get("med") is not None:
        items.append(f"{{Med: {p['med']}}}")
    if p.get("local_pref") is not None:
        items.append(f"{{LocalPref: {p['local_pref']}}}")
    if p.get("communities"):
        names = [WELL_KNOWN.get(c, c) for c in p["communities"]]
        items.append(f"{{Communities: {', '.join(names)}}}")
    if p.get("large_communities"):
        items.append(f"{{LargeCommunity: [ {', '.join(p['large_communities'])}]}}")
    if p.get("originator_id"):
        items.append(f"{{Originator: {p['originator_id']}}}")
    if p.get("cluster_list"):
        items.append(f"{{ClusterList: [{' '.join(p['cluster_list'])}]}}")
    return "[" + " ".join(items) + "]"


def _marker(p: JSON) -> str:
    return ("S" if p.get("stale") else "*") + (">" if p.get("best") else " ")


def path_table(rows: list[tuple[str, JSON]]) -> str:
    """Rows of (prefix, path view) in GoBGP's ``global rib`` layout."""
    ages = ["" if p.get("age") is None else updown(p["age"]) for _, p in rows]
    wp = max([len("Network")] + [len(pfx) for pfx, _ in rows])
    wn = max([len("Next Hop")] + [len(p["next_hop"]) for _, p in rows])
    wa = max([len("AS_PATH")] + [len(p["as_path"]) for _, p in rows])
    wg = max([10] + [len(a) for a in ages])

    def line(m: str, pfx: str, nh: str, asp: str, age: str, attrs: str) -> str:
        return f"{m:<3}{pfx:<{wp}} {nh:<{wn}} {asp:<{wa}} {age:<{wg}} {attrs}".rstrip()

    out = [line("", "Network", "Next Hop", "AS_PATH", "Age", "Attrs")]
    for (pfx, p), age in zip(rows, ages, strict=True):
        out.append(line(_marker(p), pfx, p["next_hop"], p["as_path"], age, attrs_text(p)))
    return "\n".join(out) + "\n"


def rib_table(routes: list[JSON]) -> str:
    return path_table([(r["prefix"], p) for r in routes for p in r["paths"]])


def adj_table(paths: list[JSON]) -> str:
    return path_table([(p["prefix"], p) for p in paths])


def policy_text(p: JSON) -> str:
    """``gobgp global policy`` / ``gobgp neighbor ADDR policy``: the chains that apply."""
    lines = []
    if p.get("address"):
        where = "its own (route-server client)" if p["source"] == "neighbor" else "global"
        lines.append(f"Neighbor {p['address']}: {where} policy")
    for direction in ("import", "export"):
        chain = p[direction]
        names = ", ".join(chain["policies"]) or "-"
        lines.append(f"{direction.capitalize()} policy: {names}")
        lines.append(f"  Default: {chain['default']}")
    return "\n".join(lines) + "\n"


def rib_summary(summary: JSON, family: str | None = None) -> str:
    lines: list[str] = []
    for name, fam in summary["families"].items():
        if family is not None and name != family:
            continue
        lines.append(f"Table {name}-unicast")
        lines.append(f"Destination: {fam['destinations']}, Path: {fam['paths']}")
        lines.append(f"Local routes: {fam['local']}, Update groups: {fam['update_groups']}")
    lines.append(f"Attribute sets: {summary['attribute_sets']}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the instance


def instance_line(info: JSON, address: str) -> str:
    """The first line of the CLI's human output: which bgprr answered, and where."""
    parts = [f"bgprr {info['version']}", f"router id {info['router_id']}",
             f"AS {info['local_as']}"]
    if info.get("config"):
        parts.append(f"config {info['config']}")
    parts.append(address)
    ready = info["readiness"]
    if not ready["ready"]:
        parts.append(f"not ready: {ready['reason']}")
    parts += [f"warning: {w}" for w in ready.get("warnings", ())]
    return " · ".join(parts) + "\n"


WAITING_SHOWN = 10  # peers listed by `bgprr global` while a graceful restart waits


def global_text(info: JSON) -> str:
    """``bgprr global``: identity, listener, readiness."""
    addrs = ", ".join(info["listen_addresses"]) or "-"
    port = info["listen_port"]
    listen = f"{port}, Addresses: {addrs}" if port >= 0 else "none (port -1)"
    ready = info["readiness"]
    lines = [
        f"AS:             {info['local_as']}",
        f"Router-ID:      {info['router_id']}",
        f"Cluster-ID:     {info['cluster_id']}",
        f"Listening Port: {listen}",
        f"Config:         {info['config'] or '-'}",
        f"Version:        {info['version']}, PID {info['pid']}",
        f"Uptime:         {updown(info['uptime'])}",
        f"Neighbors:      {info['neighbors']}",
        f"Ready:          {'yes' if ready['ready'] else 'no: ' + ready['reason']}",
    ]
    lines += [f"Warning:        {w}" for w in ready.get("warnings", ())]
    restart = ready["restart"]
    if restart is not None:
        lines.append(f"Restart (-r):   {restart['phase']}")
        waiting = restart["waiting_for"]
        if waiting:
            more = len(waiting) - WAITING_SHOWN
            shown = ", ".join(waiting[:WAITING_SHOWN]) + (f" (+{more} more)" if more > 0 else "")
            lines.append(f"Waiting for:    {shown}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- what happened

_CONNECTED = ("OpenSent", "OpenConfirm", "Established")


def session_text(n: JSON) -> str:
    """Where a neighbor's session stands, in words."""
    state = n["state"]
    if n["admin_down"]:
        return f"shut down (state {n['short_state']})"
    if n["pfx_limit_down"]:
        return f"down after its prefix limit (state {n['short_state']})"
    if state == "Established":
        return "session up (state Established)"
    if state in _CONNECTED:
        return f"opening the session (state {state})"
    if state == "Idle":
        return "starting after its idle hold time (state Idle)"
    if n["passive"]:
        return f"passive: waiting for the peer to connect (state {state})"
    return f"connecting to the peer (state {state})"


def neighbor_op_text(op: str, before: JSON, after: JSON, family: str | None = None) -> str:
    """One line saying what ``bgprr neighbor ADDR OP`` did, from the neighbor's detail
    before and after."""
    a = after["address"]
    up = before["state"] in _CONNECTED
    if op == "enable":
        if not (before["admin_down"] or before["pfx_limit_down"]):
            return f"neighbor {a} was not shut down; nothing to do: {session_text(after)}\n"
        return f"neighbor {a} enabled; {session_text(after)}\n"
    if op in ("shutdown", "disable"):
        if before["admin_down"]:
            return f"neighbor {a} was already shut down (state {after['short_state']})\n"
        sent = " (Cease / Administrative Shutdown sent)" if up else ""
        return (
            f"neighbor {a} shut down{sent}; it stays Idle(Admin) until "
            f"`bgprr neighbor {a} enable`\n"
        )
    if op == "reset":
        if before["pfx_limit_down"]:
            return f"neighbor {a} started again after its prefix limit; {session_text(after)}\n"
        sent = " (Cease / Administrative Reset sent)" if up else ""
        return f"neighbor {a} reset{sent}; {session_text(after)}\n"
    neg = before.get("negotiated") or {}
    fams = [family] if family else list(neg.get("families") or [])
    what = ", ".join(fams) or "no family"
    if op == "softresetin":
        return f"neighbor {a}: ROUTE-REFRESH sent ({what}); it sends its routes again\n"
    if op == "softresetout":
        return f"neighbor {a}: sending it every route again ({what})\n"
    return f"neighbor {a}: {op} done ({session_text(after)})\n"

"""gobgp-style client commands (``bgprr neighbor``, ``bgprr global rib``) over the control API.

Human output starts with one line naming the instance that answered (version, router id,
AS, config file, socket; readiness when not ready); changes print what they did. JSON
output (``--json``) is the method's result unchanged.

Exit status: 0 success; 1 not found (or the daemon refused: exists, internal error);
2 usage error, bad value, or the daemon cannot be reached (the message names the socket).
The socket comes from the group option ``--api-socket`` or else ``BGPRR_API_SOCKET``
(``tcp://127.0.0.1:PORT`` for the loopback TCP listener, with ``BGPRR_API_TOKEN``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from bgprr.api import format as fmt
from bgprr.api.client import DEFAULT_SOCKET, Client
from bgprr.api.errors import ApiError, BadRequest

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
_EXIT = {"not_found": 1, "exists": 1, "internal": 1, "bad_request": 2, "unavailable": 2}

NEIGHBOR_OPS = ("reset", "softresetin", "softresetout", "shutdown", "enable", "disable")


def api_address(ctx: click.Context) -> str:
    root = ctx.find_root()
    given = (root.obj or {}).get("api_socket")
    if root.get_parameter_source("api_socket") in (ParameterSource.COMMANDLINE, None) and given:
        return str(given)
    return os.environ.get("BGPRR_API_SOCKET") or str(given or DEFAULT_SOCKET)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"bgprr: {message}", err=True)
    sys.exit(code)


def _client(ctx: click.Context) -> Client:
    """One connection per command (closed when the command ends)."""
    root = ctx.find_root()
    client = root.meta.get("bgprr.client")
    if not isinstance(client, Client):
        client = Client(api_address(ctx), token=os.environ.get("BGPRR_API_TOKEN"))
        root.meta["bgprr.client"] = client
        root.call_on_close(client.close)
    return client


def _call(ctx: click.Context, method: str, params: dict[str, Any] | None = None) -> Any:
    try:
        return _client(ctx).call(method, params)
    except ApiError as exc:
        _fail(exc.message, _EXIT.get(exc.code, 1))


def _info(ctx: click.Context) -> dict[str, Any] | None:
    """The answering instance's ``global.get`` (None from a bgprr without it)."""
    root = ctx.find_root()
    if "bgprr.info" not in root.meta:
        try:
            root.meta["bgprr.info"] = _client(ctx).call("global.get")
        except BadRequest as exc:
            if not exc.message.startswith("unknown method"):
                _fail(exc.message, EXIT_USAGE)  # e.g. a wrong token
            root.meta["bgprr.info"] = None
        except ApiError as exc:
            _fail(exc.message, _EXIT.get(exc.code, 1))
    info: dict[str, Any] | None = root.meta["bgprr.info"]
    return info


def _header(ctx: click.Context) -> None:
    """Human output starts with the instance that answered (router id, AS, config)."""
    info = _info(ctx)
    if info is not None:
        click.echo(fmt.instance_line(info, api_address(ctx)), nl=False)


def _emit(ctx: click.Context, data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        _header(ctx)
        click.echo(text(data), nl=False)


def _say(ctx: click.Context, line: str) -> None:
    """What a change did (human output only)."""
    _header(ctx)
    click.echo(line, nl=False)


def _usage(ctx: click.Context, message: str) -> NoReturn:
    click.echo(ctx.get_usage(), err=True)
    _fail(message, EXIT_USAGE)


@click.command(
    "neighbor",
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Show or change neighbors (gobgp neighbor).",
)
@click.argument("args", nargs=-1)
@click.option("--as", "asn", type=int, metavar="N", help="add: the neighbor's AS.")
@click.option("--rr-client", is_flag=True, help="add: a route-reflector client.")
@click.option(
    "--password", metavar="TEXT",
    help="add: TCP-MD5 password; `-` reads it from the first line of stdin (a password in "
    "the command line is visible to every local user while the command runs).",
)
@click.option("--peer-group", metavar="G", help="add: inherit from this peer group.")
@click.option("--passive", is_flag=True, help="add: wait for the neighbor to connect.")
@click.option("--message", "-m", "message", metavar="TEXT", help="shutdown/reset/disable: text.")
@click.option("-a", "--address-family", "family", metavar="ipv4|ipv6", help="adj-in/adj-out.")
@click.option(
    "--post-policy", is_flag=True, help="adj-in: after the import policy (default: before)."
)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def neighbor_cmd(
    ctx: click.Context,
    args: tuple[str, ...],
    asn: int | None,
    rr_client: bool,
    password: str | None,
    peer_group: str | None,
    passive: bool,
    message: str | None,
    family: str | None,
    post_policy: bool,
    as_json: bool,
) -> None:
    """Neighbors.

    \b
    bgprr neighbor                              the neighbor table
    bgprr neighbor ADDR                         one neighbor in detail
    bgprr neighbor ADDR adj-in [--post-policy]  routes received from it (before policy)
    bgprr neighbor ADDR adj-out                 routes sent to it (after policy)
    bgprr neighbor ADDR policy                  the import/export policy that applies
    bgprr neighbor add ADDR --as N [--rr-client] [--password P|-] [--peer-group G]
    bgprr neighbor del ADDR
    bgprr neighbor ADDR reset|softresetin|softresetout|shutdown|enable|disable [-m TEXT]
    """
    add_opts = asn is not None or rr_client or password or peer_group or passive
    if args[:1] != ("add",) and add_opts:
        _usage(ctx, "--as, --rr-client, --password, --peer-group and --passive go with 'add'")
    if not args:
        _emit(ctx, _call(ctx, "neighbor.list"), as_json, fmt.neighbor_table)
        return
    if args[0] == "add":
        if len(args) != 2 or asn is None:
            _usage(ctx, "usage: bgprr neighbor add ADDR --as N [options]")
        params: dict[str, Any] = {"address": args[1], "peer_as": asn, "rr_client": rr_client}
        if password == "-":
            password = sys.stdin.readline().rstrip("\r\n")
        if password:
            params["password"] = password
        if peer_group:
            params["peer_group"] = peer_group
        if passive:
            params["passive"] = True
        result = _call(ctx, "neighbor.add", params)
        if as_json:
            _emit(ctx, result, True, str)
        else:
            role = ", route-reflector client" if result["rr_client"] else ""
            _say(ctx, f"neighbor {result['address']} added (AS {result['peer_as']}{role}); "
                      f"{fmt.session_text(result)}\n")
        return
    if args[0] in ("del", "delete"):
        if len(args) != 2:
            _usage(ctx, "usage: bgprr neighbor del ADDR")
        before = _call(ctx, "neighbor.get", {"address": args[1]})
        _call(ctx, "neighbor.delete", {"address": args[1]})
        if not as_json:
            sent = " (Cease / Peer De-configured sent)" if before["state"] in (
                "OpenSent", "OpenConfirm", "Established") else ""
            _say(ctx, f"neighbor {before['address']} deleted{sent}\n")
        return
    address = args[0]
    if len(args) == 1:
        detail = _call(ctx, "neighbor.get", {"address": address})
        _emit(ctx, detail, as_json, fmt.neighbor_detail)
        return
    op = args[1]
    if post_policy and op != "adj-in":
        _usage(ctx, "--post-policy goes with 'adj-in'")
    if op == "policy" and len(args) == 2:
        result = _call(ctx, "neighbor.policy", {"address": address})
        _emit(ctx, result, as_json, fmt.policy_text)
        return
    if op in ("adj-in", "adj-out") and len(args) == 2:
        params = {"address": address}
        if family:
            params["family"] = family
        if post_policy:
            params["post_policy"] = True
        method = "neighbor.adj_in" if op == "adj-in" else "neighbor.adj_out"
        _emit(ctx, _call(ctx, method, params), as_json, fmt.adj_table)
        return
    if op in NEIGHBOR_OPS and len(args) == 2:
        params = {"address": address}
        if message is not None and op in ("reset", "shutdown", "disable"):
            params["message"] = message
        if family and op in ("softresetin", "softresetout"):
            params["family"] = family
        before = None if as_json else _call(ctx, "neighbor.get", {"address": address})
        _call(ctx, f"neighbor.{op}", params)
        if before is not None:
            after = _call(ctx, "neighbor.get", {"address": address})
            _say(ctx, fmt.neighbor_op_text(op, before, after, params.get("family")))
        return
    _usage(ctx, f"unknown neighbor command: {' '.join(args)}")


@click.group(
    "global",
    invoke_without_command=True,
    short_help="This bgprr and its global RIB (gobgp global, gobgp global rib).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def global_cmd(ctx: click.Context, as_json: bool) -> None:
    """This bgprr (router id, AS, listener, config file, readiness) and its global RIB.

    \b
    bgprr global [--json]                       this instance and whether it is ready
    bgprr global rib ...                        the Loc-RIB (bgprr global rib --help)
    bgprr global policy [--json]                the global import/export policy
    """
    if ctx.invoked_subcommand is not None:
        return
    info = _info(ctx)
    if info is None:
        _fail("this bgprr does not answer global.get (an older version)", 1)
    _emit(ctx, info, as_json, fmt.global_text)


_MATCH = {"longer-prefixes": "longer", "shorter-prefixes": "shorter"}


@global_cmd.command("policy", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def policy_cmd(ctx: click.Context, as_json: bool) -> None:
    """The global import and export policy (every neighbor but route-server clients)."""
    _emit(ctx, _call(ctx, "global.policy"), as_json, fmt.policy_text)


@global_cmd.command("rib", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1)
@click.option("-a", "--address-family", "family", metavar="ipv4|ipv6")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def rib_cmd(ctx: click.Context, args: tuple[str, ...], family: str | None, as_json: bool) -> None:
    """The Loc-RIB.

    \b
    bgprr global rib [-a ipv4|ipv6] [PREFIX [longer-prefixes|shorter-prefixes]]
    bgprr global rib summary [-a ipv4|ipv6]
    bgprr global rib add PREFIX nexthop NH [origin igp|egp|incomplete] [med N]
          [local-pref N] [community A:B[,A:B]] [large-community A:B:C[,...]] [aspath "1 2"]
    bgprr global rib del PREFIX
    """
    if args[:1] == ("summary",):
        if len(args) != 1:
            _usage(ctx, "usage: bgprr global rib summary")
        summary = _call(ctx, "rib.summary")
        _emit(ctx, summary, as_json, lambda s: fmt.rib_summary(s, family))
        return
    if args[:1] == ("add",):
        _rib_add(ctx, args[1:], as_json)
        return
    if args[:1] in (("del",), ("delete",)):
        if len(args) != 2:
            _usage(ctx, "usage: bgprr global rib del PREFIX")
        _call(ctx, "route.delete", {"prefix": args[1]})
        if not as_json:
            _say(ctx, f"route {args[1]} withdrawn\n")
        return
    if len(args) > 2 or (len(args) == 2 and args[1] not in _MATCH):
        _usage(ctx, "usage: bgprr global rib [PREFIX [longer-prefixes|shorter-prefixes]]")
    params: dict[str, Any] = {}
    if args:
        params["prefix"] = args[0]
        params["match"] = _MATCH[args[1]] if len(args) == 2 else "exact"
        if family is None:
            family = "ipv6" if ":" in args[0] else "ipv4"
    params["family"] = family or "ipv4"
    routes = _call(ctx, "rib.get", params)
    if args and not routes:
        if as_json:
            _emit(ctx, [], True, str)
        _fail("Network not in table", EXIT_NOT_FOUND)
    _emit(ctx, routes, as_json, fmt.rib_table)


_RIB_KEYS = {
    "nexthop": "next_hop",
    "origin": "origin",
    "med": "med",
    "local-pref": "local_pref",
    "community": "communities",
    "large-community": "large_communities",
    "aspath": "as_path",
}


def _rib_add(ctx: click.Context, words: tuple[str, ...], as_json: bool) -> None:
    if len(words) < 3 or len(words) % 2 == 0:
        _usage(ctx, "usage: bgprr global rib add PREFIX nexthop NH [KEY VALUE]...")
    params: dict[str, Any] = {"prefix": words[0]}
    for key, value in zip(words[1::2], words[2::2], strict=True):
        name = _RIB_KEYS.get(key)
        if name is None:
            _usage(ctx, f"unknown attribute {key!r}")
        try:
            if name in ("med", "local_pref"):
                params[name] = int(value)
            elif name == "as_path":
                params[name] = [int(a) for a in value.split()]
            elif name in ("communities", "large_communities"):
                params[name] = [c for c in value.split(",") if c]
            else:
                params[name] = value
        except ValueError:
            _usage(ctx, f"invalid {key} {value!r}")
    if "next_hop" not in params:
        _usage(ctx, "nexthop is required")
    _call(ctx, "route.add", params)
    if not as_json:
        _say(ctx, f"route {words[0]} added (next hop {params['next_hop']})\n")


def register(main: click.Group) -> None:
    """Add the client commands to the ``bgprr`` group."""
    main.add_command(neighbor_cmd)
    main.add_command(global_cmd)

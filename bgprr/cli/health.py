"""``bgprr health``: probe a running bgprr's ``/healthz`` or ``/readyz`` (stdlib only), for
exec probes and container HEALTHCHECKs where there is no curl.

Exit status: 0 healthy (ready with ``--ready``); 1 not, or not reachable; 2 a bad address.
"""

from __future__ import annotations

import http.client
import os
import sys

import click

DEFAULT_HTTP = "127.0.0.1:9179"


@click.command("health", short_help="Probe /healthz or /readyz of a running bgprr (exit 0/1).")
@click.option(
    "--http", "address", metavar="HOST:PORT", default=None,
    help="Its --http address (default: $BGPRR_HTTP, else 127.0.0.1:9179).",
)
@click.option("--ready", is_flag=True, help="Ask /readyz (ready to serve) instead of /healthz.")
@click.option(
    "--timeout", type=float, default=3.0, show_default=True, metavar="SECONDS",
    help="Give up (exit 1) after this long.",
)
@click.pass_context
def health(ctx: click.Context, address: str | None, ready: bool, timeout: float) -> None:
    """Ask a running bgprr whether it is healthy (its event loop answers) or, with
    --ready, ready (listening; after -r, its graceful restart complete). Prints the
    answer line (`ok`, `ready`, `not ready: REASON`); exit 0 when healthy/ready, else 1."""
    from bgprr.api.http import hostport_text, parse_hostport

    root = ctx.find_root()
    given = address or (root.obj or {}).get("http") or os.environ.get("BGPRR_HTTP")
    try:
        host, port = parse_hostport(given or DEFAULT_HTTP)
    except ValueError as exc:
        click.echo(f"bgprr: {exc}", err=True)
        sys.exit(2)
    path = "/readyz" if ready else "/healthz"
    url = f"http://{hostport_text(host, port)}{path}"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"bgprr: cannot reach bgprr at {url}: {why or type(exc).__name__}", err=True)
        sys.exit(1)
    finally:
        conn.close()
    click.echo(body.splitlines()[0] if body else f"HTTP {resp.status} {resp.reason}")
    sys.exit(0 if resp.status == 200 else 1)

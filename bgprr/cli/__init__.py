"""The ``bgprr`` command: the daemon (``bgprr --config rr.toml``) and its tools."""

from __future__ import annotations

import os
import sys

import click

CONFIG_TYPES = ("toml", "json", "yaml")


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config", "-f", "config_path", metavar="FILE",
    help="Configuration file (GoBGP format). `-f` as in gobgpd.",
)
@click.option(
    "--config-type", "-t", type=click.Choice(CONFIG_TYPES), default="toml", show_default=True,
    help="Configuration file format.",
)
@click.option(
    "--graceful-restart", "-r", is_flag=True,
    help="Start as a restarting speaker (RFC 4724): peers keep our routes until we are back.",
)
@click.option(
    "--no-uvloop", is_flag=True, help="Use the stdlib asyncio loop even if uvloop is installed."
)
@click.option(
    "--log-level", "-l", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--state-dir", default="/var/lib/bgprr", show_default=True, metavar="DIR",
    help="Where the graceful-restart state (peers to wait for) is kept.",
)
@click.option(
    "--api-socket", default="/run/bgprr.sock", show_default=True, metavar="PATH",
    help="Control API Unix socket (mode 0600; empty: none). If a live bgprr holds it, "
    "this one does not start. Client commands use it too (else $BGPRR_API_SOCKET).",
)
@click.option(
    "--api-tcp", metavar="HOST:PORT", default=None,
    help="Also serve the control API on TCP (loopback only); requests must carry the token "
    "from $BGPRR_API_TOKEN.",
)
@click.option(
    "--http", metavar="HOST:PORT", default=None, envvar="BGPRR_HTTP",
    help="Serve /healthz, /readyz and (with the metrics extra) /metrics on HTTP, e.g. "
    "127.0.0.1:9179 (else $BGPRR_HTTP). `bgprr health` probes it.",
)
@click.option(
    "--metrics", metavar="HOST:PORT", default=None,
    help="The same server as --http (an alias), but refuse to start without "
    "prometheus-client (pip install 'bgprr[metrics]').",
)
@click.pass_context
def main(
    ctx: click.Context,
    config_path: str | None,
    config_type: str,
    graceful_restart: bool,
    no_uvloop: bool,
    log_level: str,
    log_format: str,
    state_dir: str,
    api_socket: str,
    api_tcp: str | None,
    http: str | None,
    metrics: str | None,
) -> None:
    """bgprr: a BGP-4 route reflector. `bgprr --config rr.toml` runs the daemon."""
    ctx.ensure_object(dict)
    ctx.obj["api_socket"] = api_socket
    ctx.obj["http"] = http
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        click.echo(ctx.get_help())
        ctx.exit(2)
    from bgprr.app import run_daemon

    code = run_daemon(
        config_path,
        config_type=config_type,
        graceful_restart=graceful_restart,
        use_uvloop=not no_uvloop,
        log_level=log_level,
        log_format=log_format,
        state_dir=state_dir,
        api_socket=api_socket,
        api_tcp=api_tcp,
        api_token=os.environ.get("BGPRR_API_TOKEN"),
        metrics=metrics,
        http=http,
    )
    sys.exit(code)


@main.command()
@click.option("--config", "-f", "config_path", metavar="FILE", required=True)
@click.option("--config-type", "-t", type=click.Choice(CONFIG_TYPES), default="toml")
def check(config_path: str, config_type: str) -> None:
    """Validate a configuration and print the effective settings."""
    from bgprr.config import check_main

    sys.exit(check_main(config_path, config_type))


def _register_tools() -> None:
    from .decode import decode
    from .health import health
    from .ops import register

    main.add_command(decode)
    main.add_command(health)
    register(main)


_register_tools()

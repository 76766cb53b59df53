"""The bgprr process: configuration, logging, the daemon, the control API, the health and
metrics server and signals, wired together (what ``bgprr --config`` runs).

The layers below know nothing of the process: :class:`~bgprr.io.daemon.Daemon` runs
inside any event loop, :class:`~bgprr.api.library.RouteReflector` serves the control API
and metrics on request. Signals: SIGTERM and SIGINT stop (gracefully when graceful
restart is configured), SIGUSR2 stops withdrawing everything, SIGHUP reloads the
configuration file.
"""

from __future__ import annotations

import gc
import logging
import resource
import signal
import sys

from bgprr.api.http import parse_hostport
from bgprr.api.library import RouteReflector
from bgprr.api.metrics import metrics_unavailable
from bgprr.config import Config, ConfigError, load_config
from bgprr.io import loop as loops
from bgprr.io.daemon import Daemon
from bgprr.io.logs import setup_logging
from bgprr.io.memprobe import from_env as memprobe_from_env

log = logging.getLogger("bgprr")


async def serve(
    config: Config,
    *,
    config_path: str | None = None,
    config_type: str = "toml",
    graceful_restart: bool = False,
    state_dir: str | None = None,
    api_socket: str | None = None,
    api_tcp: str | None = None,
    api_token: str | None = None,
    metrics: str | None = None,
    http: str | None = None,
) -> int:
    """Run until stopped. The control socket is claimed first, so that a second instance
    given the socket of a live one stops there (exit 1) without touching its BGP port;
    the health server answers ``/readyz`` (``starting``) before the daemon listens."""
    daemon = Daemon(
        config, graceful_restart=graceful_restart, state_dir=state_dir, config_type=config_type
    )
    reflector = RouteReflector.attach(daemon, config_path=config_path)
    try:
        await reflector.serve_control(
            api_socket, metrics, tcp=api_tcp, token=api_token, http=http
        )
    except (OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    try:
        await daemon.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        await reflector.close_control()
        return 1
    loop = daemon.loop
    stopping: list[bool] = []

    def on_term(graceful: bool | None) -> None:
        if stopping:
            return
        stopping.append(True)
        log.info("stopping (%s)", "withdrawing everything" if graceful is False else "signal")
        loop.create_task(daemon.stop(graceful=graceful))

    loop.add_signal_handler(signal.SIGTERM, on_term, None)
    loop.add_signal_handler(signal.SIGINT, on_term, None)
    loop.add_signal_handler(signal.SIGUSR2, on_term, False)
    if config_path is not None:
        loop.add_signal_handler(signal.SIGHUP, daemon.reload, config_path)
    probe = memprobe_from_env(daemon.memory_figures)  # measurements only (bench/memprobe.py)
    await daemon.stopped.wait()
    if probe is not None:
        probe.close()
    await reflector.close_control()
    return 0


def raise_open_files_limit() -> tuple[int, int]:
    """Every neighbor is a socket, and systemd's (and many shells') soft limit of 1024
    open files is below a large Calico cluster: raise the soft limit to the hard one
    (capped at 1,048,576). Returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files limit stays %d: %s", soft, exc)
            return soft, soft
        return soft, want
    return soft, soft


def tune_gc() -> None:
    """Routes are long-lived objects: with the default thresholds (a young collection every
    700 allocations, full ones scanning every path) the collector takes a large share of
    the CPU of a bulk load and pauses the loop at large tables. Freeze what is loaded at
    start and collect the young generation far less often (figures: docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


def run_daemon(
    config_path: str,
    *,
    config_type: str = "toml",
    graceful_restart: bool = False,
    use_uvloop: bool = True,
    log_level: str = "info",
    log_format: str = "text",
    state_dir: str | None = None,
    api_socket: str | None = None,
    api_tcp: str | None = None,
    api_token: str | None = None,
    metrics: str | None = None,
    http: str | None = None,
) -> int:
    if api_tcp and not api_token:
        print("bgprr: --api-tcp needs a token in BGPRR_API_TOKEN", file=sys.stderr)
        return 2
    problem = _http_problem(http, metrics)
    if problem:
        print(f"bgprr: {problem}", file=sys.stderr)
        return 2
    try:
        config = load_config(config_path, config_type)
    except ConfigError as exc:
        print(f"bgprr: {exc}", file=sys.stderr)
        return 2
    setup_logging(log_level, log_format)
    tune_gc()
    before, after = raise_open_files_limit()
    if after != before:
        log.info("open files limit raised from %d to %d", before, after)
    _, loop_name = loops.loop_factory(use_uvloop)
    log.info(
        "bgprr starting: AS %d, router id %s, %d neighbors, %s loop%s",
        config.global_.asn,
        config.global_.router_id,
        len(config.neighbors),
        loop_name,
        ", graceful restart (-r)" if graceful_restart else "",
    )
    return loops.run(
        serve(
            config,
            config_path=config_path,
            config_type=config_type,
            graceful_restart=graceful_restart,
            state_dir=state_dir,
            api_socket=api_socket or None,
            api_tcp=api_tcp,
            api_token=api_token,
            metrics=metrics,
            http=http,
        ),
        use_uvloop=use_uvloop,
    )


def _http_problem(http: str | None, metrics: str | None) -> str | None:
    """Why ``--http`` / ``--metrics`` cannot work (one line), or None."""
    if http is not None:
        try:
            parse_hostport(http, "--http")
        except ValueError as exc:
            return str(exc)
    if metrics is not None:
        problem = metrics_unavailable(metrics)
        if problem:
            return problem
        if http is not None and http != metrics:
            return "--metrics is an alias of --http: give one address"
    return None


__all__ = ["raise_open_files_limit", "run_daemon", "serve", "tune_gc"]

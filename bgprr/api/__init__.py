"""Operate and embed bgprr: the library API (:mod:`bgprr.api.library`), the control API
(:mod:`bgprr.api.control`, client :mod:`bgprr.api.client`), Prometheus metrics
(:mod:`bgprr.api.metrics`); the gobgp-style CLI commands over the control API are
:mod:`bgprr.cli.ops`. Nothing is imported here, so that ``bgprr`` client commands start
fast."""

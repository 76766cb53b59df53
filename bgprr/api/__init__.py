"""Operate and embed bgprr: the library API (:mod:`bgprr.api.library`), the control API
(:mod:`bgprr.api.control`, client :mod:`bgprr.api.client`), Prometheus metrics
(:mod:`bgprr.api.metrics`) and the gobgp-style CLI commands (:mod:`bgprr.api.cli_ops`).
Nothing is imported here, so that ``bgprr`` client commands start fast."""

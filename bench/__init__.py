"""bgprr benchmarks: load tester, reflector runner, scenarios (``python -m bench``)."""

"""Coverage-guided fuzzing of bgprr with atheris (libFuzzer for Python).

    python -m tests.fuzz TARGET [CORPUS_DIR] [libFuzzer flags...]
    python -m tests.fuzz seeds TARGET DIR      # write the seed corpus of TARGET into DIR

TARGET is one of tests/fuzz/targets.py's TARGETS (decoder, session, reflector). Without a
corpus directory a temporary one is made and seeded from the real and hand-made captures
in tests/wire/golden/. bgprr's modules are instrumented for coverage; a crash (an
:class:`~tests.fuzz.targets.Invariant` or any other exception) stops the run and writes
the input to ``crash-*``: copy it to tests/fuzz/crashes/TARGET/ and it becomes a
regression test (tests/fuzz/test_fuzz.py replays that directory). Examples::

    python -m tests.fuzz decoder -runs=200000
    python -m tests.fuzz reflector /tmp/corpus-reflector -max_total_time=3600 -print_final_stats=1
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.fuzz.seeds import write_seeds


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[1] == "seeds":
        if len(argv) != 4:
            print("usage: python -m tests.fuzz seeds TARGET DIR", file=sys.stderr)
            return 2
        print(write_seeds(argv[2], Path(argv[3])))
        return 0
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    import atheris

    with atheris.instrument_imports(include=["bgprr"]):
        from tests.fuzz.targets import TARGETS
    name = argv[1]
    if name not in TARGETS:
        print(f"unknown target {name!r}: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    rest = argv[2:]
    if not rest or rest[0].startswith("-"):
        corpus = Path(tempfile.mkdtemp(prefix=f"bgprr-fuzz-{name}-"))
        rest = [str(corpus), *rest]
    write_seeds(name, Path(rest[0]))
    target = TARGETS[name]
    atheris.Setup([argv[0], *rest], target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

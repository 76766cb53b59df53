"""The import graph of the ``bgprr`` package, and its circles.

    python tools/import_graph.py                 # every module and what it imports of bgprr
    python tools/import_graph.py --check         # exit 1 if any import circle exists
    python tools/import_graph.py --root DIR      # another checkout (default: this one)

Every ``import`` / ``from ... import`` of a ``bgprr`` module counts, wherever it stands:
at the top, inside a function, or under ``if TYPE_CHECKING:``. ``from pkg import name``
counts as an import of ``pkg.name`` when that is a module, else of ``pkg``. A package's
``__init__`` is the module named like the package. Circles are the strongly connected
components of more than one module (or a module importing itself).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path


def modules(root: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every .py file of the package under ``root``."""
    out: dict[str, Path] = {}
    for f in sorted((root / package).rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _resolve(base: str, level: int, name: str | None, is_package: bool) -> str:
    """The absolute module named by a (possibly relative) ``from`` import."""
    if level == 0:
        return name or ""
    parts = base.split(".")
    # a package's own module is its __init__: "." is the package itself
    drop = level - 1 if is_package else level
    if drop:
        parts = parts[:-drop]
    return ".".join([*parts, name] if name else parts)


def imports_of(mod: str, path: Path, known: dict[str, Path], package: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        # the longest known module that the import names
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != mod:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == package or a.name.startswith(package + "."):
                    add(a.name)
        elif isinstance(node, ast.ImportFrom):
            src = _resolve(mod, node.level, node.module, is_package)
            if not (src == package or src.startswith(package + ".")):
                continue
            for a in node.names:
                sub = f"{src}.{a.name}"
                add(sub if sub in known else src)
    return found


def graph(root: Path, package: str = "bgprr") -> dict[str, set[str]]:
    known = modules(root, package)
    return {m: imports_of(m, f, known, package) for m, f in known.items()}


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(g):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(g[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in g:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp: list[str] = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in g[v]:
                        out.append(sorted(comp))
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--check", action="store_true", help="only report circles; exit 1 if any")
    args = ap.parse_args(argv)
    g = graph(args.root)
    if not args.check:
        for m in sorted(g):
            print(f"{m} -> {', '.join(sorted(g[m])) or '(nothing of bgprr)'}")
        print()
    found = circles(g)
    edges = sum(len(v) for v in g.values())
    print(f"{len(g)} modules, {edges} imports, {len(found)} import circle(s)")
    for c in found:
        inner = [f"{a} -> {b}" for a in c for b in sorted(g[a]) if b in c]
        print(f"  circle of {len(c)}: " + "; ".join(inner))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""The key facts of the bgprr container image (user, working directory, environment,
volumes, ports, entry point, command), read from the three places that state them:

- ``deploy/image/build``: the ``CHANGES=( ... )`` array, one quoted Containerfile-style
  instruction per line, which the script hands to ``podman import --change``;
- ``examples/Containerfile``: the instructions of its last stage;
- ``podman image inspect`` of a built image (its ``Config``).

The same :class:`Layout` from each lets a test say that they agree::

    python tools/image_layout.py        # print the facts of the script and the Containerfile
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "deploy" / "image" / "build"
CONTAINERFILE = ROOT / "examples" / "Containerfile"
KEYS = ("USER", "WORKDIR", "ENV", "VOLUME", "EXPOSE", "ENTRYPOINT", "CMD")


@dataclass(slots=True)
class Layout:
    user: str | None = None
    workdir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    volumes: set[str] = field(default_factory=set)
    ports: set[str] = field(default_factory=set)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    def apply(self, instruction: str) -> None:
        """Apply one instruction (``KEY args``); other keys than :data:`KEYS` are ignored."""
        key, _, args = instruction.strip().partition(" ")
        key = key.upper()
        args = args.strip()
        if key == "USER":
            self.user = args
        elif key == "WORKDIR":
            self.workdir = args
        elif key == "ENV":
            self.env.update(_env_pairs(args))
        elif key == "VOLUME":
            self.volumes.update(_words(args))
        elif key == "EXPOSE":
            self.ports.update(p if "/" in p else f"{p}/tcp" for p in _words(args))
        elif key == "ENTRYPOINT":
            self.entrypoint = _words(args)
        elif key == "CMD":
            self.cmd = _words(args)


def _words(args: str) -> list[str]:
    """JSON (exec) form ``["a", "b"]`` or the whitespace-separated shell form."""
    if args.startswith("["):
        value = json.loads(args)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"not a list of strings: {args}")
        return list(value)
    return shlex.split(args)


def _env_pairs(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if words and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        return {words[0]: args.split(None, 1)[1] if len(words) > 1 else ""}
    return dict(w.split("=", 1) for w in words)


def script_layout(path: Path = BUILD_SCRIPT) -> Layout:
    """The facts in the ``CHANGES=(`` ... ``)`` array of the build script."""
    layout = Layout()
    inside = False
    found = False
    for line in path.read_text().splitlines():
        text = line.strip()
        if text == "CHANGES=(":
            inside = found = True
            continue
        if inside and text == ")":
            inside = False
            continue
        if inside and text and not text.startswith("#"):
            (instruction,) = shlex.split(text)
            layout.apply(instruction)
    if not found:
        raise ValueError(f"{path}: no CHANGES=( array")
    return layout


def containerfile_layout(path: Path = CONTAINERFILE) -> Layout:
    """The facts stated by the last stage of a Containerfile (continuations joined)."""
    instructions: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        text = line.strip()
        if not pending and (not text or text.startswith("#")):
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        instructions.append(pending + text)
        pending = ""
    layout = Layout()
    for instruction in instructions:
        if instruction.split(" ", 1)[0].upper() == "FROM":
            layout = Layout()
        else:
            layout.apply(instruction)
    return layout


def inspect_layout(inspect: dict[str, Any]) -> Layout:
    """The facts of one ``podman image inspect`` entry."""
    config = inspect.get("Config") or {}
    env = dict(e.split("=", 1) for e in config.get("Env") or [])
    return Layout(
        user=config.get("User") or None,
        workdir=config.get("WorkingDir") or None,
        env=env,
        volumes=set(config.get("Volumes") or {}),
        ports=set(config.get("ExposedPorts") or {}),
        entrypoint=list(config.get("Entrypoint") or []),
        cmd=list(config.get("Cmd") or []),
    )


def main() -> int:
    for name, layout in (("build script", script_layout()),
                         ("Containerfile", containerfile_layout())):
        print(f"{name}: {layout}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

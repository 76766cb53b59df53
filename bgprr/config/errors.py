"""The one exception type of the configuration package."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file that bgprr refuses.

    ``path`` is the file (or the source name given to ``load_config_text``), ``key`` the
    key path inside it in GoBGP's names (``neighbors[2].config.peer-as``; empty when the
    problem is the file as a whole) and ``problem`` what is wrong.  ``str()`` is one line:
    ``rr.toml: neighbors[2].config.peer-as: expected an integer, got "x"``.
    """

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = " ".join(problem.split())  # always one line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.key:
            return f"{self.path}: {self.key}: {self.problem}"
        return f"{self.path}: {self.problem}"

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str, str]]:
        return (ConfigError, (self.path, self.key, self.problem))

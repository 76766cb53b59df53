"""Errors of the library and control API: each carries a stable ``code`` (docs/api.md)."""

from __future__ import annotations


class ApiError(Exception):
    """A request that cannot be served; ``code`` is one of ``bad_request``,
    ``not_found``, ``exists``, ``unavailable``, ``internal``."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    code = "bad_request"


class NotFound(ApiError):
    code = "not_found"


class Exists(ApiError):
    code = "exists"


class Unavailable(ApiError):
    """The daemon is not reachable (client side) or the operation is not possible now."""

    code = "unavailable"


ERRORS: dict[str, type[ApiError]] = {
    cls.code: cls for cls in (ApiError, BadRequest, NotFound, Exists, Unavailable)
}

"""Stable error codes, and the masking of unexpected errors (no stack trace or SQL ever leaves)."""

from __future__ import annotations

import logging
from typing import Any, Final

from graphql import GraphQLError, GraphQLSyntaxError

from helsegraf.db import is_statement_timeout

log = logging.getLogger("helsegraf.errors")

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
NOT_FOUND: Final = "NOT_FOUND"
QUERY_TOO_COMPLEX: Final = "QUERY_TOO_COMPLEX"
UNAUTHENTICATED: Final = "UNAUTHENTICATED"
FORBIDDEN: Final = "FORBIDDEN"
INTERNAL: Final = "INTERNAL"
SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
PERSISTED_QUERY_NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"

KNOWN_CODES: Final = frozenset({
    BAD_USER_INPUT, NOT_FOUND, QUERY_TOO_COMPLEX, UNAUTHENTICATED, FORBIDDEN, INTERNAL, SERVICE_UNAVAILABLE,
    GRAPHQL_VALIDATION_FAILED, GRAPHQL_PARSE_FAILED, PERSISTED_QUERY_NOT_FOUND,
})  # fmt: skip


ECHO_MAX: Final = 64  # characters of a caller's input an error message repeats


def shown(value: object, limit: int = ECHO_MAX) -> str:
    """Return a caller's value for an error message: repr'd, and cut to `limit` characters with its length told."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    head = repr(text[:limit])[:-1] if isinstance(value, str) else text[:limit]
    return f"{head}... ({len(text):,} characters)"


class ServiceUnavailableError(Exception):
    """Raised when a register's database cannot be reached."""


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """Return one GraphQL error object."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def format_error(error: GraphQLError, request_id: str, *, pre_execution: bool) -> dict[str, Any]:
    """Return an error as JSON: our coded errors as they are, anything unexpected masked as INTERNAL."""
    code = (error.extensions or {}).get("code")
    original = error.original_error
    if code in KNOWN_CODES and (original is None or isinstance(original, GraphQLError)):
        return error.formatted  # type: ignore[return-value]
    if original is None:
        formatted: dict[str, Any] = dict(error.formatted)
        default = GRAPHQL_PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else GRAPHQL_VALIDATION_FAILED
        extensions = dict(formatted.get("extensions") or {})
        extensions["code"] = BAD_USER_INPUT if not pre_execution and code is None else (code or default)
        formatted["extensions"] = extensions
        return formatted
    if is_statement_timeout(original):
        return {**error.formatted, **error_body("a database statement ran longer than the statement timeout; "
                                                 "ask for less (fewer items, smaller pages)", QUERY_TOO_COMPLEX,
                                                 limit="statement timeout", requestId=request_id)}  # fmt: skip
    if is_unavailable(original):
        return {**error.formatted, **error_body("a register's database is unavailable; try again shortly",
                                                 SERVICE_UNAVAILABLE, requestId=request_id)}  # fmt: skip
    log.error("internal error in request %s at %s", request_id, error.path, exc_info=original)
    masked = error_body("Internal server error", INTERNAL, requestId=request_id)
    if error.path:
        masked["path"] = error.path
    return masked


def is_unavailable(error: BaseException) -> bool:
    """Tell whether an error means a database is out of reach (rather than a bug)."""
    import psycopg  # noqa: PLC0415 - only on the error path
    from psycopg_pool import PoolTimeout  # noqa: PLC0415
    from sqlalchemy.exc import DBAPIError, OperationalError  # noqa: PLC0415

    if isinstance(error, ServiceUnavailableError | OperationalError | psycopg.OperationalError | PoolTimeout | OSError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)

"""What every register's schema module shares: the request context, errors, paging and declarations."""

from __future__ import annotations

import base64
import binascii
import inspect
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, cast

import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.types.field import StrawberryField

from helsegraf.authz.requirements import Requirement
from helsegraf.db import Database, SqlStats
from helsegraf.loaders import Loaders

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_LIST_ARGUMENT = 1000


class OpenGuard:
    """Allows every field (the graph without authorisation)."""

    def denies(self, requirement: Requirement, source: Any) -> str | None:
        """Return why a field may not be released for `source`, or None when it may."""
        del requirement, source
        return None

    def redact(self, path: list[str | int], reason: str) -> None:
        """Record a redacted path."""

    def released(self, nin: str | None, group: str) -> None:
        """Record that a field group of a person's data is in the response."""


@dataclass
class Context:
    """Everything a resolver may use: the request's loaders, the caller, and today's date."""

    db: Database
    loaders: Loaders
    registers: frozenset[str]
    today: date
    guard: Any = field(default_factory=OpenGuard)
    request: Any = None
    request_id: str = ""
    sql: SqlStats | None = None


Info = strawberry.Info[Context, None]


def user_error(message: str) -> GraphQLError:
    """Return an error the caller can fix (`BAD_USER_INPUT`)."""
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


MUNICIPALITY_DIGITS: Final = 4


def check_municipality(municipality: str | None) -> None:
    """Raise a `BAD_USER_INPUT` error unless `municipality` is absent or a kommunenummer."""
    if municipality is not None and not (len(municipality) == MUNICIPALITY_DIGITS and municipality.isdigit()):
        raise user_error(f"municipality: {municipality!r} is not a kommunenummer (four digits, e.g. 0301)")


def too_complex(message: str, limit: str, value: int, maximum: int) -> GraphQLError:
    """Return a limit error (`QUERY_TOO_COMPLEX`) naming the limit and the value."""
    return GraphQLError(
        message, extensions={"code": "QUERY_TOO_COMPLEX", "limit": limit, "value": value, "maximum": maximum}
    )


def check_list(name: str, values: list[Any], limit: int = MAX_LIST_ARGUMENT) -> None:
    """Refuse a list argument longer than its cap."""
    if len(values) > limit:
        raise too_complex(f"{name} accepts at most {limit:,} values, got {len(values):,}", name, len(values), limit)


def page_size(first: int | None) -> int:
    """Return the page size asked for, refusing values outside 0..MAX_PAGE."""
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise user_error(f"first must be between 0 and {MAX_PAGE}, got {first}")
    if first > MAX_PAGE:
        raise too_complex(f"first must be between 0 and {MAX_PAGE}, got {first}", "first", first, MAX_PAGE)
    return first


def encode_cursor(kind: str, value: int) -> str:
    """Return an opaque cursor for a position in a list."""
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """Return the position a cursor points at, refusing cursors of another list."""
    if cursor is None:
        return None
    try:
        found_kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if found_kind == kind:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise user_error(f"after: {cursor!r} is not a cursor of this list")


@strawberry.federation.type(shareable=True, description="Relay paging information.")
class PageInfo:
    """Where a page sits in its list."""

    has_next_page: bool = strawberry.field(
        description="Whether items follow this page (ask again with `after: endCursor`)."
    )
    has_previous_page: bool = strawberry.field(description="Whether items come before this page.")
    start_cursor: str | None = strawberry.field(description="The cursor of the page's first item.")
    end_cursor: str | None = strawberry.field(description="The cursor of the page's last item; pass it as `after`.")


T = TypeVar("T")


@strawberry.type(description="An item of a list, with the cursor that points at it.")
class Edge(Generic[T]):
    """A node and its cursor."""

    cursor: str = strawberry.field(description="An opaque position in the list, for `after`.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (Relay connection), with the list's total length.")
class Connection(Generic[T]):
    """A page of nodes."""

    edges: list[Edge[T]] = strawberry.field(description="The items of this page, with their cursors.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(description="How many items the whole list has.")


def connection(kind: str, items: list[tuple[int, T]], first: int, total: int, after: int | None) -> Connection[T]:
    """Build a page from `(position, node)` pairs fetched with one extra row to detect a next page."""
    page = items[:first]
    edges = [Edge(cursor=encode_cursor(kind, position), node=node) for position, node in page]
    info = PageInfo(
        has_next_page=len(items) > first,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info, total_count=total)


class Guarded(FieldExtension):
    """Enforces a field's requirement: an unpermitted field is null and its path is reported."""

    def __init__(self, requirement: Requirement) -> None:
        self.requirement = requirement

    def _denied(self, source: Any, info: Info) -> bool:
        guard = info.context.guard
        reason = guard.denies(self.requirement, source)
        if reason is None:
            return False
        guard.redact(info.path.as_list(), reason)
        return True

    def _released(self, source: Any, info: Info, result: Any) -> Any:
        if result is not None:
            info.context.guard.released(getattr(source, "subject_nin", None), self.requirement.group)
        return result

    async def _released_later(self, source: Any, info: Info, pending: Awaitable[Any]) -> Any:
        return self._released(source, info, await pending)

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        """Resolve a sync field (which may hand back an awaitable) unless denied."""
        if self._denied(source, info):
            return None
        result = next_(source, info, **kwargs)
        if inspect.isawaitable(result):
            return self._released_later(source, info, result)
        return self._released(source, info, result)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        """Resolve an async field unless denied."""
        if self._denied(source, info):
            return None
        return self._released(source, info, await next_(source, info, **kwargs))


def personal(requirement: Requirement, *, description: str, batch: Any = None) -> StrawberryField:
    """Declare a field carrying personal data: its requirement is enforced and shown in the SDL."""
    from helsegraf.schema.directives import directives_for  # noqa: PLC0415 - directives import this module

    metadata: dict[str, Any] = {"requirement": requirement}
    if batch is not None:
        metadata["batch"] = batch
    # Without a resolver `strawberry.field` is typed as returning Any; at run time it is a StrawberryField,
    # which becomes the field when it decorates the resolver.
    return cast(
        "StrawberryField",
        strawberry.field(
            description=description,
            extensions=[Guarded(requirement)],
            directives=directives_for(requirement),
            metadata=metadata,
        ),
    )


def edge_field(batch: Any, *, description: str, requires: str | None = None) -> StrawberryField:
    """Declare an edge whose values `batch` loads for many parents at once (see execution/preload.py).

    `requires` names fields of the parent, owned by another register, that the edge reads: a
    subgraph without that register asks the gateway for them (Federation `@requires`).
    """
    metadata: dict[str, Any] = {"batch": batch}
    if requires:
        metadata["requires"] = requires
    return cast("StrawberryField", strawberry.field(description=description, metadata=metadata))

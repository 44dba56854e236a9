"""What every register's schema module shares: the request context, errors, paging and declarations."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, TypeVar

import strawberry
from graphql import GraphQLError

from helsegraf.authz.opaque import InvalidOpaqueIdError, Sealer
from helsegraf.authz.requirements import Requirement
from helsegraf.db import Database, SqlStats
from helsegraf.loaders import Loaders

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_LIST_ARGUMENT = 1000


class OpenGuard:
    """Allows every field and records nothing (the graph without authorisation: benchmarks only)."""

    principal = None
    pid = None
    records: tuple[()] = ()

    def judge(self, requirement: Requirement, source: Any) -> tuple[str | None, str]:
        """Allow the field, on no grounds."""
        del requirement, source
        return None, ""

    def decide(self, requirement: Requirement, source: Any, path: Any) -> bool:
        """Allow the field."""
        del requirement, source, path
        return True

    def reached(self, path: Any, subject: Any, group: str, grounds: str) -> None:
        """Record nothing."""

    def redact(self, path: Any, reason: str) -> None:
        """Record nothing."""

    def knows_existence(self, subject: Any) -> bool:
        """Allow the caller to learn whether anyone exists."""
        del subject
        return True

    def existence_grounds(self, subject: Any) -> str | None:
        """Allow the caller to learn whether anyone exists, on no grounds (nothing is logged)."""
        del subject
        return ""

    def stranger_reason(self, requirement: Requirement) -> str | None:
        """Allow the field."""
        del requirement
        return None


@dataclass
class Context:
    """Everything a resolver may use: the request's loaders, the caller, and today's date."""

    db: Database
    loaders: Loaders
    registers: frozenset[str]
    today: date
    sealer: Sealer
    guard: Any = field(default_factory=OpenGuard)
    request: Any = None
    request_id: str = ""
    sql: SqlStats | None = None
    fast: bool = True  # preload edges level by level (execution/preload.py)
    executor: Any = None  # the executor running this request (set by it)
    purpose: str | None = None  # the purpose the caller stated (X-Purpose), for the access log


Info = strawberry.Info[Context, None]


def user_error(message: str) -> GraphQLError:
    """Return an error the caller can fix (`BAD_USER_INPUT`)."""
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


MAX_INT: Final = 2**31 - 1  # HPR numbers, HER-ids and RESH-ids are GraphQL Ints (32 bits)


def int_key(name: str, value: Any) -> int:
    """Return a Federation representation's integer key, refusing what is not one (the caller's mistake)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise user_error(f"{name}: {echo(value)} is not a whole number")
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or not 0 < int(text) <= MAX_INT:
        raise user_error(f"{name}: {echo(value)} is not a whole number between 1 and {MAX_INT:,}")
    return int(text)


MUNICIPALITY_DIGITS: Final = 4


def check_municipality(municipality: str | None) -> None:
    """Raise a `BAD_USER_INPUT` error unless `municipality` is absent or a kommunenummer."""
    if municipality is not None and not (len(municipality) == MUNICIPALITY_DIGITS and municipality.isdigit()):
        raise user_error(f"municipality: {echo(municipality)} is not a kommunenummer (four digits, e.g. 0301)")


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


def encode_cursor(info: Info, kind: str, value: int) -> str:
    """Return an opaque cursor for a position in a list (sealed: it reveals no id, see authz/opaque.py)."""
    return info.context.sealer.seal(f"cursor:{kind}", value)


MAX_ECHO = 40  # characters of a caller's bad value repeated in an error message


def echo(value: object) -> str:
    """Return a caller's value for an error message, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}... ({len(text):,} characters)"


def decode_cursor(info: Info, kind: str, cursor: str | None) -> int | None:
    """Return the position a cursor points at, refusing cursors of another list."""
    if cursor is None:
        return None
    try:
        return info.context.sealer.open(f"cursor:{kind}", cursor)
    except InvalidOpaqueIdError:
        raise user_error(f"after: {echo(cursor)} is not a cursor of this list") from None


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


def connection(
    info: Info, kind: str, items: list[tuple[int, T]], first: int, total: int, after: int | None
) -> Connection[T]:
    """Build a page from `(position, node)` pairs fetched with one extra row to detect a next page."""
    page = items[:first]
    edges = [Edge(cursor=encode_cursor(info, kind, position), node=node) for position, node in page]
    page_info = PageInfo(
        has_next_page=len(items) > first,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, total_count=total)


class Refused(NamedTuple):
    """What a Federation reference to a personal entity the caller may not see resolves to (a redaction)."""

    reason: str


def guard_entity(info: Info, requirement: Requirement, entity: Any) -> Any:
    """Decide a personal entity reached without a parent (Federation `_entities`): refused, or marked released."""
    from helsegraf.execution.executor import mark_released  # noqa: PLC0415 - the execution layer imports this module

    reason, grounds = info.context.guard.judge(requirement, entity)
    return Refused(reason) if reason is not None else mark_released(entity, requirement.group, grounds)


# The key under which a field's policy is kept in its GraphQL field's extensions (read by the executor).
POLICY: Final = "helsegraf"


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """What the executor must do when it completes a field: decide its requirement, release what it relates to."""

    requirement: Requirement
    relates: bool = False  # the persons in the value are released too (a list's patients, a person's parents)


def _edge_resolver(batch: Callable[..., Awaitable[list[Any]]]) -> Callable[..., Any]:
    """Return the resolver of an edge, generated from its batch function `(info, parents, **arguments)`.

    The field's arguments are the batch function's keyword parameters (with their annotations and
    defaults), so a batch function and its field cannot drift apart. The resolver answers a value
    the preloader attached, else loads this parent's value through the batch function (the
    request's dataloaders still batch it with its siblings).
    """
    from helsegraf.execution.preload import load_edge  # noqa: PLC0415 - the execution layer imports this module

    # `below` is what the preloader tells a batch function that looks below its edge (preload.looks_below).
    arguments = [p for p in list(inspect.signature(batch).parameters.values())[2:] if p.name != "below"]

    def resolve(self: Any, info: Info, **kwargs: Any) -> Any:
        return load_edge(self, info, kwargs, batch)

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    info_parameter = inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info)
    resolve.__signature__ = inspect.Signature([self_parameter, info_parameter, *arguments])  # type: ignore[attr-defined]
    resolve.__annotations__ = {"info": Info, **{a.name: a.annotation for a in arguments}}
    resolve.__module__ = batch.__module__  # Strawberry reads string annotations in the batch's module
    resolve.__name__ = resolve.__qualname__ = batch.__name__.lstrip("_")
    return resolve


def personal(requirement: Requirement, *, description: str, batch: Any = None, relates: bool = False) -> Any:
    """Declare a field carrying personal data: its requirement is enforced and shown in the SDL.

    With `batch`, the field is an edge whose values `batch` loads for many parents at once; its
    resolver is generated (see `_edge_resolver`). Without, it decorates a method reading the parent.
    `relates`: the persons the edge leads to are released too (they are logged under the field's group).
    """
    from helsegraf.schema.directives import directives_for  # noqa: PLC0415 - directives import this module

    metadata: dict[str, Any] = {"requirement": requirement, POLICY: FieldPolicy(requirement, relates)}
    if batch is not None:
        metadata["batch"] = batch
    # A StrawberryField: with `batch` the field itself (its resolver generated), else it becomes the field
    # when it decorates the method that reads the parent.
    return strawberry.field(
        resolver=_edge_resolver(batch) if batch is not None else None,  # type: ignore[arg-type]
        description=description,
        directives=directives_for(requirement),
        metadata=metadata,
    )


def edge_field(batch: Any, *, description: str, requires: str | None = None) -> Any:
    """Declare an edge whose values `batch` loads for many parents at once (see execution/preload.py).

    The resolver is generated from `batch`. `requires` names fields of the parent, owned by another
    register, that the edge reads: a subgraph without that register asks the gateway for them
    (Federation `@requires`).
    """
    metadata: dict[str, Any] = {"batch": batch}
    if requires:
        metadata["requires"] = requires
    return strawberry.field(resolver=_edge_resolver(batch), description=description, metadata=metadata)

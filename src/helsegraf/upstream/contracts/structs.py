"""Persontjenesten's contract models as msgspec Structs, built from the generated pydantic models.

The generated models (`persontjenesten.py`) are the contract's types. The sync validates every
bulk-by-id answer against them once, whole, and then maps the documents onto PREG's rows
(`sync/preg.py`); validation was the larger part of a bootstrap's client time. msgspec decodes
JSON straight into Structs, checking types, constraints and unknown fields in C as it parses,
about three times faster than pydantic-core's validation of the same types into dicts, and a
Struct's attributes are read faster than a dict's keys.

The Structs are derived here field by field from the generated models, so a regenerated contract
(`tools/contracts.sh`) is followed without edits: every field keeps its name (the JSON name) and
its type; `extra="forbid"` becomes `forbid_unknown_fields`; what the model requires, the Struct
requires; a missing optional field reads as None; `format: date-time` (pydantic's AwareDatetime)
is a datetime that must carry its offset (RFC 3339); an enumeration is the set of its values
(plain strings out, as the models' `use_enum_values` gives); lengths, bounds and patterns are
msgspec constraints. A constraint or a type this module does not know raises at import, so the
contract cannot gain a rule the sync silently skips.

Patterns are matched by Python's `re` (as pydantic's are by Rust's regex: both search the value,
unanchored); the contract's Unicode property classes, which `re` lacks, become the same Python
equivalents the fake's contract tests use (`contracts._PATTERNS`).
"""

from __future__ import annotations

import enum
import re
import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import AwareDatetime, BaseModel

from helsegraf.upstream.contracts import _PATTERNS
from helsegraf.upstream.contracts import persontjenesten as pt

_BUILT: dict[type[BaseModel], Any] = {}


class Part(msgspec.Struct):
    """The base of every Struct here: a field another part of the contract has reads as None.

    The mapping reads parts that share most fields but not all (a street, a cadastral and a free-form
    address) the same way; a field the part's type lacks reads as None, as a missing key of a dict
    did, rather than raising. Only a name that is no field of the type gets here (Python calls
    `__getattr__` after the ordinary lookup fails), so reading a field costs nothing extra.
    """

    def __getattr__(self, name: str) -> None:
        """Return None for a field this part of the contract does not have."""
        if name.startswith("_"):
            raise AttributeError(name)


NOTHING = Part()  # an absent part: every field reads as None
_AWARE = Annotated[datetime, msgspec.Meta(tz=True)]


def struct(model: type[BaseModel]) -> Any:
    """Return the Struct of a generated model (built once; nested models become Structs too)."""
    built = _BUILT.get(model)
    if built is not None:
        return built
    required, optional = [], []
    for name, info in model.model_fields.items():
        annotation = _constrained(_convert(info.annotation), info.metadata)
        if info.is_required():
            required.append((info.alias or name, annotation))
        else:
            if info.default is not None:
                msg = f"{model.__name__}.{name}: a default other than None"
                raise TypeError(msg)
            optional.append((info.alias or name, annotation, None))
    extra = model.model_config.get("extra")
    built = msgspec.defstruct(
        model.__name__,
        [*required, *optional],
        bases=(Part,),
        forbid_unknown_fields=extra == "forbid",
        module=__name__,
    )
    _BUILT[model] = built
    return built


def _convert(annotation: Any) -> Any:  # noqa: PLR0911 - one case per kind of annotation
    """Replace every model, date-time and enumeration in an annotation by what msgspec decodes."""
    if annotation is AwareDatetime:
        return _AWARE
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Literal[tuple(member.value for member in annotation)]
    origin, args = get_origin(annotation), get_args(annotation)
    if not args:
        return annotation
    if origin in (Union, types.UnionType):
        return Union[tuple(_convert(a) for a in args)]  # noqa: UP007 - built from a tuple
    if origin is list:
        return list[_convert(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[_convert(args[0]), _convert(args[1])]  # type: ignore[misc]
    msg = f"an annotation the contract's Structs do not handle: {annotation!r}"
    raise TypeError(msg)


def _constrained(annotation: Any, metadata: list[Any]) -> Any:
    """Put a field's constraints on its value's type (inside `| None`)."""
    if not metadata:
        return annotation
    constraints: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, MinLen):
            constraints["min_length"] = item.min_length
        elif isinstance(item, MaxLen):
            constraints["max_length"] = item.max_length
        elif isinstance(item, Ge):
            constraints["ge"] = item.ge
        elif isinstance(item, Le):
            constraints["le"] = item.le
        elif isinstance(getattr(item, "pattern", None), str) and len(vars(item)) == 1:
            constraints["pattern"] = _PATTERNS.get(item.pattern, item.pattern)
            re.compile(constraints["pattern"])  # a pattern `re` cannot read fails here, not per document
        else:
            msg = f"a constraint the contract's Structs do not handle: {item!r}"
            raise TypeError(msg)
    meta = msgspec.Meta(**constraints)
    if get_origin(annotation) in (Union, types.UnionType):
        members = get_args(annotation)
        return Union[tuple(a if a is type(None) else Annotated[a, meta] for a in members)]  # noqa: UP007
    return Annotated[annotation, meta]


Person: Any = struct(pt.Person)
EventDocumentSearchResult: Any = struct(pt.EventDocumentSearchResult)
# One call per bulk-by-id answer: the whole list decoded and validated against the contract.
PEOPLE: msgspec.json.Decoder[list[Any]] = msgspec.json.Decoder(list[Person])
EVENTS: msgspec.json.Decoder[Any] = msgspec.json.Decoder(EventDocumentSearchResult)
_WHERE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<at>[^`]*)`)?$", re.DOTALL)
_VALUE = re.compile(r"(Invalid enum value) .*", re.DOTALL)


def person(item: object) -> Any:
    """Validate one parsed person document (a dict from JSON) against the contract."""
    return msgspec.convert(item, Person)


def describe(error: msgspec.DecodeError) -> str:
    """Name what is wrong with a document by location and kind only (never the value).

    msgspec says `Expected `str`, got `int` - at `$[0].name[0].givenName``; the location becomes
    `0.name.0.givenName`, as pydantic's `loc` reads. Only an enumeration's message quotes the value,
    which is cut.
    """
    found = _WHERE.match(str(error))
    what, at = (found["what"], found["at"] or "") if found else (str(error), "")
    what = _VALUE.sub(r"\1", what)
    where = ".".join(p for p in re.split(r"[.\[\]]+", at) if p)
    return f"{where}: {what}" if where else what

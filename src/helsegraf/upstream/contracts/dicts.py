"""Persontjenesten's contract models as TypedDicts, built from the generated pydantic models.

The generated models (`persontjenesten.py`) are the contract's types; validating a whole bulk answer
into model instances costs an object per part of every document. The same types as TypedDicts,
derived here field by field (types, constraints, aliases, `extra="forbid"`, what is required),
are validated by pydantic-core in one `TypeAdapter.validate_json` call and come out as plain
dicts and lists (date-times as datetimes, enumerations as their values), which the sync reads
directly (`sync/preg.py`). Nothing here is written by hand
per model, so a regenerated contract (`tools/contracts.sh`) is followed without edits.

datamodel-code-generator's own TypedDict output is not used: it drops the date-time format and the
nullability the generated models carry (`validTo: null` is valid there and would not be here).
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, NotRequired, Required, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import TypedDict

from helsegraf.upstream.contracts import persontjenesten as pt

_BUILT: dict[type[BaseModel], Any] = {}


def typed_dict(model: type[BaseModel]) -> Any:
    """Return the TypedDict of a generated model (built once; nested models become TypedDicts too)."""
    built = _BUILT.get(model)
    if built is not None:
        return built
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _convert(info.annotation)
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        fields[info.alias or name] = Required[annotation] if info.is_required() else NotRequired[annotation]
    # The functional form with a name and fields known only at run time: mypy checks that form only for literals,
    # so it is called through `Any` (the result is a class built here, typed as such by `built: Any`).
    make: Any = TypedDict
    built = make(model.__name__, fields)
    config = model.model_config
    # Enumerations are validated as the models validate them and come out as their values (plain strings).
    built.__pydantic_config__ = ConfigDict(extra=config.get("extra", "ignore"), use_enum_values=True)
    _BUILT[model] = built
    return built


def _convert(annotation: Any) -> Any:  # noqa: PLR0911 - one case per kind of annotation
    """Replace every model in an annotation by its TypedDict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return typed_dict(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if not args:
        return annotation
    if origin is Annotated:
        return Annotated[_convert(args[0]), *annotation.__metadata__]
    if origin in (Union, types.UnionType):
        return Union[tuple(_convert(a) for a in args)]  # noqa: UP007 - built from a tuple
    if origin is list:
        return list[_convert(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[_convert(args[0]), _convert(args[1])]  # type: ignore[misc]
    return typing.cast("Any", origin)[tuple(_convert(a) for a in args)]


Person = typed_dict(pt.Person)
# One call per bulk-by-id answer: the whole list validated against the contract, dicts out.
_PEOPLE: Any = types.GenericAlias(list, (Person,))  # list[Person], Person being built at run time
PEOPLE: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(_PEOPLE)
PERSON: TypeAdapter[dict[str, Any]] = TypeAdapter(Person)
EVENTS: TypeAdapter[dict[str, Any]] = TypeAdapter(typed_dict(pt.EventDocumentSearchResult))

"""What a response released: the guard's records, kept only where they reached the response.

The guard records a release when a personal field is completed (`FIELD`: the field at a path, about
its parent's subject) and when an object reached through a personal edge is completed (`OBJECT`:
the related person at a path, e.g. a patient on a list or a parent). Completion is not the end of
the story: an error in a non-null field nulls its parents, and a whole subtree can vanish. So the
access log takes a record only if its place survived in the response that leaves:

- a field record counts when its parent object is in the response and the field was not nulled by
  an error (a permitted null is a release: the caller learned that there is nothing);
- an object record counts when the object itself is in the response.

Only an error nulls what was completed: a response without errors holds every place the guard
recorded, so `released_all` takes every record without looking each one up in the response (with
`HELSEGRAF_FAST_PATHS=0`, and whenever there are errors, `released_in` checks them one by one).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

# A nin, or the HPR number of a health worker registered without one (ManglerNIN).
Subject = str | int

FIELD: Final = "field"
OBJECT: Final = "object"
_ABSENT: Final = object()


class Record(NamedTuple):
    """One decision that released something: where, about whom, which field group, on what grounds."""

    kind: str
    path: Any  # graphql-core's Path (converted only when the response is checked) or a list
    subject: Subject
    group: str
    grounds: str


@dataclass
class Released:
    """What one subject's entry in the access log holds: the field groups and the grounds they were released on."""

    groups: set[str] = field(default_factory=set)
    grounds: set[str] = field(default_factory=set)


def path_keys(path: Any) -> list[str | int]:
    """Return a response path as its keys (graphql-core's Path is converted only when it is needed)."""
    return path if isinstance(path, list) else path.as_list()


def _at(data: Any, keys: Iterable[str | int]) -> Any:
    """Return the value at `keys` in the response, or _ABSENT when it is not there."""
    value = data
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, _ABSENT) if isinstance(key, str) else _ABSENT
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return _ABSENT
        if value is _ABSENT or value is None:
            return value
    return value


def _errored(keys: list[str | int], error_paths: list[tuple[str | int, ...]]) -> bool:
    prefix = tuple(keys)
    return any(path[: len(prefix)] == prefix for path in error_paths)


def released_in(records: list[Record], data: Any, error_paths: list[list[str | int]]) -> dict[Subject, Released]:
    """Return the records that reached the response `data`, grouped by subject."""
    found: dict[Subject, Released] = {}
    if not isinstance(data, dict) or not records:
        return found
    errors = [tuple(p) for p in error_paths]
    for record in records:
        keys = path_keys(record.path)
        if record.kind == OBJECT:
            if not isinstance(_at(data, keys), dict):
                continue
        else:
            parent = _at(data, keys[:-1])
            if not isinstance(parent, dict) or keys[-1] not in parent:
                continue
            if parent[keys[-1]] is None and _errored(keys, errors):
                continue
        entry = found.setdefault(record.subject, Released())
        entry.groups.add(record.group)
        entry.grounds.update(record.grounds.split())
    return found


def released_all(records: list[Record]) -> dict[Subject, Released]:
    """Return every record, grouped by subject: what a response without errors released.

    Without an error nothing the executor completed was nulled afterwards, so every recorded place is
    in the response (`released_in` finds the same, walking the response for each record).
    """
    found: dict[Subject, Released] = {}
    # A person's records mostly repeat (the same group on the same grounds, field after field): one each.
    for subject, group, grounds in set(map(_WHAT, records)):
        entry = found.get(subject)
        if entry is None:
            entry = found[subject] = Released()
        entry.groups.add(group)
        entry.grounds.update(grounds.split())
    return found


_WHAT = operator.attrgetter("subject", "group", "grounds")

"""The GraphQL executor: every personal field decided where it is completed, and plain fields answered fast.

**Decisions.** Every field is completed through `execute_field`. A field that carries personal data
has a `FieldPolicy` in its GraphQL field's extensions; before it is resolved, the guard decides it
for the parent object (`Guard.decide`), which records the redaction (the field is null) or the
release at the field's path. An object that a personal edge led to (a patient on a list, a
parent) carries the grounds it was released on, and the guard records it when the object is
completed. Nothing else decides or records, and the access log is derived from these records
after execution (authz/release.py). This holds on every path: with or without the fast paths,
for preloaded edges, for Federation's `_entities`, in every subgraph.

**Fast paths** (switched off with `HELSEGRAF_FAST_PATHS=0`; the answers, redactions and log are the
same). For every field of every object graphql-core builds a resolve-info object, looks at the
field's arguments and dispatches the result through `complete_value`. A thousand patients carry
about 9,000 scalar attributes and 4,000 preloaded objects, and that machinery was the largest
single cost of answering them. Two kinds of field are answered here directly:

- a field whose resolver only reads an attribute (`attribute_resolver`: no arguments, no field
  extensions) and whose type is a scalar or an enum, or a list of them;
- a field holding one object, read from an attribute or preloaded for an edge (`fast_resolver`
  marks it) and not given arguments: its selection is executed on that object at once.

- a leaf computed by a plain method of its object alone (`computed_resolver`: sync, only `self`).

Each selection a request completes on an object type is *planned* once (`execute_fields`): every
field's definition, requirement and how it is read, found once for the thousand patients that share
graphql-core's memoised grouped field set rather than once per patient. With the plan, a plain leaf
whose value is already its serialised form goes into the answer as it is, and a field holding one
object is decided and its object completed from the plan below it.

Anything else takes graphql-core's own path, and so does a null, an absent attribute or a value
the scalar cannot serialise, so that errors are reported exactly as graphql-core reports them.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable
from typing import Any, ClassVar, Final, NamedTuple, cast

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Undefined,
    get_nullable_type,
)
from graphql.pyutils import gather_with_cancel

from helsegraf.authz.guard import subject_of
from helsegraf.execution.compat import FieldDetailsList, Path, StrawberryGraphQLCoreExecutionContext
from helsegraf.execution.preload import (
    COMPUTED,
    MISSING,
    PLAIN_LEAF,
    PLAIN_OBJECT,
    PRELOADED,
    PlainLeaf,
    preloaded,
)
from helsegraf.schema.base import POLICY

_ABSENT: Final = object()
_NOT_ONE_OBJECT: Final = (list, Exception)
_NOTHING: Final[dict[str, Any]] = {}  # a tuple: `list | Exception` would build a union on every call
# Set (in an object's __dict__) on an object a personal edge released: (field group, grounds).
RELEASED_AS: Final = "_helsegraf_released_as"
# Argument defaults that leave a field's preload key empty (see preload.arg_key); compared by identity,
# since 0 == False.
_NEUTRAL_DEFAULTS: Final = (None, False, Undefined)


def _neutral(default: Any) -> bool:
    return any(default is neutral for neutral in _NEUTRAL_DEFAULTS)


def _related_objects(value: Any) -> list[tuple[Any, Any, str | int | None]]:
    """Return the subject-bearing objects an edge's value leads to, with their container and place in it."""
    if isinstance(value, list):
        return [(item, value, i) for i, item in enumerate(value) if subject_of(item) is not None]
    edges = getattr(value, "edges", None)
    if isinstance(edges, list):
        return [(edge.node, edge, None) for edge in edges if subject_of(getattr(edge, "node", None)) is not None]
    return [(value, None, None)] if subject_of(value) is not None else []


def mark_released(value: Any, group: str, grounds: str) -> Any:
    """Mark the persons an edge's value leads to as released under `group`; return the (new) value.

    Each marked object is a copy, so an object shared with another part of the answer keeps its own marks.
    """
    if isinstance(value, list):
        value = list(value)
    for obj, container, place in _related_objects(value):
        marked = _copy(obj)
        marked.__dict__[RELEASED_AS] = (group, grounds)
        if container is None:
            value = marked
        elif isinstance(place, int):
            container[place] = marked
        else:
            container.node = marked
    return value


_PLAIN_COPY: dict[type, bool] = {}
_COPY_PROTOCOL: Final = ("__reduce_ex__", "__reduce__", "__getstate__")


def _copy(obj: Any) -> Any:
    """Return `copy.copy(obj)`: for an object copied as a plain one, the same copy made without copy's protocol.

    copy.copy of an ordinary object (no __copy__, __reduce__, __getstate__ or __slots__ of its own) makes a
    new instance with the same __dict__, through `__reduce_ex__` and copyreg: here directly, at a fraction of
    the cost (a thousand persons marked per request). Any other object is copied by copy.copy.
    """
    cls: Any = type(obj)
    plain = _PLAIN_COPY.get(cls)
    if plain is None:
        plain = _PLAIN_COPY[cls] = (
            not hasattr(cls, "__copy__") and "__slots__" not in cls.__dict__
            and all(getattr(cls, name) is getattr(object, name) for name in _COPY_PROTOCOL)
            and getattr(cls, "__setstate__", None) is None and type(cls) is type
            and all("__slots__" not in base.__dict__ for base in cls.__mro__[1:-1])
        )  # fmt: skip
    if not plain:
        return copy.copy(obj)
    new = cls.__new__(cls)
    new.__dict__.update(obj.__dict__)
    return new


def relating_resolver(original: Any, group: str) -> Any:
    """Wrap the resolver of an edge whose value's persons are released too: mark them as it returns."""

    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        result = original(source, info, **kwargs)
        grounds = _grounds(info.context.guard, info, source)
        if info.is_awaitable(result):
            return _marked_later(result, group, grounds)
        return mark_released(result, group, grounds)

    return resolve


def _grounds(guard: Any, info: Any, source: Any) -> str:
    policy = info.parent_type.fields[info.field_name].extensions[POLICY]
    return guard.judge(policy.requirement, source)[1]  # type: ignore[no-any-return]


async def _marked_later(result: Awaitable[Any], group: str, grounds: str) -> Any:
    return mark_released(await result, group, grounds)


# What graphql-core's serialize returns unchanged, by scalar: a value of exactly this Python type
# (an Int also within 32 bits) is its own serialised form.
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1
_UNCHANGED: Final[dict[GraphQLLeafType, type]] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}


class _FieldFacts(NamedTuple):
    """What a step of a field needs to know of the field itself (see `_facts`)."""

    requirement: Any
    leaf: str | None  # the attribute a plain leaf is read from
    listed: bool
    compute: Any
    unchanged: type | None
    object_attribute: str | None  # the attribute holding one object
    plain_edge: bool  # a preloaded edge whose arguments all default to nothing
    object_type: GraphQLObjectType | None  # an object type the executor may complete itself


# Set on a GraphQL field (an attribute of its own: graphql-core's fields are not hashable) once `_facts` knows it.
_FACTS: Final = "_helsegraf_step"
_NO_FACTS: Final = _FieldFacts(
    requirement=None,
    leaf=None,
    listed=False,
    compute=None,
    unchanged=None,
    object_attribute=None,
    plain_edge=False,
    object_type=None,
)


def _facts(field_def: GraphQLField) -> _FieldFacts:
    """Return what a step of a field needs to know of the field itself, found once per field (of a built schema)."""
    found: _FieldFacts | None = field_def.__dict__.get(_FACTS)
    if found is None:
        policy = field_def.extensions.get(POLICY)
        resolve = field_def.resolve
        plain: PlainLeaf | None = getattr(resolve, PLAIN_LEAF, None)
        # One object read from an attribute or preloaded for an edge (as `Executor._direct` reads it).
        object_attribute: str | None = getattr(resolve, PLAIN_OBJECT, None)
        edge = object_attribute is None and bool(getattr(resolve, PRELOADED, False))
        object_type = get_nullable_type(field_def.type)
        found = _FieldFacts(
            requirement=policy.requirement if policy is not None else None,
            leaf=plain.attribute if plain is not None else None,
            listed=plain.listed if plain is not None else False,
            compute=getattr(resolve, COMPUTED, None) if plain is not None else None,
            unchanged=_UNCHANGED.get(plain.leaf) if plain is not None else None,
            object_attribute=object_attribute,
            plain_edge=edge and all(_neutral(a.default_value) for a in field_def.args.values()),
            object_type=object_type
            if isinstance(object_type, GraphQLObjectType) and object_type.is_type_of is None
            else None,
        )
        setattr(field_def, _FACTS, found)
    return found


class _Step:
    """One field of a selection on one object type, planned once per request (see `Executor.execute_fields`)."""

    __slots__ = ("child", "compute", "details", "field_def", "leaf", "listed", "name", "object_attribute",
                 "object_type", "preloaded_as", "preloaded_key", "requirement", "unchanged")  # fmt: skip

    def __init__(self, name: str, details: FieldDetailsList, field_def: GraphQLField | None) -> None:
        self.name = name
        self.details = details
        self.field_def = field_def
        facts = _facts(field_def) if field_def is not None else _NO_FACTS
        self.requirement = facts.requirement
        self.leaf = facts.leaf
        self.listed = facts.listed
        self.compute = facts.compute
        self.unchanged = facts.unchanged
        self.object_attribute = facts.object_attribute
        node = details[0].node
        self.preloaded_as: str | None = node.name.value if facts.plain_edge and not node.arguments else None
        self.preloaded_key = (self.preloaded_as, ())  # what `preloaded` looks up for a field without arguments
        self.object_type = facts.object_type if self.object_attribute or self.preloaded_as else None
        self.child: tuple[Any, list[_Step]] | None = None  # the selection below it, planned


class Executor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor (as Strawberry extends it): decisions on personal fields, and the fast paths."""

    fast: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self.context_value, "executor"):
            self.context_value.executor = self  # the preloader collects fields as this executor does
        # The plan of each selection this request completes, by the identity of graphql-core's memoised
        # grouped field set (kept alive beside its plan, so that its id cannot be reused).
        self._plans: dict[int, tuple[Any, list[_Step]]] = {}
        # The completed selection of an object met again at another path (see `_planned_object`): by the
        # identities of the object and of its planned selection, kept alive beside the answer.
        self._completed: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        # Counts what makes a completion depend on its path: a decision or a release recorded, an error,
        # a field graphql-core answered. A subtree during which it did not move is the same at any path.
        self._path_bound = 0

    def unlink(self) -> None:
        """Drop what this request's executor holds once its answer is built.

        graphql-core's executor is a cycle of its own (its async helpers are its bound methods), so the
        context, plans and completed objects it still refers to would wait for the collector's full pass.
        """
        self.context_value = None
        self._plans.clear()
        self._completed.clear()

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """Execute a selection on an object: graphql-core's `execute_fields`, with its plain fields answered here.

        graphql-core memoises the selection of each field on each type (`collect_subfields`), so a
        thousand patients share one grouped field set per level; its plan (each field's definition,
        requirement and how it is read) is made once, on first use. A plain leaf without a requirement
        whose value is already its serialised form (a str for String and ID, an int within 32 bits, a
        bool, or a list of them) goes into the answer as it is: graphql-core would return the same
        value after building its path, looking its field up and serialising it. Every other field
        takes `execute_field`, with the same path, so decisions and errors are recorded as before.
        """
        if (
            not self.fast
            or position_context is not None  # incremental delivery (@defer): graphql-core's own path
            or (self.middleware_manager and self.middleware_manager.middlewares)
        ):
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        return self._run(parent_type, source_value, path, self._plan(parent_type, grouped_field_set))

    def _run(self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, steps: list[_Step]) -> Any:
        """Execute a planned selection on one object (graphql-core's `execute_fields` loop, with the shortcuts)."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        typename = parent_type.name
        try:
            for step in steps:
                unchanged = step.unchanged
                if unchanged is not None and step.requirement is None:
                    value = _unchanged_value(step, source_value, unchanged)
                    if value is not _ABSENT:
                        results[step.name] = value
                        continue
                field_path = Path(path, step.name, typename)
                if step.object_type is not None:
                    result = self._planned_object(parent_type, source_value, step, field_path)
                else:
                    self._path_bound += 1
                    result = self.execute_field(parent_type, source_value, step.details, field_path, None)
                if result is not Undefined:
                    results[step.name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(step.name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gathered(results, awaitable_fields)

    def _planned_object(self, parent_type: GraphQLObjectType, source: Any, step: _Step, path: Path) -> Any:
        """Decide a field holding one object, then complete the object with its planned selection.

        What `execute_field` and `_direct` do for such a field, without looking the field up again;
        an absent, null, listed or failed value takes graphql-core's path, as there.
        """
        requirement = step.requirement
        if requirement is not None:
            self._path_bound += 1
            if not self.context_value.guard.decide(requirement, source, path):
                return None
        if step.object_attribute is not None:
            value = getattr(source, step.object_attribute, _ABSENT)
        else:
            attached = getattr(source, "__dict__", _NOTHING).get("_preloaded")  # `preloaded`, inline
            value = MISSING if attached is None else attached.get(step.preloaded_key, MISSING)
        if value is _ABSENT or value is MISSING or value is None or isinstance(value, _NOT_ONE_OBJECT):
            self._path_bound += 1
            return super().execute_field(parent_type, source, step.details, path, None)
        object_type: GraphQLObjectType = step.object_type  # type: ignore[assignment]  # a planned object step
        self._note_release(value, path)
        # An object shared by many parents (a thousand patients' few GPs, lists and offices) is completed
        # once per selection: when nothing below it depended on its path (no decision, release, error or
        # field answered by graphql-core), its answer is the same at every path, and is used again there.
        memo = self._completed.get((id(value), id(step.child)))
        if memo is not None and memo[0] is value and memo[1] is step.child:
            return memo[2]
        try:
            completed = self._complete_planned(object_type, value, step, path)
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self._path_bound += 1
            self.handle_field_error(raw_error, step.field_def.type, step.details, path)  # type: ignore[union-attr]
            return None
        if self.is_awaitable(completed):
            return self._settled(completed, step.field_def.type, step.details, path)  # type: ignore[union-attr]
        return completed

    def _complete_planned(self, object_type: GraphQLObjectType, value: Any, step: _Step, path: Path) -> Any:
        """Complete a planned object step's object (remembering the answer when it does not depend on its path)."""
        # A step lives for one request, and its selection below is the same for every object it
        # completes (graphql-core memoises it per type and field nodes): collected once, then planned.
        child = step.child
        if child is None:
            collected = self.collect_subfields(object_type, step.details)
            if not collected.new_defer_usages:
                gfs = collected.grouped_field_set
                child = step.child = (gfs, self._plan(object_type, gfs))
        if child is None:  # incremental delivery (@defer) below: graphql-core's own path
            self._path_bound += 1
            return self.collect_and_execute_subfields(object_type, step.details, path, value, None)
        bound = self._path_bound
        completed = self._run(object_type, value, path, child[1])
        if self._path_bound == bound and not self.is_awaitable(completed):
            self._completed[id(value), id(child)] = (value, child, completed)
        return completed

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[_Step]:
        planned = self._plans.get(id(grouped_field_set))
        if planned is None or planned[0] is not grouped_field_set:
            steps = [_Step(name, details, self.schema.get_field(parent_type, details[0].node.name.value))
                     for name, details in grouped_field_set.items()]  # fmt: skip
            planned = self._plans[id(grouped_field_set)] = (grouped_field_set, steps)
        return planned[1]

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        """Decide a personal field, then answer a plain field directly or resolve it the usual way."""
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        if field_def is not None:
            policy = field_def.extensions.get(POLICY)
            if policy is not None and not self.context_value.guard.decide(policy.requirement, source, path):
                return None
            if self.fast and not (self.middleware_manager and self.middleware_manager.middlewares):
                answer = self._direct(field_def, source, field_details_list, path, position_context)
                if answer is not _ABSENT:
                    return answer
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Record the release of an object a personal edge led to, then complete it."""
        self._note_release(result, path)
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def _note_release(self, result: Any, path: Path) -> None:
        released_as = getattr(result, "__dict__", {}).get(RELEASED_AS)
        if released_as is not None:
            subject = subject_of(result)
            if subject is not None:
                self._path_bound += 1
                self.context_value.guard.reached(path, subject, *released_as)

    def _direct(
        self,
        field_def: GraphQLField,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """Answer the field here if it is a plain one; else return _ABSENT."""
        plain: PlainLeaf | None = getattr(field_def.resolve, PLAIN_LEAF, None)
        if plain is not None:
            return self._plain_leaf(plain, source, getattr(field_def.resolve, COMPUTED, None))
        node = field_details_list[0].node
        attribute: str | None = getattr(field_def.resolve, PLAIN_OBJECT, None)
        if attribute is not None:
            value = getattr(source, attribute, _ABSENT)
        elif (
            getattr(field_def.resolve, PRELOADED, False)
            and not node.arguments
            and all(_neutral(arg.default_value) for arg in field_def.args.values())
        ):
            value = preloaded(source, node.name.value)
        else:
            return _ABSENT
        return self._object(field_def.type, value, field_details_list, path, position_context)

    def _plain_leaf(self, plain: PlainLeaf, source: Any, compute: Any = None) -> Any:
        if compute is None:
            value = getattr(source, plain.attribute, _ABSENT)
        else:
            try:
                value = compute(source)
            except Exception:  # noqa: BLE001 - graphql-core's own path calls it again and reports it
                return _ABSENT
        if value is None or value is _ABSENT or isinstance(value, Exception):  # graphql-core raises an Exception
            return _ABSENT
        try:
            if not plain.listed:
                return self.complete_leaf_value(plain.leaf, value)
            if isinstance(value, list | tuple) and None not in value:
                return [self.complete_leaf_value(plain.leaf, item) for item in value]
        except Exception:  # noqa: BLE001 - graphql-core's own path reports it
            return _ABSENT
        return _ABSENT

    def _object(
        self,
        return_type: GraphQLOutputType,
        value: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        object_type = get_nullable_type(return_type)
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of is not None:
            return _ABSENT
        if value is _ABSENT or value is MISSING or value is None or isinstance(value, _NOT_ONE_OBJECT):
            return _ABSENT
        # What complete_value does for an object, without the resolve-info object it would not use.
        self._note_release(value, path)
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._settled(completed, return_type, field_details_list, path)
        return completed

    async def _settled(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def _unchanged_value(step: _Step, source: Any, unchanged: type) -> Any:
    """Return a plain leaf's value if it is its own serialised form (a list of such values copied), else _ABSENT."""
    if step.compute is None:
        value = getattr(source, step.leaf, _ABSENT)  # type: ignore[arg-type]  # a leaf step has its attribute
    else:
        try:
            value = step.compute(source)
        except Exception:  # noqa: BLE001 - execute_field's path calls it again and reports it
            return _ABSENT
    if not step.listed:
        if type(value) is unchanged and (unchanged is not int or _INT_MIN <= cast("int", value) <= _INT_MAX):
            return value
        return _ABSENT
    if type(value) is not list and type(value) is not tuple:
        return _ABSENT
    kinds = set(map(type, value))  # every item of exactly the scalar's type (or none at all)
    if (not kinds or (len(kinds) == 1 and unchanged in kinds)) and (
        unchanged is not int or all(_INT_MIN <= item <= _INT_MAX for item in value)
    ):
        return list(value)
    return _ABSENT


async def _gathered(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """Await the fields that were awaitable (as graphql-core's `execute_fields` does) and return the results."""
    if len(awaitable_fields) == 1:
        name = awaitable_fields[0]
        results[name] = await results[name]
    else:
        awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results


class PlainExecutor(Executor):
    """The same decisions without the fast paths (`HELSEGRAF_FAST_PATHS=0`): graphql-core's own completion."""

    fast: ClassVar[bool] = False

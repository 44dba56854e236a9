"""Everything the executor and the preloader take from graphql-core and Strawberry beyond their public API.

graphql-core 3.3 reorganised execution (`Executor`, `FieldDetails`, `collect_subfields` with fragment
variables); Strawberry's execution context subclasses it. The versions are pinned exactly in
pyproject.toml; when they move, this module is the one place to look.
"""

from __future__ import annotations

from graphql.execution.collect_fields import FieldDetails, FieldDetailsList, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = [
    "FieldDetails",
    "FieldDetailsList",
    "Path",
    "StrawberryGraphQLCoreExecutionContext",
    "VariableValues",
    "collect_subfields",
    "get_argument_values",
]

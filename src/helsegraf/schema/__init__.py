"""The graph's schema, assembled from one module per register.

Each register's module defines the types it owns and contributes fields to the entity types of
other registers through small mixin types (`PersonFlr` adds `gp` to `Person`, `OrganizationResh`
adds `reshUnits` to `Organization`, ...). The entity types inherit those mixins, and `Query`
inherits every register's root fields. `build_schema(registers)` serves all registers, or a
subset as a Federation subgraph: fields owned by other registers are left out, and entity
types owned elsewhere shrink to their keys.
"""

from __future__ import annotations

from helsegraf.schema.assembly import build_schema

__all__ = ["build_schema"]

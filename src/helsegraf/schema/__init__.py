"""The graph's schema, assembled from one module per register (see schema/assembly.py).

Importing a register's module (`helsegraf.schema.preg`) loads no other register's schema module;
`build_schema` (in assembly.py, imported here on first use) brings them together.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_schema"]


def __getattr__(name: str) -> Any:
    if name == "build_schema":
        from helsegraf.schema.assembly import build_schema  # noqa: PLC0415 - keeps `import helsegraf.schema.x` light

        return build_schema
    raise AttributeError(name)

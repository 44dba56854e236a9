"""The map of the code: no register's schema module loads another's (assembly.py brings them together)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

REGISTER_MODULES = ("preg", "flr", "hpr", "resh", "ar", "bed", "kodeverk", "audit", "stats")


@pytest.mark.parametrize("module", REGISTER_MODULES)
def test_importing_a_register_schema_module_loads_no_other(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import helsegraf.schema.{module}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip

    loaded = set(re.findall(r"\|\s+helsegraf\.schema\.(\w+)\s*$", result.stderr, re.MULTILINE))
    assert module in loaded, result.stderr[-2000:]
    others = loaded & set(REGISTER_MODULES) - {module}
    assert not others, f"importing helsegraf.schema.{module} loaded {sorted(others)}"
    assert "assembly" not in loaded

"""The per-request guard: decides each personal field, records redactions and what was released.

Scope decisions are made once per requirement per request; row-level decisions (a citizen's own
record, a child under 16, a protected address) look only at the row being resolved.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from helsegraf.authz.principal import Principal
from helsegraf.authz.requirements import SELF_OR_PARENT, Requirement

MISSING_SCOPE: Final = "MISSING_SCOPE"
NOT_SELF: Final = "NOT_SELF"
ADDRESS_PROTECTED: Final = "ADDRESS_PROTECTED"
UNAUTHENTICATED: Final = "UNAUTHENTICATED"
PROTECTED_ADDRESS_SCOPE: Final = "preg:protected-address"
UNPROTECTED: Final = "UGRADERT"


def _protected(source: Any) -> bool:
    row = getattr(source, "row", None)
    return row is not None and getattr(row, "address_protection", UNPROTECTED) != UNPROTECTED


@dataclass
class Guard:
    """Decides fields for one principal during one request."""

    principal: Principal
    children_under_16: frozenset[str] = frozenset()
    redactions: list[dict[str, Any]] = field(default_factory=list)
    released_groups: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _scope_ok: dict[Requirement, bool] = field(default_factory=dict)

    @property
    def pid(self) -> str | None:
        """Return the signed-in citizen's own nin, if any."""
        return self.principal.pid

    def _has_scopes(self, requirement: Requirement) -> bool:
        ok = self._scope_ok.get(requirement)
        if ok is None:
            ok = self._scope_ok[requirement] = self.principal.has(requirement.scopes)
        return ok

    def denies(self, requirement: Requirement, source: Any) -> str | None:
        """Return why `source`'s field may not be released, or None when it may."""
        if self._has_scopes(requirement):
            if requirement.address and _protected(source) and not self.principal.has((PROTECTED_ADDRESS_SCOPE,)):
                return ADDRESS_PROTECTED
            return None
        if not self.principal.authenticated:
            return UNAUTHENTICATED
        if requirement.self_access and self.principal.pid:
            return self._denies_self_access(requirement, source)
        return MISSING_SCOPE

    def _denies_self_access(self, requirement: Requirement, source: Any) -> str | None:
        """Return why a citizen may not see `source`: it is neither them nor a child of theirs under 16."""
        subject = getattr(source, "subject_nin", None)
        if subject == self.principal.pid:
            return None
        if requirement.self_access == SELF_OR_PARENT and subject in self.children_under_16:
            return ADDRESS_PROTECTED if requirement.address and _protected(source) else None
        return NOT_SELF

    def redact(self, path: list[str | int], reason: str) -> None:
        """Record that the field at `path` was nulled, and why."""
        self.redactions.append({"path": path, "reason": reason})

    def released(self, nin: str | None, group: str) -> None:
        """Record that a field group of a person's data is in the response."""
        if nin:
            self.released_groups[nin].add(group)

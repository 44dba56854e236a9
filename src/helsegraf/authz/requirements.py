"""What each personal field needs: declared once per field, enforced by the guard.

A requirement is met when the caller holds all its scopes, or, for self-access requirements,
when a citizen looks at their own record (or a child of theirs under 16). Address
requirements also redact protected addresses (adressebeskyttelse) unless the caller holds
`preg:protected-address`. Location requirements (a person's GP relation, which tells where they
are treated) are refused to a parent whose child has a protected address, while health personnel and
services holding the scopes keep them: they need the GP relation to address messages about the patient.
The field group names what the access log records as released.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SELF_OR_PARENT: Final = "self-or-parent-of-child-under-16"
SELF_ONLY: Final = "self"
ADDRESS_NOT_PROTECTED: Final = "address-not-protected"


@dataclass(frozen=True, slots=True)
class Requirement:
    """The scopes a field needs, the row-level policies that may grant it instead, and its log group."""

    group: str
    scopes: tuple[str, ...]
    self_access: str | None = None  # SELF_OR_PARENT or SELF_ONLY: a citizen's alternative to the scopes
    address: bool = False  # protected addresses need preg:protected-address as well
    location: bool = False  # reveals where a person lives or is treated: never to a parent of a protected child

    @property
    def policies(self) -> tuple[str, ...]:
        """Return the named policies of this requirement, for the SDL."""
        named = (self.self_access,) if self.self_access else ()
        return (*named, ADDRESS_NOT_PROTECTED) if self.address or self.location else named


IDENTITY = Requirement("identity", ("preg:identity",), SELF_OR_PARENT)
ADDRESS = Requirement("address", ("preg:address",), SELF_OR_PARENT, address=True)
ADDRESS_PROTECTION = Requirement("address", ("preg:address",), SELF_OR_PARENT)
FAMILY = Requirement("family", ("preg:family",), SELF_OR_PARENT)
# Vergemål tells that an adult cannot manage their own affairs, often for reasons of health: a scope of its
# own (CONTRACT.md's list extended), so that family relations do not open it and it needs no family relations.
GUARDIANSHIP = Requirement("guardianship", ("preg:guardianship",), SELF_OR_PARENT)
GP = Requirement("gp", ("flr:read",), SELF_OR_PARENT, location=True)
PERSON_HEALTH_PERSONNEL = Requirement("health-personnel", ("hpr:extended",), SELF_OR_PARENT)
HPR_EXTENDED = Requirement("health-personnel", ("hpr:extended",))
PATIENT_LIST = Requirement("gp", ("flr:patient-list",))
ACCESS_LOG = Requirement("access-log", ("audit:read",), SELF_ONLY)
STATISTICS = Requirement("statistics", ("stats:read",))

SCOPES: Final = (
    "preg:identity", "preg:address", "preg:protected-address", "preg:family", "preg:guardianship", "flr:read",
    "flr:patient-list", "hpr:extended", "audit:read", "stats:read",
)  # fmt: skip

"""Value types more than one register uses (shareable in Federation)."""

from __future__ import annotations

import strawberry


@strawberry.federation.type(shareable=True, description="A person's name.")
class PersonName:
    """Given, middle and family name, and the full name as written."""

    given: str = strawberry.field(description="Given name (fornavn).")
    middle: str | None = strawberry.field(description="Middle name (mellomnavn).")
    family: str = strawberry.field(description="Family name (etternavn).")
    full: str = strawberry.field(description="The full name: given, middle and family name.")

    @classmethod
    def of(cls, given: str, middle: str | None, family: str) -> PersonName:
        """Build a name from its parts."""
        return cls(given=given, middle=middle, family=family, full=" ".join(p for p in (given, middle, family) if p))

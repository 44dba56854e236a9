"""The registers helsegraf serves, each its own source (DESIGN.md rule 1)."""

from __future__ import annotations

from typing import Final

PREG: Final = "preg"
FLR: Final = "flr"
HPR: Final = "hpr"
RESH: Final = "resh"
AR: Final = "ar"
BED: Final = "bed"
KODEVERK: Final = "kodeverk"
AUDIT: Final = "audit"

REGISTERS: Final[tuple[str, ...]] = (PREG, FLR, HPR, RESH, AR, BED, KODEVERK)
# Every store with its own database URL: the registers, and helsegraf's own access log.
STORES: Final[tuple[str, ...]] = (*REGISTERS, AUDIT)

TITLES: Final[dict[str, str]] = {
    PREG: "Persons (PREG / Persontjenesten)",
    FLR: "GPs and their lists (Fastlegeregisteret)",
    HPR: "Health personnel (Helsepersonellregisteret)",
    RESH: "Specialist-care units (RESH)",
    AR: "Communication parties (Adresseregisteret)",
    BED: "Organisations (Bedriftsregisteret / Enhetsregisteret)",
    KODEVERK: "Code lists (Kodeverk)",
    AUDIT: "Access log (logg over bruk)",
}


def parse_registers(value: str | None) -> frozenset[str]:
    """Parse a comma-separated register list; raise ValueError naming unknown registers."""
    if value is None or not value.strip() or value.strip() == "all":
        return frozenset(REGISTERS)
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = sorted(set(names) - set(REGISTERS))
    if unknown:
        msg = f"unknown register(s) {', '.join(unknown)}; choose from {', '.join(REGISTERS)}"
        raise ValueError(msg)
    return frozenset(names)

"""AR's CommunicationParty export (CPE REST, the party as in `ar.wsdl`) read into the register's rows.

What the export and its events carry is normalised here, each with a test: `-1` where AR means "no
parent" (ParentHerId, ParentOrganizationNumber), `9999-12-31T23:59:59.997` where it means "no end"
(Valid.To and certificate or address validity), and postal codes that arrive as integers without
their leading zero (`PhysicalAddress.PostalCode` is `xs:int` in the contract: 150 is 0150).

Interface for the sync engine: `party_rows(document)` returns the rows of one party (the export's
`CommunicationParties[]` items and the events' `CommunicationParty` have the same shape); the
engine's AR adapter pages `CommunicationPartyEvents?EventId=` from the export's `LastEventId`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

NO_PARENT: Final = -1
OPEN_END_PREFIX: Final = "9999-12-31"
POSTAL_DIGITS: Final = 4
TYPES: Final = {"Organization": "ORGANIZATION", "Service": "SERVICE", "Person": "PERSON", "Department": "DEPARTMENT"}


class PartyDocumentError(ValueError):
    """A party document lacks what a row needs (the message names the field, never a value)."""


def none_if_sentinel(value: Any) -> Any:
    """Return None for AR's "none" sentinels (-1, the year-9999 end), else the value."""
    if value == NO_PARENT or value == str(NO_PARENT):
        return None
    if isinstance(value, str) and value.startswith(OPEN_END_PREFIX):
        return None
    return value


def postal_code(value: Any) -> str | None:
    """Return a four-digit postal code, restoring the leading zero an integer lost (150 -> "0150")."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > POSTAL_DIGITS:
        raise PartyDocumentError("PhysicalAddress.PostalCode is not a Norwegian postal code")
    return text.zfill(POSTAL_DIGITS)


def _moment(value: Any) -> datetime | None:
    value = none_if_sentinel(value)
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    moment = _moment(value)
    return None if moment is None else moment.date()


def _code(value: Any) -> str | None:
    return None if value is None else (value.get("CodeValue") if isinstance(value, dict) else str(value))


def party_rows(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Return the rows of one party document: the party, its electronic and physical addresses."""
    her_id = document.get("HerId")
    if not isinstance(her_id, int) or her_id <= 0:
        raise PartyDocumentError("CommunicationParty.HerId is missing or not a positive number")
    valid = document.get("Valid") or {}
    org_number = none_if_sentinel(document.get("OrganizationNumber"))
    parent_org = none_if_sentinel(document.get("ParentOrganizationNumber"))
    party = {
        "her_id": her_id,
        "name": document.get("Name") or "",
        "display_name": document.get("DisplayName"),
        "type": TYPES.get(str(document.get("Type")), "ORGANIZATION"),
        "parent_her_id": none_if_sentinel(document.get("ParentHerId")),
        "parent_name": document.get("ParentName"),
        "parent_org_number": f"{int(parent_org):09d}" if parent_org is not None else None,
        "org_number": f"{int(org_number):09d}" if org_number is not None else None,
        "business_type": _code(document.get("BusinessType")),
        "parent_business_type": _code(document.get("ParentBusinessType")),
        "municipality_code": _code(document.get("Municipality")),
        "active": bool(document.get("Active")),
        "is_valid": document.get("IsValidCommunicationParty"),
        "valid_from": _day(valid.get("From")),
        "valid_to": _day(valid.get("To")),
        "last_changed": _moment(document.get("LastChanged")),
    }
    electronic = [
        {"her_id": her_id, "type": _code(a.get("Type")) or a.get("TypeCodeValue"), "address": a.get("Address")}
        for a in document.get("ElectronicAddresses") or []
        if a.get("Address")
    ]
    physical = [
        {
            "her_id": her_id,
            "type": _code(a.get("Type")) or a.get("TypeCodeValue"),
            "street": a.get("StreetAddress"),
            "postbox": a.get("Postbox"),
            "postal_code": postal_code(a.get("PostalCode")),
            "city": a.get("City"),
            "country": _code(a.get("Country")),
        }
        for a in document.get("PhysicalAddresses") or []
    ]
    return {"ar_communication_party": [party], "ar_electronic_address": electronic, "ar_physical_address": physical}

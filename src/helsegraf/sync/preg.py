"""PREG from Persontjenesten: the event log, then `bulk-by-id` for the persons it names.

Each event names a person by Persontjenesten's own id; the engine reads 1,000 events per call
(the contract's limit), and this adapter fetches the named persons 100 at a time (`bulk-by-id`'s
limit), several calls in flight, with `includeHistory=true` so address periods arrive whole. A
person's document is mapped onto PREG's rows (see `rows_of`); identity changes become redirects:
a number the document lists as `Discontinued` points (`replaced_by`) at the number now in use, so
`person(nin: old)` and every other register's link by the old number find the person.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import httpx
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, Table, and_, delete, update

from helsegraf.models.preg import (
    PROTECTION_WORDS,
    AddressPeriod,
    Guardianship,
    IdentificationNumber,
    ParentalResponsibility,
    ParentRelation,
    Person,
)
from helsegraf.sync.engine import Adapter, Batch, Entry, RetryableError, SyncError, check, upsert
from helsegraf.upstream.contracts import persontjenesten as pt

EVENTS_PER_CALL = 1000
BULK_MAX = 100
KNOWN_EVENTS = frozenset(e.value for e in pt.EventType)
# What PREG stores; asked for explicitly (the contract requires at least one information part).
INFORMATION_PARTS = (
    "NorwegianIdentificationNumber", "Status", "Gender", "Birth", "Death", "Name", "AddressProtection",
    "ResidentialAddress", "PresentAddress", "PostalAddress", "ForeignPostalAddress", "MaritalStatus",
    "Citizenship", "FamilyRelation", "ParentalResponsibility", "GuardianshipOrFuturePowerOfAttorney",
)  # fmt: skip
PROTECTION = PROTECTION_WORDS  # the graph's protection words for the contract's levels
PARENT_ROLES = {"Mother": "MOTHER", "Father": "FATHER", "CoMother": "CO_MOTHER"}
PEOPLE = TypeAdapter(list[pt.Person])
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(value: str) -> str:
    """Resident -> RESIDENT, NotResident -> NOT_RESIDENT (the contract's words to the graph's)."""
    return _CAMEL.sub("_", value).upper()


def describe(error: ValidationError) -> str:
    """Name what is wrong with a document by location and error type only (never the values)."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in error.errors(include_input=False)[:3]]
    return "malformed document: " + "; ".join(parts)


@dataclass
class PregSource:
    """Where Persontjenesten is and how to sign in (HelseID client credentials)."""

    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scope: str = "nhn:hgd-persontjenesten-api/read-with-legal-basis"
    basis: str = "legal-basis"


def _current(items: list[Any] | None) -> Any:
    """Return the element in force (`isValid`), else the last one."""
    if not items:
        return None
    return next((item for item in items if item.isValid), items[-1])


def _day(value: datetime | None) -> Any:
    return value.date() if value is not None else None


def _street(address: Any) -> str | None:
    if address is None or address.addressName is None:
        return None
    number = address.addressNumber
    if number is None or number.houseNumber is None:
        return str(address.addressName)
    return f"{address.addressName} {number.houseNumber}{number.houseLetter or ''}"


@dataclass
class Rows:
    """The PREG rows one batch of documents produces."""

    persons: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    relations: list[dict[str, Any]] = field(default_factory=list)
    responsibility: list[dict[str, Any]] = field(default_factory=list)
    guardianship: list[dict[str, Any]] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)  # (old nin, current nin)


def rows_of(person: pt.Person, rows: Rows) -> None:  # noqa: C901 - one document, part by part
    """Map one person document onto PREG's rows."""
    numbers = person.norwegianIdentificationNumber or []
    in_use = [n for n in numbers if n.status == pt.IdentificationStatus.InUse and n.identificationNumber]
    current = (in_use or [n for n in numbers if n.identificationNumber])[-1].identificationNumber if numbers else None
    if current is None or person.id is None:
        msg = "document has neither an identification number nor an id"
        raise ValueError(msg)
    stamps = [
        item.registeredAt
        for part in (
            person.status,
            person.name,
            person.gender,
            person.birth,
            person.addressProtection,
            person.residentialAddress,
            person.maritalStatus,
            person.citizenship,
        )
        for item in (part or [])
        if item.isValid and item.registeredAt is not None
    ]
    name, birth, gender, status = (_current(person.name), _current(person.birth), _current(person.gender),
                                   _current(person.status))  # fmt: skip
    if name is None or birth is None or birth.birthDate is None or gender is None or status is None:
        msg = "document lacks a name, birth date, gender or status"
        raise ValueError(msg)
    protection = _current(person.addressProtection)
    level = protection.protectionLevel.value if protection is not None and protection.protectionLevel else None
    residential = [a for a in (person.residentialAddress or []) if a.isValid]
    words = PROTECTION.get(level or "Unclassified", "UGRADERT")
    if words == "STRENGT_FORTROLIG" and not residential and person.foreignPostalAddress:
        words = "STRENGT_FORTROLIG_UTLAND"  # strictly confidential with only a foreign address (PDL's word)
    home = residential[-1] if residential else None
    street = home.streetAddress if home is not None else None
    city = street.city if street is not None else None
    marital, citizenship = _current(person.maritalStatus), _current(person.citizenship)
    rows.persons.append({
        "nin": current, "given_name": name.givenName, "middle_name": name.middleName,
        "family_name": name.familyName, "birth_date": birth.birthDate.date(), "gender": gender.gender.value.upper(),
        "status": snake(status.status.value), "death_date": _day(person.death.deceasedDate) if person.death else None,
        "street": _street(street), "postal_code": city.postalCode if city else None,
        "postal_place": city.cityName if city else None,
        "municipality_code": street.municipalityNumber if street is not None else None,
        "district": home.urbanDistrictName if home is not None else None, "address_protection": words,
        "person_id": person.id, "protection_level": level,
        "marital_status": marital.status.value if marital is not None and marital.status else None,
        "citizenship": citizenship.countryCode if citizenship is not None else None,
        "replaced_by": None, "last_changed": max(stamps) if stamps else None,
    })  # fmt: skip
    for n in numbers:
        if n.identificationNumber is None:
            continue
        rows.numbers.append({
            "number": n.identificationNumber, "person_id": person.id,
            "number_type": n.identificationNumberType.value if n.identificationNumberType else "NationalIdentityNumber",
            "status": n.status.value if n.status else "InUse", "valid_from": _day(n.validFrom),
            "valid_to": _day(n.validTo),
        })  # fmt: skip
        if in_use and n.status == pt.IdentificationStatus.Discontinued and n.identificationNumber != current:
            rows.redirects.append((n.identificationNumber, current))
    rows.addresses.extend(address_rows(person, current))
    for relation in person.familyRelation or []:
        role = relation.relatedPersonsRole.value if relation.relatedPersonsRole else None
        if relation.isValid and role in PARENT_ROLES and relation.relatedPerson:
            rows.relations.append(
                {"child_nin": current, "parent_nin": relation.relatedPerson, "role": PARENT_ROLES[role]}
            )
    for responsibility in person.parentalResponsibility or []:
        if responsibility.isValid and responsibility.responsible and responsibility.responsibilityType:
            rows.responsibility.append({
                "child_nin": current, "responsible_nin": responsibility.responsible,
                "responsibility_type": responsibility.responsibilityType.value,
            })  # fmt: skip
    for guardianship in person.guardianshipOrFuturePowerOfAttorney or []:
        guardian = guardianship.guardian
        if guardianship.isValid and guardian is not None and guardian.identificationNumber:
            rows.guardianship.append({
                "nin": current, "guardian_nin": guardian.identificationNumber,
                "guardianship_type": guardianship.guardianshipType.value if guardianship.guardianshipType else "Adult",
                "scope": guardian.guardianshipScope.value if guardian.guardianshipScope else None,
            })  # fmt: skip


def _grading(address: Any) -> str | None:
    """Return an address's own grading (addressConfidentiality), in the contract's words."""
    value = address.addressConfidentiality
    return value.value if value is not None else None


def _postal_street(postal: Any) -> str | None:
    """Return the first line of a contact address: its post box, street address or free-form lines."""
    if postal.postBoxAddress is not None:
        box = postal.postBoxAddress.postBoxIdentification
        return f"Postboks {box}" if box and not box.startswith("Postboks") else box
    street = postal.streetAddress
    if street is not None and street.addressName is not None:
        number = street.streetAddressNumber
        if number is None or number.houseNumber is None:
            return str(street.addressName)
        return f"{street.addressName} {number.houseNumber}{number.houseLetter or ''}"
    lines = postal.freeFormPostalAddress.addressLine if postal.freeFormPostalAddress is not None else None
    return ", ".join(lines) if lines else None


def address_rows(person: pt.Person, current: str) -> list[dict[str, Any]]:
    """Map a document's address history onto half-open periods `[validFrom, validTo)`, by kind.

    Residential (bostedsadresse) and present (oppholdsadresse) addresses are street or cadastral
    addresses; postal (kontaktadresse) ones a post box, a street address or free-form lines. Each
    period keeps its own grading (`addressConfidentiality`); a period without a start is not a period.
    """
    found: list[dict[str, Any]] = []
    for kind, items in (("RESIDENTIAL", person.residentialAddress), ("PRESENT", person.presentAddress)):
        for a in items or []:
            if a.validFrom is None:
                continue
            s = a.streetAddress
            cadastral = a.cadastralAddress
            c = s.city if s is not None else cadastral.city if cadastral is not None else None
            municipality = s.municipalityNumber if s is not None else None
            if municipality is None and cadastral is not None and cadastral.cadastralNumber is not None:
                municipality = cadastral.cadastralNumber.municipalityNumber
            found.append({
                "nin": current, "kind": kind, "valid_from": a.validFrom.date(), "valid_to": _day(a.validTo),
                "street": _street(s) if s is not None else cadastral.addressAdditionalName if cadastral else None,
                "postal_code": c.postalCode if c else None, "postal_place": c.cityName if c else None,
                "municipality_code": municipality, "district": a.urbanDistrictName, "confidentiality": _grading(a),
            })  # fmt: skip
    for postal in person.postalAddress or []:
        if postal.validFrom is None:
            continue
        form = postal.postBoxAddress or postal.streetAddress or postal.freeFormPostalAddress
        if form is None:
            continue
        c = form.city
        found.append({
            "nin": current, "kind": "POSTAL", "valid_from": postal.validFrom.date(), "valid_to": _day(postal.validTo),
            "street": _postal_street(postal), "postal_code": c.postalCode if c else None,
            "postal_place": c.cityName if c else None, "municipality_code": None, "district": None,
            "confidentiality": _grading(postal),
        })  # fmt: skip
    return found


class PregAdapter(Adapter):
    """Persontjenesten's event log into PREG."""

    register = "preg"
    feeds = ("events",)
    page_size = EVENTS_PER_CALL

    def __init__(self, source: PregSource, concurrency: int = 4) -> None:
        self.source = source
        self.concurrency = concurrency
        self._api = f"{source.base_url.rstrip('/')}/api/{source.basis}"

    async def authenticate(self, client: httpx.AsyncClient) -> None:
        """Fetch a HelseID access token with the client credentials (the secret never reaches a log)."""
        client.headers["api-version"] = "2"
        if not (self.source.token_url and self.source.client_id):
            return
        response = await client.post(
            self.source.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.source.client_id,
                "client_secret": self.source.client_secret or "",
                "scope": self.source.scope,
            },
        )
        if response.status_code != 200:  # noqa: PLR2004 - OK
            check(response, "HelseID token")
            raise SyncError(f"HelseID token: HTTP {response.status_code}")
        client.headers["authorization"] = f"Bearer {response.json()['access_token']}"

    async def head(self, client: httpx.AsyncClient, feed: str, after: int) -> int:
        """Return the newest sequence number (`event/latest`)."""
        del feed, after
        response = await client.get(f"{self._api}/event/latest")
        if response.status_code == 404:  # noqa: PLR2004 - no events yet
            return 0
        document = pt.EventDocument.model_validate_json(check(response, "event/latest").content)
        return int(document.sequenceNumber or 0)

    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return up to 1,000 events after `after`."""
        del feed
        response = check(await client.get(f"{self._api}/event", params={"sequenceNumber": after + 1}), "event")
        try:
            result = pt.EventDocumentSearchResult.model_validate_json(response.content)
        except ValidationError as exc:
            raise RetryableError(f"event page after {after}: {describe(exc)}") from None
        entries = []
        for event in result.results or []:
            if event.sequenceNumber is None or not event.sequenceNumber.isdigit():
                continue  # no place in the sequence: the gap check records it
            entries.append(Entry(int(event.sequenceNumber), event.personId or "", event.eventType or ""))
        return entries

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Fetch the named persons, 100 per `bulk-by-id` call, several calls at a time."""
        wanted: list[str] = []
        for entry in batch.entries:
            if entry.kind not in KNOWN_EVENTS:
                batch.skipped[entry.position] = "unknown event type"
            elif not entry.key:
                batch.skipped[entry.position] = "event names no person"
            else:
                wanted.append(entry.key)
        ids = list(dict.fromkeys(wanted))
        limit = asyncio.Semaphore(self.concurrency)

        async def fetch(chunk: list[str]) -> dict[str, Any]:
            async with limit:
                response = await client.post(
                    f"{self._api}/person/bulk-by-id",
                    params={"informationParts": INFORMATION_PARTS, "includeHistory": "true"},
                    data={"personIds": chunk},
                )
            return self._parse(check(response, "person/bulk-by-id").content)

        found: dict[str, Any] = {}
        for part in await asyncio.gather(*(fetch(ids[i : i + BULK_MAX]) for i in range(0, len(ids), BULK_MAX))):
            found.update(part)
        for entry in batch.entries:
            if entry.position in batch.skipped:
                continue
            document = found.get(entry.key)
            if document is None:
                batch.skipped[entry.position] = "person not returned by bulk-by-id"
            elif isinstance(document, str):
                batch.skipped[entry.position] = document
            else:
                batch.documents[entry.key] = document

    @staticmethod
    def _parse(content: bytes) -> dict[str, Any]:
        """Parse a bulk answer: persons by id; a document that does not parse maps to the reason."""
        try:
            return {p.id: p for p in PEOPLE.validate_json(content) if p.id is not None}
        except ValidationError:
            pass
        import orjson  # noqa: PLC0415 - only for the rare malformed answer

        try:
            items = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise RetryableError("person/bulk-by-id: the answer is not JSON") from None
        parsed: dict[str, Any] = {}
        for item in items if isinstance(items, list) else []:
            key = item.get("id") if isinstance(item, dict) else None
            if not isinstance(key, str):
                continue
            try:
                parsed[key] = pt.Person.model_validate(item)
            except ValidationError as exc:
                parsed[key] = describe(exc)
        return parsed

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Upsert the batch's persons and their parts; redirect replaced numbers."""
        rows = Rows()
        for entry in batch.entries:
            document = batch.documents.get(entry.key)
            if document is None or entry.position in batch.skipped:
                continue
            try:
                one = Rows()
                rows_of(document, one)
            except ValueError as exc:
                batch.skipped[entry.position] = f"malformed document: {exc}"
                batch.documents.pop(entry.key, None)
                continue
            for name in ("persons", "numbers", "addresses", "relations", "responsibility", "guardianship", "redirects"):
                getattr(rows, name).extend(getattr(one, name))
        persons = list({r["nin"]: r for r in rows.persons}.values())
        upsert(conn, _table(Person), persons, ["nin"], keep=["replaced_by"])
        upsert(conn, _table(IdentificationNumber), _unique(rows.numbers, "number", "person_id"),
               ["number", "person_id"])  # fmt: skip
        upsert(conn, _table(AddressPeriod), _unique(rows.addresses, "nin", "kind", "valid_from"),
               ["nin", "kind", "valid_from"])  # fmt: skip
        # Relations, responsibility and guardianship mirror the document's current state (they carry
        # no periods): a person's rows are replaced by what the document says now.
        nins = [p["nin"] for p in persons]
        for table, key, found, keys in (
            (_table(ParentRelation), "child_nin", rows.relations, ("child_nin", "parent_nin")),
            (_table(ParentalResponsibility), "child_nin", rows.responsibility, ("child_nin", "responsible_nin")),
            (_table(Guardianship), "nin", rows.guardianship, ("nin", "guardian_nin")),
        ):
            for start in range(0, len(nins), 1000):
                conn.execute(delete(table).where(table.c[key].in_(nins[start : start + 1000])))
            upsert(conn, table, _unique(found, *keys), keys)
        table = _table(Person)
        for old, current in dict(rows.redirects).items():
            conn.execute(
                update(table).where(and_(table.c.nin == old, table.c.nin != current)).values(replaced_by=current)
            )
        return len(persons)


def _table(model: type) -> Table:
    """Return a model's Table (typed as one: SQLAlchemy types `__table__` as a FromClause)."""
    return cast("Table", model.__table__)  # type: ignore[attr-defined]


def _unique(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Keep the last row per key (a batch may carry a person twice; one statement may not)."""
    return list({tuple(r[k] for k in keys): r for r in rows}.values())

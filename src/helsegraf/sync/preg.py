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
import functools
import gc
import multiprocessing
import operator
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote_plus, urlencode

import httpx
import msgspec
from psycopg._copy_base import TextFormatter
from psycopg.adapt import Transformer
from pydantic import ValidationError
from sqlalchemy import Connection, Table, and_, bindparam, delete, update

from helsegraf.models.preg import (
    PROTECTION_WORDS,
    AddressPeriod,
    Guardianship,
    GuardianWithoutId,
    IdentificationNumber,
    LegalCapacity,
    ParentalResponsibility,
    ParentRelation,
    Person,
    ResponsibilityWithoutId,
)
from helsegraf.sync.credentials import ASSERTION_TYPE, ClientKey, DPoPKey
from helsegraf.sync.engine import (
    RETRY_STATUSES,
    Adapter,
    Batch,
    Entry,
    RetryableError,
    SyncError,
    check,
    copy_append,
    copy_upsert,
    upsert,
)
from helsegraf.upstream.contracts import persontjenesten as pt
from helsegraf.upstream.contracts import structs
from helsegraf.upstream.contracts.structs import NOTHING

EVENTS_PER_CALL = 1000
BULK_MAX = 100
KNOWN_EVENTS = frozenset(e.value for e in pt.EventType)
IN_USE, DISCONTINUED = pt.IdentificationStatus.InUse.value, pt.IdentificationStatus.Discontinued.value
# What PREG stores; asked for explicitly (the contract requires at least one information part).
INFORMATION_PARTS = (
    "NorwegianIdentificationNumber", "Status", "Gender", "Birth", "Death", "Name", "AddressProtection",
    "ResidentialAddress", "PresentAddress", "PostalAddress", "ForeignPostalAddress", "MaritalStatus",
    "Citizenship", "FamilyRelation", "ParentalResponsibility", "GuardianshipOrFuturePowerOfAttorney",
    "SharedResidence", "DeprivedLegalAuthority", "LegalAuthority",
)  # fmt: skip
PROTECTION = PROTECTION_WORDS  # the graph's protection words for the contract's levels
PARENT_ROLES = {"Mother": "MOTHER", "Father": "FATHER", "CoMother": "CO_MOTHER"}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@functools.cache
def snake(value: str) -> str:
    """Resident -> RESIDENT, NotResident -> NOT_RESIDENT (the contract's words to the graph's)."""
    return _CAMEL.sub("_", value).upper()


def describe(error: ValidationError | msgspec.DecodeError) -> str:
    """Name what is wrong with a document by location and kind only (never the values).

    PREG's documents are msgspec Structs (`contracts/structs.py`); BED's are pydantic models.
    """
    if isinstance(error, msgspec.DecodeError):
        return "malformed document: " + structs.describe(error)
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
    # private_key_jwt: the client's signing key (HelseID's registered key) instead of a secret.
    client_key: ClientKey | None = field(default=None, repr=False)
    dpop: DPoPKey | None = field(default=None, repr=False)  # set: tokens are DPoP-bound, every call carries a proof
    audience: str | None = None  # the client assertion's aud (HelseID's token endpoint; default token_url)


def _current(items: list[Any] | None) -> Any:
    """Return the element in force (`isValid`), else the last one."""
    if not items:
        return None
    for item in items:
        if item.isValid:
            return item
    return items[-1]


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
    responsibility_without_id: list[dict[str, Any]] = field(default_factory=list)  # the other end has no number
    guardians_without_id: list[dict[str, Any]] = field(default_factory=list)
    legal_capacity: list[dict[str, Any]] = field(default_factory=list)  # periods, kept whole
    redirects: list[tuple[str, str]] = field(default_factory=list)  # (old nin, current nin)
    mapped: set[str] = field(default_factory=set)  # the person ids these rows are of

    def extend(self, other: Rows) -> None:
        """Add another batch part's rows."""
        for name in ("persons", "numbers", "addresses", "relations", "responsibility", "guardianship", "redirects",
                     "responsibility_without_id", "guardians_without_id", "legal_capacity"):  # fmt: skip
            getattr(self, name).extend(getattr(other, name))
        self.mapped |= other.mapped


STAMPED = ("status", "name", "gender", "birth", "addressProtection", "residentialAddress", "maritalStatus",
           "citizenship")  # fmt: skip


def rows_of(person: Any, rows: Rows) -> None:
    """Map one person document (a `structs.Person`, validated against the contract) onto PREG's rows."""
    numbers = person.norwegianIdentificationNumber or []
    in_use = [n for n in numbers if n.status == IN_USE and n.identificationNumber]
    listed = in_use or [n for n in numbers if n.identificationNumber]
    current = listed[-1].identificationNumber if listed else None
    person_id = person.id
    if current is None or person_id is None:
        msg = "document has neither an identification number nor an id"
        raise ValueError(msg)
    stamps = [
        item.registeredAt
        for part in STAMPED
        for item in (getattr(person, part) or ())
        if item.isValid and item.registeredAt is not None
    ]
    name, birth, gender, status = (_current(person.name), _current(person.birth), _current(person.gender),
                                   _current(person.status))  # fmt: skip
    if (name is None or birth is None or birth.birthDate is None or gender is None or status is None
            or gender.gender is None or status.status is None):  # fmt: skip
        msg = "document lacks a name, birth date, gender or status"
        raise ValueError(msg)
    protection = _current(person.addressProtection)
    level = protection.protectionLevel if protection is not None else None
    residential = [a for a in (person.residentialAddress or ()) if a.isValid]
    words = PROTECTION.get(level or "Unclassified", "UGRADERT")
    if words == "STRENGT_FORTROLIG" and not residential and person.foreignPostalAddress:
        words = "STRENGT_FORTROLIG_UTLAND"  # strictly confidential with only a foreign address (PDL's word)
    home = residential[-1] if residential else None
    street = home.streetAddress if home is not None else None
    city = street.city if street is not None else None
    marital, citizenship = _current(person.maritalStatus), _current(person.citizenship)
    death = person.death
    rows.persons.append({
        "nin": current, "given_name": name.givenName, "middle_name": name.middleName,
        "family_name": name.familyName, "birth_date": birth.birthDate.date(),
        "gender": gender.gender.upper(), "status": snake(status.status),
        "death_date": _day(death.deceasedDate) if death else None,
        "street": _street(street), "postal_code": city.postalCode if city else None,
        "postal_place": city.cityName if city else None,
        "municipality_code": street.municipalityNumber if street is not None else _unknown_in(home),
        "district": home.urbanDistrictName if home is not None else None, "address_protection": words,
        "person_id": person_id, "protection_level": level,
        "marital_status": marital.status if marital is not None else None,
        "citizenship": citizenship.countryCode if citizenship is not None else None,
        "replaced_by": None, "last_changed": max(stamps) if stamps else None,
    })  # fmt: skip
    for n in numbers:
        number = n.identificationNumber
        if number is None:
            continue
        rows.numbers.append({
            "number": number, "person_id": person_id,
            "number_type": n.identificationNumberType or "NationalIdentityNumber",
            "status": n.status or "InUse", "valid_from": _day(n.validFrom),
            "valid_to": _day(n.validTo),
        })  # fmt: skip
        if in_use and n.status == DISCONTINUED and number != current:
            rows.redirects.append((number, current))
    rows.addresses.extend(address_rows(person, current))
    for relation in person.familyRelation or ():
        role = relation.relatedPersonsRole
        if relation.isValid and role in PARENT_ROLES and relation.relatedPerson:
            rows.relations.append(
                {"child_nin": current, "parent_nin": relation.relatedPerson, "role": PARENT_ROLES[role]}
            )
    responsibility_rows(person, current, rows)
    guardianship_rows(person, current, rows)
    rows.legal_capacity.extend(legal_capacity_rows(person, current))


def legal_capacity_rows(person: Any, current: str) -> list[dict[str, Any]]:
    """Map `deprivedLegalAuthority` (DEPRIVED) and `legalAuthority` with a Limited scope (LIMITED) onto periods.

    Every entry with a start is a period `[validFrom, validTo)`, kept whole as address periods are.
    """
    found = []
    for kind, items in (("DEPRIVED", person.deprivedLegalAuthority), ("LIMITED", person.legalAuthority)):
        for entry in items or ():
            if entry.validFrom is None or (kind == "LIMITED" and entry.legalAuthorityScope != "Limited"):
                continue
            found.append({"nin": current, "kind": kind, "valid_from": entry.validFrom.date(),
                          "valid_to": _day(entry.validTo)})  # fmt: skip
    return found


def responsibility_rows(person: Any, current: str, rows: Rows) -> None:
    """Map `parentalResponsibility` (foreldreansvar) in force: each entry names its child and its holder.

    On a child's document an entry names the holder, by number (`responsible`) or, for a holder
    without one, by name and birth date (`responsibleWithoutIdentifier`). On a holder's document an
    entry names a child without a number (`subjectOfResponsibilityWithoutIdentifier`); one naming a
    child by number is that child's, whose own document carries it (so it is not taken from here).
    Organisations holding responsibility (`responsibleOrganization`) are left out.
    """
    unidentified = 0
    for responsibility in person.parentalResponsibility or ():
        kind = responsibility.responsibilityType
        if not responsibility.isValid or not kind:
            continue
        responsible, subject = responsibility.responsible, responsibility.subjectOfResponsibility
        child_without = responsibility.subjectOfResponsibilityWithoutIdentifier
        holder_without = responsibility.responsibleWithoutIdentifier
        if child_without is not None:
            role, other = "CHILD", child_without
        elif subject and subject != current:
            continue
        elif responsible:
            rows.responsibility.append({
                "child_nin": current, "responsible_nin": responsible, "responsibility_type": kind,
            })  # fmt: skip
            continue
        elif holder_without is not None:
            role, other = "RESPONSIBLE", holder_without
        else:
            continue
        rows.responsibility_without_id.append({
            "nin": current, "position": unidentified, "role": role, "responsibility_type": kind,
            **_without_id(other.name, other.birthDate, other.gender, other.citizenship),
        })  # fmt: skip
        unidentified += 1


def _without_id(name: Any, born: datetime | None, gender: str | None, citizenship: str | None) -> dict[str, Any]:
    """Return the columns of a person the contract names without an identification number."""
    given, middle, family = (name.givenName, name.middleName, name.familyName) if name is not None else (None,) * 3
    return {
        "given_name": _fit(given, 100), "middle_name": _fit(middle, 100),
        "family_name": _fit(family, 100), "birth_date": _day(born), "gender": gender,
        "citizenship": _fit(citizenship, 60),
    }  # fmt: skip


def guardianship_rows(person: Any, current: str, rows: Rows) -> None:
    """Map `guardianshipOrFuturePowerOfAttorney` in force: a guardian by number, or by name and birth date.

    A guardian without a number is named by `name` and `guardianInformation` (or the deprecated
    `nameBirthDate`); the office (`office`) and the guardian's service areas are left out.
    """
    unidentified = 0
    for guardianship in person.guardianshipOrFuturePowerOfAttorney or ():
        guardian = guardianship.guardian
        if not guardianship.isValid or guardian is None:
            continue
        common = {
            "nin": current, "guardianship_type": guardianship.guardianshipType or "Adult",
            "scope": guardian.guardianshipScope,
            "in_personal_scope": guardian.isGuardianshipInPersonalScope,
        }  # fmt: skip
        if guardian.identificationNumber:
            rows.guardianship.append({**common, "guardian_nin": guardian.identificationNumber})
            continue
        known, old = guardian.guardianInformation or NOTHING, guardian.nameBirthDate or NOTHING
        name = guardian.name or known.personName or old.name
        citizenships = known.citizenship or [old.citizenship]
        if name is None and known.birthDate is None and old.birthDate is None:
            continue  # nobody named: nothing to hold
        born, gender = known.birthDate or old.birthDate, known.gender or old.gender
        rows.guardians_without_id.append(
            {**common, "position": unidentified, **_without_id(name, born, gender, citizenships[0])}
        )
        unidentified += 1


def _unknown_in(home: Any) -> str | None:
    """Return the municipality of an unknown residence (`unknownResidence`: the register knows no more)."""
    unknown = home.unknownResidence if home is not None else None
    return unknown.municipalityNumber if unknown is not None else None


def _postal_street(postal: Any) -> str | None:
    """Return the first line of a contact address: its post box, street address or free-form lines."""
    box = postal.postBoxAddress
    if box is not None:
        name = box.postBoxIdentification
        return f"Postboks {name}" if name and not name.startswith("Postboks") else name
    street = postal.streetAddress
    if street is not None and street.addressName is not None:
        number = street.streetAddressNumber
        if number is None or number.houseNumber is None:
            return str(street.addressName)
        return f"{street.addressName} {number.houseNumber}{number.houseLetter or ''}"
    free = postal.freeFormPostalAddress
    lines = free.addressLine if free is not None else None
    return ", ".join(lines) if lines else None


def address_rows(person: Any, current: str) -> list[dict[str, Any]]:
    """Map a document's address history onto half-open periods `[validFrom, validTo)`, by kind.

    Residential (bostedsadresse), present (oppholdsadresse) and shared (delt bosted: a child's home at
    the other parent's, its period the register's validity, not the agreement's dates) addresses are
    street or cadastral addresses; postal (kontaktadresse) ones a post box, a street address or free-form lines. Each
    period keeps its own grading (`addressConfidentiality`); a period without a start is not a period.
    """
    found: list[dict[str, Any]] = []
    for kind, items in (("RESIDENTIAL", person.residentialAddress), ("PRESENT", person.presentAddress),
                        ("SHARED", person.sharedResidence)):  # fmt: skip
        for a in items or ():
            if a.validFrom is None:
                continue
            s, cadastral = a.streetAddress, a.cadastralAddress
            place = s if s is not None else cadastral
            c = place.city if place is not None else None
            municipality = s.municipalityNumber if s is not None else None
            if municipality is None and cadastral is not None and cadastral.cadastralNumber is not None:
                municipality = cadastral.cadastralNumber.municipalityNumber
            street = _street(s) if s is not None else cadastral.addressAdditionalName if cadastral else None
            found.append({
                "nin": current, "kind": kind, "valid_from": a.validFrom.date(), "valid_to": _day(a.validTo),
                "street": street, "postal_code": c.postalCode if c else None,
                "postal_place": c.cityName if c else None, "municipality_code": municipality,
                "district": a.urbanDistrictName, "confidentiality": a.addressConfidentiality,
                **NOT_ABROAD, **_abroad_or_unknown(a),
            })  # fmt: skip
    for postal in person.postalAddress or ():
        form = postal.postBoxAddress or postal.streetAddress or postal.freeFormPostalAddress
        if postal.validFrom is None or form is None:
            continue
        c = form.city
        found.append({
            "nin": current, "kind": "POSTAL", "valid_from": postal.validFrom.date(),
            "valid_to": _day(postal.validTo), "street": _postal_street(postal),
            "postal_code": c.postalCode if c else None, "postal_place": c.cityName if c else None,
            "municipality_code": None, "district": None,
            "confidentiality": postal.addressConfidentiality, **NOT_ABROAD,
        })  # fmt: skip
    found.extend(foreign_postal_rows(person, current))
    return found


# The columns an address period has beyond a Norwegian address's (preg_0004), as a Norwegian one has them.
NOT_ABROAD: dict[str, Any] = {"country_code": None, "region": None, "address_unknown": None, "stay_elsewhere": None}


def _abroad(address: Any) -> dict[str, Any]:
    """Map an `InternationalAddress` or a `FreeFormInternationalAddress` onto a period's columns.

    The street is the address name with the building, floor, housing unit and post box (or the
    free-form lines), joined by commas, as the post office writes them on one line; the C/O name
    is left out, as for Norwegian addresses.
    """
    if address.addressLine is not None:
        parts = list(address.addressLine)
    else:
        parts = [address.addressName, address.building, address.floorNumber, address.housingUnit, address.postBox]
    lines = [str(p) for p in parts if p]
    return {
        "street": _fit(", ".join(lines) if lines else None, 200), "postal_code": _fit(address.postCode, 20),
        "postal_place": _fit(address.cityOrPlaceName, 100), "district": _fit(address.districtName, 100),
        "region": _fit(address.region, 100), "country_code": _fit(address.countryCode, 2),
        "municipality_code": None,
    }  # fmt: skip


def _fit(value: str | None, length: int) -> str | None:
    """Cut a free-form value the contract does not bound to its column (an address abroad, a name without a number).

    A longer value would fail the batch's insert on PostgreSQL and stop the feed on one document.
    """
    return value[:length] if value is not None else None


def _abroad_or_unknown(address: Any) -> dict[str, Any]:
    """Return what a residential or present address says beyond a Norwegian street or cadastral address.

    A present address abroad (`foreignAddress`); an address the register does not know
    (`isAddressUnknown`, or a residential `unknownResidence`, which names only the municipality);
    a stay elsewhere (`stayElsewhere`).
    """
    found: dict[str, Any] = {}
    foreign = address.foreignAddress
    if foreign is not None:
        found |= _abroad(foreign)
    unknown = address.unknownResidence
    if unknown is not None:
        found |= {"address_unknown": True, "municipality_code": unknown.municipalityNumber}
    if address.isAddressUnknown:
        found["address_unknown"] = True
    if address.stayElsewhere is not None:
        found["stay_elsewhere"] = address.stayElsewhere
    return found


def foreign_postal_rows(person: Any, current: str) -> list[dict[str, Any]]:
    """Map `foreignPostalAddress` (kontaktadresse i utlandet) onto FOREIGN_POSTAL periods, each with its grading."""
    found: list[dict[str, Any]] = []
    for postal in person.foreignPostalAddress or ():
        form = postal.foreignAddress or postal.freeFormForeignAddress
        if postal.validFrom is None or form is None:
            continue
        found.append({
            "nin": current, "kind": "FOREIGN_POSTAL", "valid_from": postal.validFrom.date(),
            "valid_to": _day(postal.validTo), "confidentiality": postal.addressConfidentiality,
            **NOT_ABROAD, **_abroad(form),
        })  # fmt: skip
    return found


class PregAdapter(Adapter):
    """Persontjenesten's event log into PREG."""

    register = "preg"
    feeds = ("events",)
    page_size = EVENTS_PER_CALL

    def __init__(self, source: PregSource, concurrency: int = 4, workers: int = 0) -> None:
        self.source = source
        self.concurrency = concurrency
        self.workers = workers
        self._api = f"{source.base_url.rstrip('/')}/api/{source.basis}"
        self._pool: ProcessPoolExecutor | None = None
        self._token: str | None = None
        self._scheme = "Bearer"
        self._hooked: httpx.AsyncClient | None = None
        self._copy = False  # PostgreSQL: documents are mapped to COPY text (see CopyRows)
        self._loaded_nins: set[int] = set()  # a bulk load's keys so far, as hashes (see apply_bulk)
        self._loaded_ids: set[int] = set()

    def bind(self, dialect: str) -> None:
        """On PostgreSQL, map documents to COPY text where they are mapped (in the workers, if any)."""
        self._copy = dialect == "postgresql"

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    async def authenticate(self, client: httpx.AsyncClient) -> None:
        """Fetch a HelseID access token: a signed client assertion (or, for test environments, the secret).

        With DPoP the token request carries a proof and the token is bound to the proof's key; every
        call to Persontjenesten then carries `Authorization: DPoP` and a fresh proof. The credentials
        go only to HelseID and Persontjenesten (a request hook adds them to this source's calls), and
        never reach a log.
        """
        client.headers["api-version"] = "2"
        if self._hooked is not client:
            client.event_hooks["request"].append(self._authorize)
            self._hooked = client
        source = self.source
        if not (source.token_url and source.client_id):
            return
        form = {"grant_type": "client_credentials", "client_id": source.client_id, "scope": source.scope}
        if source.client_key is not None:
            form |= {"client_assertion_type": ASSERTION_TYPE,
                     "client_assertion": source.client_key.assertion(source.client_id,
                                                                     source.audience or source.token_url)}  # fmt: skip
        else:
            form["client_secret"] = source.client_secret or ""
        headers = {"dpop": source.dpop.proof("POST", source.token_url)} if source.dpop is not None else {}
        response = await client.post(source.token_url, data=form, headers=headers)
        if response.status_code != 200:  # noqa: PLR2004 - OK
            if response.status_code in RETRY_STATUSES:
                check(response, "HelseID token")
            raise SyncError(f"HelseID token: HTTP {response.status_code}{_refusal(response)}")
        answer = response.json()
        kind = str(answer.get("token_type", "Bearer"))
        if source.dpop is not None and kind.lower() != "dpop":
            raise SyncError("HelseID token: DPoP was asked for but the token is not DPoP-bound")
        self._token, self._scheme = str(answer["access_token"]), "DPoP" if kind.lower() == "dpop" else "Bearer"

    def credentials(self, method: str, url: str) -> dict[str, str]:
        """Return the headers that authorise one call to Persontjenesten (a fresh DPoP proof each time)."""
        if self._token is None:
            return {}
        headers = {"authorization": f"{self._scheme} {self._token}"}
        if self.source.dpop is not None:
            headers["dpop"] = self.source.dpop.proof(method, url, self._token)
        return headers

    async def _authorize(self, request: httpx.Request) -> None:
        """Request hook: add the credentials to calls to this source's API (not to other registers)."""
        if str(request.url).startswith(self._api):
            request.headers.update(self.credentials(request.method, str(request.url)))

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
            result = structs.EVENTS.decode(response.content)
        except msgspec.DecodeError as exc:
            raise RetryableError(f"event page after {after}: {describe(exc)}") from None
        entries = []
        for event in result.results or ():
            sequence = event.sequenceNumber
            if sequence is None or not sequence.isdigit():
                continue  # no place in the sequence: the gap check records it
            entries.append(Entry(int(sequence), event.personId or "", event.eventType or ""))
        return entries

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Fetch the named persons, 100 per `bulk-by-id` call, several calls at a time, and map them to rows.

        With `workers` (HELSEGRAF_SYNC_WORKERS) the calls, their validation and the mapping run in
        that many worker processes (each call's answer still validated whole against the contract),
        so the client side uses more than one core; the rows come back to be applied here.
        """
        wanted: list[str] = []
        for entry in batch.entries:
            if entry.kind not in KNOWN_EVENTS:
                batch.skipped[entry.position] = "unknown event type"
            elif not entry.key:
                batch.skipped[entry.position] = "event names no person"
            else:
                wanted.append(entry.key)
        ids = list(dict.fromkeys(wanted))
        rows: Rows | CopyRows = CopyRows() if self._copy else Rows()
        reasons: dict[str, str] = {}
        parts = await self._fetch(client, [ids[i : i + BULK_MAX] for i in range(0, len(ids), BULK_MAX)])
        for part_rows, part_reasons in parts:
            rows.extend(part_rows)
            reasons.update(part_reasons)
        for entry in batch.entries:
            if entry.position in batch.skipped:
                continue
            if entry.key in reasons:
                batch.skipped[entry.position] = reasons[entry.key]
            elif entry.key not in rows.mapped:
                batch.skipped[entry.position] = "person not returned by bulk-by-id"
        batch.rows = rows

    async def _fetch(self, client: httpx.AsyncClient, chunks: list[list[str]]) -> list[tuple[Any, dict[str, str]]]:
        """Run the bulk calls (in the worker processes if there are any); return each one's rows and reasons."""
        if self.workers > 0 and chunks:
            loop = asyncio.get_running_loop()
            pool = self._workers()
            url = f"{self._api}/person/bulk-by-id"

            def call(chunk: list[str]) -> Any:  # each call its own proof, made here (the key stays in this process)
                headers = {**client.headers, **self.credentials("POST", url)}
                return loop.run_in_executor(
                    pool, fetch_and_map, self._api, headers, client.timeout.read, chunk, self._copy
                )

            return list(await asyncio.gather(*(call(chunk) for chunk in chunks)))
        limit = asyncio.Semaphore(self.concurrency)

        async def fetch(chunk: list[str]) -> tuple[Any, dict[str, str]]:
            async with limit:
                response = await client.post(
                    f"{self._api}/person/bulk-by-id?{BULK_QUERY}", content=bulk_form(chunk), headers=FORM
                )
            return map_answer(check(response, "person/bulk-by-id").content, copy=self._copy)

        return list(await asyncio.gather(*(fetch(chunk) for chunk in chunks)))

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Spawned, not forked: the parent runs an event loop and database connections.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    @staticmethod
    def _parse(content: bytes) -> dict[str, Any]:
        """Parse a bulk answer: persons by id; a document that does not parse maps to the reason."""
        try:
            return {p.id: p for p in structs.PEOPLE.decode(content) if p.id is not None}
        except msgspec.DecodeError:
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
                parsed[key] = structs.person(item)
            except msgspec.ValidationError as exc:
                parsed[key] = describe(exc)
        return parsed

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Upsert the batch's persons and their parts; redirect replaced numbers."""
        if isinstance(batch.rows, CopyRows):
            return self._apply_copy(conn, batch.rows)
        rows: Rows = batch.rows if isinstance(batch.rows, Rows) else Rows()
        persons = list({r["nin"]: r for r in rows.persons}.values())
        upsert(conn, _table(Person), persons, ["nin"], keep=["replaced_by"])
        upsert(conn, _table(IdentificationNumber), _unique(rows.numbers, "number", "person_id"),
               ["number", "person_id"])  # fmt: skip
        upsert(conn, _table(AddressPeriod), _unique(rows.addresses, "nin", "kind", "valid_from"),
               ["nin", "kind", "valid_from"])  # fmt: skip
        upsert(conn, _table(LegalCapacity), _unique(rows.legal_capacity, "nin", "kind", "valid_from"),
               ["nin", "kind", "valid_from"])  # fmt: skip
        # Relations, responsibility and guardianship mirror the document's current state (they carry
        # no periods): a person's rows are replaced by what the document says now.
        nins = [p["nin"] for p in persons]
        for table, key, found, keys in (
            (_table(ParentRelation), "child_nin", rows.relations, ("child_nin", "parent_nin")),
            (_table(ParentalResponsibility), "child_nin", rows.responsibility, ("child_nin", "responsible_nin")),
            (_table(Guardianship), "nin", rows.guardianship, ("nin", "guardian_nin")),
            (_table(ResponsibilityWithoutId), "nin", rows.responsibility_without_id, ("nin", "position")),
            (_table(GuardianWithoutId), "nin", rows.guardians_without_id, ("nin", "position")),
        ):
            _delete_of(conn, table, key, nins)
            upsert(conn, table, _unique(found, *keys), keys)
        _redirect(conn, rows.redirects)
        return len(persons)

    def _apply_copy(self, conn: Connection, rows: CopyRows) -> int:
        """`apply` on PostgreSQL: the same upserts, deletes and redirects, with the rows as COPY text."""
        data = rows.unique()
        for part, model, keys in PARTS:
            if part in REPLACED:  # a person's relations are replaced by what the document says now
                _delete_of(conn, _table(model), keys[0], data.nins)
            if part in data.text:
                text = data.text[part]
                copy_upsert(conn, _table(model), data.columns[part], functools.partial(_write, text),
                            text.count(b"\n"), keys, keep=KEEP.get(part, ()))  # fmt: skip
        _redirect(conn, rows.redirects)
        return len(data.nins)

    # -- bulk load (engine.py, `Engine._bulk_mode`) ------------------------------------------------

    bulk_tables = ("preg_person", "preg_identification_number", "preg_address", "preg_parent_relation",
                   "preg_parental_responsibility", "preg_guardianship", "preg_responsibility_without_id",
                   "preg_guardian_without_id", LegalCapacity.__tablename__)  # the tables of PARTS  # fmt: skip
    # Persons keep their key: a redirect (a merged duplicate, a changed number) updates a loaded person
    # by number, wherever in the load that person came; one B-tree of numbers stays small and cached.
    # Their municipality and replaced_by indexes are kept too: few distinct values (replaced_by is
    # almost always null), so each row goes to one of a few hot pages, cheaper than a build at the end.
    bulk_kept = ("pk_preg_person", "ix_preg_person_municipality_code", "ix_preg_person_replaced_by")

    def bulk_resume(self, conn: Connection) -> None:
        """Read the numbers and person ids loaded so far (hashed: a collision only ends the bulk load early)."""
        self._loaded_nins = {hash(n) for n in conn.exec_driver_sql("SELECT nin FROM preg_person").scalars()}
        self._loaded_ids = {
            hash(i)
            for i in conn.exec_driver_sql(
                "SELECT person_id FROM preg_person UNION SELECT person_id FROM preg_identification_number"
            ).scalars()
        }

    def bulk_new(self, batch: Batch) -> bool:
        """Tell whether none of the batch's rows can be stored already.

        Every row a document produces is keyed by its current number (persons, addresses, relations,
        responsibility, guardianship) or by its person id (identification numbers), so the batch's
        rows are all new when none of its documents' numbers and person ids was loaded before. Within
        the batch, rows are made unique as in `apply`.
        """
        rows = batch.rows
        if not isinstance(rows, CopyRows):
            return False
        return self._loaded_nins.isdisjoint(hash(n) for n in rows.nins) and self._loaded_ids.isdisjoint(
            hash(i) for i in rows.mapped
        )

    def apply_bulk(self, conn: Connection, batch: Batch) -> int:
        """Append the batch's rows (all new: `bulk_new`) to the index-less tables, then redirect as `apply` does."""
        rows: CopyRows = batch.rows
        data = rows.unique()
        for part, model, _keys in PARTS:
            if part in data.text:
                copy_append(conn, _table(model), data.columns[part], data.text[part])
        _redirect(conn, rows.redirects)  # by the persons' key, which a bulk load keeps
        self._loaded_nins.update(hash(n) for n in data.nins)
        self._loaded_ids.update(hash(i) for i in rows.mapped)
        return len(data.nins)

    def bulk_end(self) -> None:
        """Forget the bulk load's keys."""
        self._loaded_nins, self._loaded_ids = set(), set()


BULK_PARAMS = {"informationParts": INFORMATION_PARTS, "includeHistory": "true"}
# The bulk call's query and form, encoded here rather than by httpx per call (its URL and form encoders
# quote character by character in Python, a tenth of a bulk call's cost): the query is the same every call.
BULK_QUERY = urlencode(BULK_PARAMS, doseq=True)
FORM = {"content-type": "application/x-www-form-urlencoded"}
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what form encoding leaves as it is (person ids are UUIDs)


def bulk_form(ids: list[str]) -> bytes:
    """Return the form `personIds=...&personIds=...`, as `urlencode` makes it."""
    return "&".join(f"personIds={i if _UNRESERVED.fullmatch(i) else quote_plus(i)}" for i in ids).encode()


def map_answer(content: bytes, *, copy: bool = False) -> tuple[Any, dict[str, str]]:
    """Validate one bulk-by-id answer and map its documents: the rows, and a reason per person left out.

    With `copy` the rows come as `CopyRows` (PostgreSQL's COPY text), else as `Rows`.
    """
    rows, reasons = Rows(), {}
    for key, document in PregAdapter._parse(content).items():  # noqa: SLF001 - the adapter's own parser
        if isinstance(document, str):
            reasons[key] = document
            continue
        try:
            rows_of(document, rows)
        except ValueError as exc:
            reasons[key] = f"malformed document: {exc}"
        else:
            rows.mapped.add(key)
    return (CopyRows.of(rows) if copy else rows), reasons


_client: httpx.Client | None = None


def fetch_and_map(
    api: str, headers: dict[str, str], timeout: float | None, chunk: list[str], copy: bool = False
) -> tuple[Any, dict[str, str]]:
    """In a worker process: one bulk-by-id call (its own keep-alive client), validated and mapped."""
    global _client  # noqa: PLW0603 - one client per worker process, kept between calls
    if _client is None:
        _client = httpx.Client(timeout=timeout)
        # A bulk answer's documents make thousands of objects, freed by reference counting; the cyclic
        # collector's passes over them and over the worker's modules cost about 4% of its mapping
        # (instructions counted by callgrind): what is loaded is frozen, and the collector runs less often.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
    try:
        response = _client.post(f"{api}/person/bulk-by-id?{BULK_QUERY}", content=bulk_form(chunk),
                                headers={**headers, **FORM})  # fmt: skip
    except httpx.TransportError as exc:  # re-raised as the engine's own error (httpx's do not cross processes)
        raise RetryableError(f"person/bulk-by-id: {exc.__class__.__name__}") from None
    return map_answer(check(response, "person/bulk-by-id").content, copy=copy)


def _redirect(conn: Connection, pairs: list[tuple[str, str]]) -> None:
    """Point each replaced number's person (`replaced_by`) at the number now in use."""
    table = _table(Person)
    redirects = [{"old": old, "current": current} for old, current in dict(pairs).items()]
    if redirects:
        conn.execute(
            update(table)
            .where(and_(table.c.nin == bindparam("old"), table.c.nin != bindparam("current")))
            .values(replaced_by=bindparam("current")),
            redirects,
        )


# The parts of `Rows` as tables, with their keys, in the order `apply` writes them.
PARTS = (
    ("persons", Person, ("nin",)),
    ("numbers", IdentificationNumber, ("number", "person_id")),
    ("addresses", AddressPeriod, ("nin", "kind", "valid_from")),
    ("legal_capacity", LegalCapacity, ("nin", "kind", "valid_from")),
    ("relations", ParentRelation, ("child_nin", "parent_nin")),
    ("responsibility", ParentalResponsibility, ("child_nin", "responsible_nin")),
    ("guardianship", Guardianship, ("nin", "guardian_nin")),
    ("responsibility_without_id", ResponsibilityWithoutId, ("nin", "position")),
    ("guardians_without_id", GuardianWithoutId, ("nin", "position")),
)
# No periods: a person's rows are replaced by what the document says now.
REPLACED = frozenset({"relations", "responsibility", "guardianship", "responsibility_without_id",
                      "guardians_without_id"})  # fmt: skip
KEEP = {"persons": ("replaced_by",)}  # written on insert only (a redirect sets it)


@dataclass
class CopyText:
    """A batch's rows as COPY text per part, unique by key, and its documents' current numbers."""

    columns: dict[str, tuple[str, ...]]
    text: dict[str, bytes]
    nins: list[str]


@dataclass
class CopyRows:
    """The PREG rows of a batch (or of one bulk answer) as PostgreSQL COPY text, part by part.

    Mapping a document and formatting its rows happen where it was fetched (a worker process, if
    any), so what comes back to be applied is a few byte strings per answer rather than a dict per
    row; the text is psycopg's own COPY formatting (the same adapters as `Copy.write_row`). Rows are
    unique by key within each answer; only documents sharing a current number (listed in `nins`)
    can repeat a key across answers, and `unique` then keeps the last row per key, as `apply` does.
    """

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    text: dict[str, list[bytes]] = field(default_factory=dict)
    nins: list[str] = field(default_factory=list)  # each mapped document's current number
    redirects: list[tuple[str, str]] = field(default_factory=list)
    mapped: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, rows: Rows) -> CopyRows:
        """Format one answer's rows."""
        made = cls(nins=[r["nin"] for r in rows.persons], redirects=rows.redirects, mapped=rows.mapped)
        transformer = Transformer()
        for part, model, keys in PARTS:
            found = _unique(getattr(rows, part), *keys)
            if not found:
                continue
            # In the table's column order: rows may list their keys in another order (answers must agree).
            columns = tuple(c.name for c in _table(model).columns if c.name in found[0])
            if len(columns) != len(found[0]):
                msg = f"{part}: rows with columns the table does not have"
                raise SyncError(msg)
            values = operator.itemgetter(*columns)
            formatter = TextFormatter(transformer)
            out = bytearray()
            for row in found:
                out += formatter.write_row(values(row))
            out += formatter.end()
            made.columns[part], made.text[part] = columns, [bytes(out)]
        return made

    def extend(self, other: CopyRows) -> None:
        """Add another answer's rows."""
        for part, columns in other.columns.items():
            if self.columns.setdefault(part, columns) != columns:
                msg = f"{part}: answers mapped to different columns"
                raise SyncError(msg)
            self.text.setdefault(part, []).extend(other.text[part])
        self.nins.extend(other.nins)
        self.redirects.extend(other.redirects)
        self.mapped |= other.mapped

    def unique(self) -> CopyText:
        """Return the rows joined, unique by key (the last row per key where documents share a number)."""
        nins = list(dict.fromkeys(self.nins))
        text = {part: b"".join(chunks) for part, chunks in self.text.items()}
        if len(nins) < len(self.nins):
            for part, _model, keys in PARTS:
                if part in text:
                    at = [self.columns[part].index(k) for k in keys]
                    # COPY text escapes tabs and newlines inside values: the raw ones split fields and rows.
                    lines = text[part].split(b"\n")[:-1]  # every row ends with a newline
                    kept = {tuple(fields[i] for i in at): line for line in lines if (fields := line.split(b"\t"))}
                    text[part] = b"".join(line + b"\n" for line in kept.values())
        return CopyText(self.columns, text, nins)


def _write(text: bytes, copy: Any) -> None:
    copy.write(text)


def _delete_of(conn: Connection, table: Table, key: str, values: list[str]) -> None:
    """Delete a table's rows whose `key` is one of `values`.

    PostgreSQL: one statement with the values as one array parameter (`= ANY(%s)`); a thousand bind
    parameters per statement cost more to render and parse than the delete itself. SQLite: `IN`,
    a thousand values at a time.
    """
    if not values:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'DELETE FROM "{table.name}" WHERE "{key}" = ANY(%s)', (values,))  # noqa: S608 - our own names
        return
    for start in range(0, len(values), 1000):
        conn.execute(delete(table).where(table.c[key].in_(values[start : start + 1000])))


def _refusal(response: httpx.Response) -> str:
    """Return HelseID's reason for refusing a token request (its error and description), if it gave one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return ""
    description = body.get("error_description")
    text = f"{body['error']}: {description}" if isinstance(description, str) else body["error"]
    return f" ({text[:200]})"


def _table(model: type) -> Table:
    """Return a model's Table (typed as one: SQLAlchemy types `__table__` as a FromClause)."""
    return cast("Table", model.__table__)  # type: ignore[attr-defined]


def _unique(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Keep the last row per key (a batch may carry a person twice; one statement may not)."""
    key = operator.itemgetter(*keys)
    return list({key(r): r for r in rows}.values())

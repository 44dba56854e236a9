"""A faithful fake of Persontjenesten (NHN's Person API, version 2) over the synthetic nation.

Paths, parameters, limits and JSON shapes are the contract's (`contracts/persontjenesten-openapi.yaml`):
`GET /api/{legal-basis|no-legal-basis}/event?sequenceNumber=` returns at most 1,000 events from a
sequence number, `event/latest` the newest, `POST person/bulk-by-id` (a form of `personIds`, at most
100) the person documents, with `informationParts` and `includeHistory`. Every call needs the
`api-version: 2` header and a bearer token (from the fake's HelseID-like `/connect/token`, client
credentials). The event log begins, as the real service's does, with one `PersonPopulated` event per
person (the "nulldagsuttrekk"), so a client bootstraps by reading the feed from the start.

`PregSource.day_of_changes` appends a realistic day: moves, births, deaths, a name change, a nin
change and a duplicate merge, each as the typed events Persontjenesten sends.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helsegraf.data.people import PERSON_COLUMNS
from helsegraf.data.world import World
from helsegraf.upstream.auth import TokenIssuer, url_form
from helsegraf.upstream.faults import Faults

EVENTS_PER_CALL = 1000  # the contract: "a list of up to 1000 events"
BULK_MAX = 100  # the contract: "max 100 items"
BASES = ("legal-basis", "no-legal-basis")
MIN_LIVING = 10  # fewer residents than this and a day has nobody to change
_HOUSE = re.compile(r"^(?P<name>.+) (?P<number>\d+)(?P<letter>[A-Z]?)$")


def pascal(value: str) -> str:
    """RESIDENT -> Resident, NOT_RESIDENT -> NotResident (the graph's words to the contract's)."""
    return "".join(part.capitalize() for part in value.split("_"))


def stamp(value: date | datetime | None) -> str | None:
    """Return a contract date-time (ISO 8601 with zone); dates are midnight UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _street(street: str | None, postal_code: str | None, postal_place: str | None) -> dict[str, Any]:
    address: dict[str, Any] = {}
    match = _HOUSE.match(street or "")
    if match:
        address["addressName"] = match["name"]
        number = {"houseNumber": match["number"]}
        if match["letter"]:
            number["houseLetter"] = match["letter"]
        address["addressNumber"] = number
    elif street is not None:
        address["addressName"] = street
    if postal_code is not None or postal_place is not None:
        address["city"] = {"postalCode": postal_code, "cityName": postal_place}
    return address


def _abroad(address: dict[str, Any], *, free_form: bool = False) -> dict[str, Any]:
    """Return an address period abroad as the contract's `InternationalAddress` or `FreeFormInternationalAddress`."""
    parts = {"postCode": address["postal_code"], "cityOrPlaceName": address["postal_place"],
             "countryCode": address.get("country_code")}  # fmt: skip
    if free_form:
        return {"addressLine": [address["street"]] if address["street"] else [], **parts}
    named = {"addressName": address["street"], "districtName": address["district"], "region": address.get("region")}
    return {k: v for k, v in {**named, **parts}.items() if v is not None}


def _form(address: dict[str, Any], street: dict[str, Any]) -> dict[str, Any]:
    """Return a residential or present period's address: abroad, unknown, with a stay elsewhere, or a street."""
    found: dict[str, Any] = {}
    if address.get("country_code") is not None:
        found["foreignAddress"] = _abroad(address)
    elif address.get("address_unknown") and address["kind"] in ("RESIDENTIAL", "SHARED"):
        found["unknownResidence"] = {"municipalityNumber": address["municipality_code"]}
    elif address.get("address_unknown"):
        found["isAddressUnknown"] = True
    elif street:
        found["streetAddress"] = street
    if address.get("stay_elsewhere") is not None:
        found["stayElsewhere"] = address["stay_elsewhere"]
    return found


def _without_id_entries(world: World, by_nin: dict[str, PersonRecord]) -> None:
    """Give each record its entries naming a person without a Norwegian number."""
    for name, attribute in (("preg_responsibility_without_id", "without_id"),
                            ("preg_guardian_without_id", "guardians_without_id"),
                            ("preg_legal_capacity", "legal_capacity")):  # fmt: skip
        columns = world.tables[name].columns
        for values in world.tables[name].rows:
            entry = dict(zip(columns, values, strict=True))
            getattr(by_nin[entry["nin"]], attribute).append(entry)


def _position(entry: dict[str, Any]) -> int:
    return int(entry["position"])


def _name(entry: dict[str, Any]) -> dict[str, Any]:
    name = {"givenName": entry["given_name"], "middleName": entry["middle_name"], "familyName": entry["family_name"]}
    return {k: v for k, v in name.items() if v is not None}


def _responsibility_without_id(valid: dict[str, Any], nin: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Return an entry naming a holder (on a child's document) or a child (on a holder's) without a number."""
    other = {"name": _name(entry), "birthDate": stamp(entry["birth_date"]), "gender": entry["gender"],
             "citizenship": entry["citizenship"]}  # fmt: skip
    if entry["role"] == "CHILD":
        return {**valid, "responsibilityType": entry["responsibility_type"], "responsible": nin,
                "subjectOfResponsibilityWithoutIdentifier": other}  # fmt: skip
    return {**valid, "responsibilityType": entry["responsibility_type"], "subjectOfResponsibility": nin,
            "responsibleWithoutIdentifier": other}  # fmt: skip


def _personal(guardian: dict[str, Any], personal: bool | None) -> dict[str, Any]:
    return {**guardian, "isGuardianshipInPersonalScope": bool(personal)} if personal is not None else guardian


def _guardian_without_id(valid: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Return a guardianship whose guardian has no number: named by `name` and `guardianInformation`."""
    citizenship = [entry["citizenship"]] if entry["citizenship"] is not None else None
    guardian = {
        "name": _name(entry), "guardianshipScope": entry["scope"],
        "guardianInformation": {"personName": _name(entry), "birthDate": stamp(entry["birth_date"]),
                                "gender": entry["gender"], "citizenship": citizenship},
    }  # fmt: skip
    return {**valid, "guardianshipType": entry["guardianship_type"],
            "guardian": _personal(guardian, entry["in_personal_scope"])}  # fmt: skip


@dataclass
class PersonRecord:
    """One person as the fake holds it: the PREG rows that describe them, by kind."""

    person_id: str
    row: dict[str, Any]
    numbers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    parents: list[tuple[str, str]] = field(default_factory=list)  # (parent nin, MOTHER|FATHER)
    children: list[tuple[str, str]] = field(default_factory=list)  # (child nin, my role)
    responsible: list[tuple[str, str]] = field(default_factory=list)  # (responsible nin, type)
    guardians: list[tuple[str, str, str | None]] = field(default_factory=list)  # (nin, type, scope)
    personal_scope: dict[str, bool | None] = field(default_factory=dict)  # guardian nin -> in personal scope
    # Entries naming a person without a Norwegian number (preg_responsibility_without_id, preg_guardian_without_id).
    without_id: list[dict[str, Any]] = field(default_factory=list)
    guardians_without_id: list[dict[str, Any]] = field(default_factory=list)
    legal_capacity: list[dict[str, Any]] = field(default_factory=list)  # preg_legal_capacity periods
    sequence: int = 0


class PregSource:
    """The synthetic nation's persons as Persontjenesten documents, with the event log that changed them."""

    def __init__(self, world: World, *, prerender: bool = True) -> None:
        self.as_of = world.as_of
        self.people: dict[str, PersonRecord] = {}
        by_nin: dict[str, PersonRecord] = {}
        for values in world.tables["preg_person"].rows:
            row = dict(zip(PERSON_COLUMNS, values, strict=True))
            record = PersonRecord(row["person_id"], row)
            self.people[record.person_id] = record
            by_nin[row["nin"]] = record
        self.by_nin = by_nin
        number_columns = world.tables["preg_identification_number"].columns
        for values in world.tables["preg_identification_number"].rows:
            number = dict(zip(number_columns, values, strict=True))
            self.people[number["person_id"]].numbers.append(number)
        address_columns = world.tables["preg_address"].columns
        for values in world.tables["preg_address"].rows:
            address = dict(zip(address_columns, values, strict=True))
            by_nin[address["nin"]].addresses.append(address)
        for child, parent, role in world.tables["preg_parent_relation"].rows:
            by_nin[child].parents.append((parent, role))
            by_nin[parent].children.append((child, role))
        for child, responsible, kind in world.tables["preg_parental_responsibility"].rows:
            by_nin[child].responsible.append((responsible, kind))
        for nin, guardian, kind, scope, personal in world.tables["preg_guardianship"].rows:
            by_nin[nin].guardians.append((guardian, kind, scope))
            by_nin[nin].personal_scope[guardian] = personal
        _without_id_entries(world, by_nin)
        self.events: list[tuple[int, str, str]] = []
        self._documents: dict[str, bytes] = {}
        self._nins: Any = None
        for record in self.people.values():
            self._event(record, "PersonPopulated")
        self._records = list(self.people.values())  # for drawing a day's changes at random
        self.day = 0
        if prerender:  # every document rendered once up front: serving is then a lookup and a join
            for person_id in self.people:
                self.document(person_id)

    # -- the event log ---------------------------------------------------------------------------

    def _event(self, record: PersonRecord, event_type: str) -> None:
        sequence = len(self.events) + 1
        self.events.append((sequence, record.person_id, event_type))
        record.sequence = sequence
        self._documents.pop(record.person_id, None)

    @property
    def latest(self) -> int:
        """Return the newest sequence number (0 before any event)."""
        return len(self.events)

    def events_from(self, sequence: int, types: frozenset[str] | None = None) -> list[tuple[int, str, str]]:
        """Return up to 1,000 events from `sequence` (inclusive), of the given types if any."""
        start = max(sequence, 1) - 1
        if types is None:
            return self.events[start : start + EVENTS_PER_CALL]
        found: list[tuple[int, str, str]] = []
        for event in itertools.islice(self.events, start, None):
            if types is None or event[2] in types:
                found.append(event)
                if len(found) == EVENTS_PER_CALL:
                    break
        return found

    # -- documents -------------------------------------------------------------------------------

    def document(self, person_id: str) -> bytes | None:
        """Return the person's JSON document (cached until the person changes)."""
        cached = self._documents.get(person_id)
        if cached is None:
            record = self.people.get(person_id)
            if record is None:
                return None
            cached = self._documents[person_id] = orjson.dumps(self.build(record))
        return cached

    def build(self, record: PersonRecord) -> dict[str, Any]:  # noqa: PLR0915, C901, PLR0912 - one document, part by part
        """Return the person as a Persontjenesten `Person` (current values, and history of addresses)."""
        row = record.row
        changed = stamp(row["last_changed"])
        valid = {"isValid": True, "registeredAt": changed, "source": "Freg"}
        doc: dict[str, Any] = {"id": record.person_id, "sequenceNumber": record.sequence}
        doc["norwegianIdentificationNumber"] = [
            {
                "identificationNumber": n["number"],
                "identificationNumberType": n["number_type"],
                "status": n["status"],
                "isValid": n["status"] == "InUse",
                "registeredAt": changed,
                "validFrom": stamp(n["valid_from"]),
                "validTo": stamp(n["valid_to"]),
            }
            for n in record.numbers
        ]
        doc["status"] = [{**valid, "status": pascal(row["status"])}]
        doc["gender"] = [{**valid, "gender": pascal(row["gender"])}]
        doc["birth"] = [{**valid, "birthDate": stamp(row["birth_date"]), "birthYear": str(row["birth_date"].year)}]
        if row["death_date"] is not None:
            doc["death"] = {**valid, "deceasedDate": stamp(row["death_date"])}
        name = {"givenName": row["given_name"], "familyName": row["family_name"]}
        if row["middle_name"] is not None:
            name["middleName"] = row["middle_name"]
        doc["name"] = [{**valid, **name}]
        doc["addressProtection"] = [{**valid, "protectionLevel": row["protection_level"]}]
        confidentiality = row["protection_level"]
        residential, present, postal, foreign_postal, shared = [], [], [], [], []
        for a in sorted(record.addresses, key=lambda a: (a["kind"], a["valid_from"])):
            period = {
                "isValid": a["valid_to"] is None,
                "registeredAt": changed,
                "validFrom": stamp(a["valid_from"]),
                "validTo": stamp(a["valid_to"]),
                "addressConfidentiality": a.get("confidentiality") or confidentiality,
            }
            if a["kind"] == "FOREIGN_POSTAL":
                foreign_postal.append({**period, "freeFormForeignAddress": _abroad(a, free_form=True)})
                continue
            street = _street(a["street"], a["postal_code"], a["postal_place"])
            if a["kind"] == "POSTAL":
                box = (a["street"] or "").removeprefix("Postboks ")
                postal.append({**period, "postBoxAddress": {"postBoxIdentification": box, "city": street.get("city")}})
                continue
            if a["municipality_code"] is not None:
                street["municipalityNumber"] = a["municipality_code"]
            entry: dict[str, Any] = {**period, **_form(a, street)}
            if a["district"] is not None:
                entry["urbanDistrictName"] = a["district"]
            if a["kind"] == "RESIDENTIAL":
                entry["moveDate"] = stamp(a["valid_from"])
                residential.append(entry)
            elif a["kind"] == "SHARED":
                shared.append({**entry, "contractValidFrom": stamp(a["valid_from"])})
            else:
                entry["presentAddressDate"] = stamp(a["valid_from"])
                present.append(entry)
        if residential:
            doc["residentialAddress"] = residential
        if present:
            doc["presentAddress"] = present
        if shared:
            doc["sharedResidence"] = shared
        if postal:
            doc["postalAddress"] = postal
        if foreign_postal:
            doc["foreignPostalAddress"] = foreign_postal
        elif row["address_protection"] == "STRENGT_FORTROLIG_UTLAND":  # a person born since, without a period
            doc["foreignPostalAddress"] = [
                {**valid, "addressConfidentiality": confidentiality, "foreignAddress": {"countryCode": "SE"}}
            ]
        if row["marital_status"] is not None:
            doc["maritalStatus"] = [{**valid, "status": row["marital_status"]}]
        if row["citizenship"] is not None:
            doc["citizenship"] = [{**valid, "countryCode": row["citizenship"]}]
        relations = [
            {**valid, "relatedPerson": nin, "relatedPersonsRole": pascal(role), "myRoleForRelatedPerson": "Child"}
            for nin, role in record.parents
        ] + [
            {**valid, "relatedPerson": nin, "relatedPersonsRole": "Child", "myRoleForRelatedPerson": pascal(role)}
            for nin, role in record.children
        ]
        if relations:
            doc["familyRelation"] = relations
        responsibility = [
            {**valid, "responsibilityType": kind, "responsible": nin, "subjectOfResponsibility": row["nin"]}
            for nin, kind in record.responsible
        ] + [_responsibility_without_id(valid, row["nin"], e) for e in sorted(record.without_id, key=_position)]
        if responsibility:
            doc["parentalResponsibility"] = responsibility
        guardianships = [
            {
                **valid,
                "guardianshipType": kind,
                "guardian": _personal({"identificationNumber": nin, "guardianshipScope": scope},
                                      record.personal_scope.get(nin)),
            }
            for nin, kind, scope in record.guardians
        ] + [_guardian_without_id(valid, e) for e in sorted(record.guardians_without_id, key=_position)]  # fmt: skip
        if guardianships:
            doc["guardianshipOrFuturePowerOfAttorney"] = guardianships
        for kind, part, extra in (("DEPRIVED", "deprivedLegalAuthority", {}),
                                  ("LIMITED", "legalAuthority", {"legalAuthorityScope": "Limited"})):  # fmt: skip
            periods = sorted((e for e in record.legal_capacity if e["kind"] == kind), key=lambda e: e["valid_from"])
            if periods:
                doc[part] = [
                    {**valid, "isValid": e["valid_to"] is None, "validFrom": stamp(e["valid_from"]),
                     "validTo": stamp(e["valid_to"]), **extra}
                    for e in periods
                ]  # fmt: skip
        return doc

    # -- a day of changes ------------------------------------------------------------------------

    def day_of_changes(self, rng: random.Random, scale: int = 1) -> dict[str, list[str]]:
        """Append one day of realistic changes; return the person ids changed, by kind of change.

        `scale` multiplies the everyday changes (moves, births, deaths); there is one name change,
        one nin change and one duplicate merge per day.
        """
        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 9, tzinfo=UTC)
        done: dict[str, list[str]] = defaultdict(list)
        if len(self._draw(rng, MIN_LIVING)) < MIN_LIVING:
            return done
        most = len(self._records) // 4
        for record in self._draw(rng, min(most, 5 * scale)):
            self._move(record, rng, today, now)
            done["moves"].append(record.person_id)
        for _ in range(2 * scale):
            for mother in self._draw(rng, 1, female=True) or self._draw(rng, 1):
                done["births"].append(self._birth(mother, rng, today, now))
        for record in self._draw(rng, min(most, scale), exclude=set(done["moves"])):
            record.row.update(status="DECEASED", death_date=today, last_changed=now)
            self._event(record, "PersonIsDeceased")
            done["deaths"].append(record.person_id)
        changed = {person_id for ids in done.values() for person_id in ids}
        unchanged = self._draw(rng, 4, exclude=changed)
        if len(unchanged) < 4:  # noqa: PLR2004 - a name change, a nin change and a merge of two
            return done
        named, renumbered, duplicate, survivor = unchanged
        named.row.update(family_name=f"{named.row['family_name']}-{rng.choice(('Berg', 'Dal', 'Li', 'Vik'))}")
        named.row["last_changed"] = now
        self._event(named, "ChangeInName")
        done["names"].append(named.person_id)
        self._new_nin(renumbered, rng, today, now)
        done["nins"].append(renumbered.person_id)
        self._merge(duplicate, survivor, today, now)
        done["merges"].extend((duplicate.person_id, survivor.person_id))
        return done

    def _draw(
        self, rng: random.Random, count: int, *, female: bool = False, exclude: set[str] | None = None
    ) -> list[PersonRecord]:
        """Return up to `count` distinct living residents drawn at random (a day samples, never scans, the nation)."""
        records = self._records
        found: dict[str, PersonRecord] = {}
        for _ in range(max(64, 20 * count)):
            if len(found) >= count:
                break
            record = records[rng.randrange(len(records))]
            row = record.row
            if (
                row["status"] == "RESIDENT" and row["death_date"] is None and record.person_id not in found
                and not (exclude and record.person_id in exclude) and (not female or row["gender"] == "FEMALE")
            ):  # fmt: skip
                found[record.person_id] = record
        return list(found.values())

    def _move(self, record: PersonRecord, rng: random.Random, today: date, now: datetime) -> None:
        row = record.row
        for address in record.addresses:
            if address["kind"] == "RESIDENTIAL" and address["valid_to"] is None:
                if address["valid_from"] >= today:
                    return  # moved already today
                address["valid_to"] = today
        street = f"{rng.choice(('Storgata', 'Kirkeveien', 'Skolegata', 'Fjordvegen'))} {rng.randint(1, 140)}"
        row.update(street=street, last_changed=now)
        record.addresses.append({
            "nin": row["nin"], "kind": "RESIDENTIAL", "valid_from": today, "valid_to": None, "street": street,
            "postal_code": row["postal_code"], "postal_place": row["postal_place"],
            "municipality_code": row["municipality_code"], "district": row["district"],
            "confidentiality": row["protection_level"],
        })  # fmt: skip
        self._event(record, "ChangeInResidentialAddress")

    def _fresh_nin(self, rng: random.Random, born: date, gender: str) -> str:
        from helsegraf.data.people import _Nins  # noqa: PLC0415 - the generator's own number maker

        if self._nins is None:
            self._nins = _Nins(rng)
            self._nins._used = set(self.by_nin)  # noqa: SLF001 - the maker must not hand out a number in use
        nin, _born = self._nins.take(born, gender, d_number=False)
        return str(nin)

    def _birth(self, mother: PersonRecord, rng: random.Random, today: date, now: datetime) -> str:
        gender = rng.choice(("FEMALE", "MALE"))
        nin = self._fresh_nin(rng, today, gender)
        pid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        m = mother.row
        row = {
            "nin": nin, "given_name": rng.choice(("Nora", "Emma", "Jakob", "Noah", "Olivia", "Filip")),
            "middle_name": None, "family_name": m["family_name"], "birth_date": today, "gender": gender,
            "status": "RESIDENT", "death_date": None, "street": m["street"], "postal_code": m["postal_code"],
            "postal_place": m["postal_place"], "municipality_code": m["municipality_code"], "district": m["district"],
            "address_protection": m["address_protection"], "person_id": pid, "protection_level": m["protection_level"],
            "marital_status": "Unmarried", "citizenship": "NOR", "replaced_by": None, "last_changed": now,
        }  # fmt: skip
        child = PersonRecord(pid, row)
        child.numbers.append({"number": nin, "person_id": pid, "number_type": "NationalIdentityNumber",
                              "status": "InUse", "valid_from": today, "valid_to": None})  # fmt: skip
        if m["street"] is not None:
            child.addresses.append({
                "nin": nin, "kind": "RESIDENTIAL", "valid_from": today, "valid_to": None, "street": m["street"],
                "postal_code": m["postal_code"], "postal_place": m["postal_place"],
                "municipality_code": m["municipality_code"], "district": m["district"],
                "confidentiality": m["protection_level"],
            })  # fmt: skip
        child.parents.append((m["nin"], "MOTHER"))
        child.responsible.append((m["nin"], "Mother"))
        self.people[pid] = child
        self._records.append(child)
        self.by_nin[nin] = child
        self._event(child, "PersonIsCreated")
        mother.children.append((nin, "MOTHER"))
        mother.row["last_changed"] = now
        self._event(mother, "ChangeInFamilyRelation")
        return pid

    def _new_nin(self, record: PersonRecord, rng: random.Random, today: date, now: datetime) -> None:
        """Give the person a new fødselsnummer (a corrected birth date or gender, or a D-number holder settling)."""
        row = record.row
        old = row["nin"]
        new = self._fresh_nin(rng, row["birth_date"], row["gender"])
        for number in record.numbers:
            if number["status"] == "InUse":
                number.update(status="Discontinued", valid_to=today)
        record.numbers.append({"number": new, "person_id": record.person_id, "number_type": "NationalIdentityNumber",
                               "status": "InUse", "valid_from": today, "valid_to": None})  # fmt: skip
        row.update(nin=new, last_changed=now)
        for address in record.addresses:
            address["nin"] = new
        self.by_nin[new] = record
        self._event(record, "ChangeInNorwegianIdentificationNumber")
        del old

    def _merge(self, duplicate: PersonRecord, survivor: PersonRecord, today: date, now: datetime) -> None:
        """Two records of one person: the duplicate is discontinued into the survivor."""
        for number in duplicate.numbers:
            if number["status"] == "InUse":
                number.update(status="Discontinued", valid_to=today)
                survivor.numbers.append({**number, "person_id": survivor.person_id})
        duplicate.row.update(status="DISCONTINUED", last_changed=now)
        survivor.row["last_changed"] = now
        self._event(duplicate, "PersonIsDiscontinuedAsDuplicate")
        self._event(survivor, "PersonIsContinuedAsValidUponMerger")


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail}, status)


def create_app(source: PregSource, issuer: TokenIssuer, faults: Faults | None = None) -> Starlette:  # noqa: C901 - the fake's endpoints, one closure each
    """Return the fake Persontjenesten as a Starlette app."""
    faults = faults or Faults()

    async def guard(request: Request) -> Response | None:
        if (fault := await faults.before(request)) is not None:
            return fault
        refused = issuer.check(request)
        if refused is not None:
            scheme = "DPoP" if issuer.require_dpop or request.headers.get("dpop") else "Bearer"
            challenge = f'{scheme} error="{"invalid_dpop_proof" if "DPoP" in refused else "invalid_token"}"'
            return JSONResponse({"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": refused},
                                401, headers={"WWW-Authenticate": challenge})  # fmt: skip
        if request.headers.get("api-version") != "2":
            return _problem(400, "Bad Request", "the api-version header must be 2")
        return None

    async def latest(request: Request) -> Response:
        if (refused := await guard(request)) is not None:
            return refused
        if not source.events:
            return _problem(404, "Not Found", "no events")
        sequence, person_id, event_type = source.events[-1]
        return JSONResponse({"sequenceNumber": str(sequence), "personId": person_id, "eventType": event_type})

    async def events(request: Request) -> Response:
        if (refused := await guard(request)) is not None:
            return refused
        raw = request.query_params.get("sequenceNumber", "1")
        if not raw.isdigit() or int(raw) < 1:
            return _problem(400, "Bad Request", "sequenceNumber must be a whole number of at least 1")
        types = frozenset(request.query_params.getlist("eventTypes")) or None
        found = source.events_from(int(raw), types)
        results = [{"sequenceNumber": str(s), "personId": p, "eventType": t} for s, p, t in found]
        return Response(orjson.dumps({"results": results}), media_type="application/json")

    async def bulk_by_id(request: Request) -> Response:
        if (refused := await guard(request)) is not None:
            return refused
        if not request.query_params.getlist("informationParts"):
            return _problem(400, "Bad Request", "informationParts is required")
        ids = (await url_form(request)).get("personIds", [])
        if not ids:
            return _problem(400, "Bad Request", "personIds is required")
        if len(ids) > BULK_MAX:
            return _problem(400, "Bad Request", f"at most {BULK_MAX} person ids per call")
        documents = []
        for person_id in dict.fromkeys(ids):
            if person_id in faults.withheld:
                continue
            if person_id in faults.malformed:
                documents.append(b'{"id": "' + person_id.encode() + b'", "name": "not a list"}')
                continue
            document = source.document(person_id)
            if document is not None:
                documents.append(document)
        return Response(b"[" + b",".join(documents) + b"]", media_type="application/json")

    async def by_id(request: Request) -> Response:
        if (refused := await guard(request)) is not None:
            return refused
        document = source.document(request.path_params["id"])
        if document is None:
            return _problem(404, "Not Found", "no person with that id")
        return Response(document, media_type="application/json")

    routes: list[Route] = [Route("/connect/token", issuer.endpoint, methods=["POST"])]
    for base in BASES:
        routes += [
            Route(f"/api/{base}/event/latest", latest),
            Route(f"/api/{base}/event", events),
            Route(f"/api/{base}/person/bulk-by-id", bulk_by_id, methods=["POST"]),
            Route(f"/api/{base}/person/{{id}}", by_id),
        ]
    app = Starlette(routes=routes)
    app.state.source, app.state.faults = source, faults
    return app


def ids_of(records: Iterable[PersonRecord]) -> list[str]:
    """Return the person ids of records."""
    return [r.person_id for r in records]

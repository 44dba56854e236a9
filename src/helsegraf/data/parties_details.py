"""AR: what a communication party holds in the current contract, drawn after every party exists.

Display and parent names, the parent's organisation number, business types (9040), validity,
IsValidCommunicationParty, LastChanged; a service's code and coverage area; visit and postal
addresses (from the organisation's address in BED); certificates for encryption and signing
(renewed ones keep their predecessor); future electronic addresses. From random streams of their
own, so every other row of the nation is unchanged.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from helsegraf.data import codes, reference
from helsegraf.data.world import Serial, Table, World, random_date

NOT_VALID_RATE = 0.01  # parties AR holds but that cannot receive messages (e.g. no valid certificate)
RENEWED_RATE = 0.1  # parties whose certificate was renewed: the expired one is still published
FUTURE_ADDRESS_RATE = 0.01
MIN_PARTIES_FOR_EXAMPLES = 10
CERTIFICATE_YEARS = 3


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _table(world: World, name: str, columns: tuple[str, ...]) -> Table:
    world.table(name, columns)
    return world.tables[name]


def add_party_fields(world: World) -> None:
    """Extend AR's party table and add its addresses, certificates, coverage areas and future addresses."""
    rng = world.rng("ar-contract")
    parties = world.tables["ar_communication_party"]
    organizations = {row[0]: row for row in world.tables["bed_organization"].rows}
    by_her_id = {row[0]: row for row in parties.rows}
    business = {row[0]: _business_type(row, organizations) for row in parties.rows}
    extra = []
    for row in parties.rows:
        her_id, name, kind, parent_her_id = row[:4]
        parent = by_her_id.get(parent_her_id)
        parent_name = parent[1] if parent else None
        display = name if parent is None else f"{name} - {parent_name}"
        since = random_date(rng, date(2005, 1, 1), world.days_before(400))
        valid_to = None if row[7] else random_date(rng, since + timedelta(days=30), world.as_of)
        changed = _midnight(world.as_of) - timedelta(days=rng.randrange(2 * 365), seconds=rng.randrange(86_400))
        service = codes.GP_SERVICE_CODE if kind == "SERVICE" else (None, None, None)
        extra.append((
            display, parent_name, parent[4] if parent else None, business[her_id],
            business.get(parent_her_id) if parent else None,
            bool(row[7]) and rng.random() >= NOT_VALID_RATE, since, valid_to, changed,
            service[1], service[0], service[2], "Ved legekontoret" if kind == "SERVICE" else None,
        ))  # fmt: skip
    parties.columns = (*parties.columns, "display_name", "parent_name", "parent_org_number", "business_type",
                       "parent_business_type", "is_valid", "valid_from", "valid_to", "last_changed", "service_code",
                       "service_code_system", "service_code_text", "location_description")  # fmt: skip
    parties.rows = [(*row, *more) for row, more in zip(parties.rows, extra, strict=True)]
    _physical_addresses(world, rng, parties, organizations)
    _certificates(world, rng, parties)
    _coverage_areas(world, rng, parties)
    _future_addresses(world, rng, parties)


def _business_type(row: tuple[Any, ...], organizations: dict[str, tuple[Any, ...]]) -> str | None:
    """Return an organisation party's business type from its organisation's form and industry."""
    if row[2] != "ORGANIZATION" or row[4] is None:
        return None
    org = organizations.get(row[4])
    if org is None:
        return None
    if org[2] in {"RHF", "HF"}:
        return str(org[2])
    if org[2] == "KOMM":
        return "KO"
    return "LK" if org[3] == "86.211" else "SH"  # SN2007 86.211: allmenn legetjeneste


def _physical_addresses(world: World, rng: random.Random, parties: Table, organizations: dict[str, Any]) -> None:
    table = _table(world, "ar_physical_address", ("id", "her_id", "type", "street", "postbox", "postal_code", "city",
                                                  "country"))  # fmt: skip
    ids = Serial(rng, start=1, max_gap=2)
    for row in parties.rows:
        org = organizations.get(row[4]) if row[2] == "ORGANIZATION" and row[4] else None
        if org is None or org[5] is None:
            continue
        street, postal_code, city = org[5], org[6], org[7]
        table.rows.append((ids.take(), row[0], "RES", street, None, postal_code, city, "NO"))
        table.rows.append((ids.take(), row[0], "PST", None, f"Postboks {rng.randint(1, 999)}", postal_code, city, "NO"))


def _certificates(world: World, rng: random.Random, parties: Table) -> None:
    """Give every organisation and person party a certificate pair; some also keep a renewed one's predecessor."""
    table = _table(world, "ar_certificate", ("id", "her_id", "usage", "serial_number", "valid_from", "valid_to",
                                             "ldap_url", "subject"))  # fmt: skip
    ids = Serial(rng, start=1, max_gap=2)
    chosen = [row for row in parties.rows if row[2] in {"ORGANIZATION", "PERSON"} and row[7]]
    renewed = {row[0] for row in chosen if rng.random() < RENEWED_RATE}
    if not renewed and len(parties.rows) >= MIN_PARTIES_FOR_EXAMPLES and chosen:
        renewed = {rng.choice(chosen)[0]}
    for row in chosen:
        issued = _midnight(random_date(rng, world.days_before(CERTIFICATE_YEARS * 365 - 30), world.days_before(10)))
        periods = [(issued, issued + timedelta(days=CERTIFICATE_YEARS * 365))]
        if row[0] in renewed:
            periods.insert(0, (issued - timedelta(days=CERTIFICATE_YEARS * 365), issued + timedelta(days=14)))
        for begins, ends in periods:
            for usage in ("ENCRYPTION", "SIGNING"):
                serial = f"{rng.getrandbits(80):020x}"
                ldap = (f"ldap://ldap.nhn.no:389/cn={row[1]},serialNumber={row[0]},ou=HER-id,o=Norsk helsenett"
                        f"?usercertificate;binary?sub?(serialnumber={serial})")  # fmt: skip
                table.rows.append((ids.take(), row[0], usage, serial, begins, ends, ldap[:400], f"CN={row[1]}"[:300]))


def _coverage_areas(world: World, rng: random.Random, parties: Table) -> None:
    """Let each GP service cover its municipality (CoverageInfo by the municipality's name)."""
    table = _table(world, "ar_coverage_area", ("id", "her_id", "covered_her_id", "name", "org_number",
                                               "municipality_code"))  # fmt: skip
    ids = Serial(rng, start=1)
    names = {m.code: m.name for m in reference.municipalities()}
    for row in parties.rows:
        if row[2] == "SERVICE" and row[6]:
            table.rows.append((ids.take(), row[0], None, names.get(row[6], row[6]), None, row[6]))


def _future_addresses(world: World, rng: random.Random, parties: Table) -> None:
    """Move a few parties' EDI addresses: the new one is published ahead of the day it applies."""
    table = _table(world, "ar_future_electronic_address", ("id", "her_id", "type", "address", "valid_from"))
    ids = Serial(rng, start=1)
    candidates = [row for row in parties.rows if row[2] == "ORGANIZATION" and row[7]]
    chosen = [row for row in candidates if rng.random() < FUTURE_ADDRESS_RATE]
    if not chosen and candidates and len(parties.rows) >= MIN_PARTIES_FOR_EXAMPLES:
        chosen = [rng.choice(candidates)]
    for row in chosen:
        # Years ahead of the reference date, so it is still ahead on the day the nation is served.
        starts = _midnight(world.as_of + timedelta(days=rng.randint(2 * 365, 3 * 365)))
        table.rows.append((ids.take(), row[0], "E_EDI", f"ny-{row[0]}@edi.nhn.no", starts))

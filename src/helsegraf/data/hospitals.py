"""RESH with its owners: regional and local health trusts (BED), unit trees that move, and AR departments."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from helsegraf.data import codes
from helsegraf.data.world import HEALTH_TRUST_START, OrgNumbers, Serial, World, random_date

NATIONAL_TRUSTS = 20
NATIONAL_PERSONS = 5_500_000
MOVED_RATE = 0.08
CLOSED_RATE = 0.03

REGIONS = {
    "Helse Sør-Øst RHF": ("Oslo universitetssykehus HF", "Akershus universitetssykehus HF",
                          "Sykehuset Østfold HF", "Sykehuset i Vestfold HF", "Sykehuset Telemark HF",
                          "Sørlandet sykehus HF", "Vestre Viken HF", "Sykehuset Innlandet HF",
                          "Sunnaas sykehus HF"),
    "Helse Vest RHF": ("Helse Bergen HF", "Helse Stavanger HF", "Helse Fonna HF", "Helse Førde HF"),
    "Helse Midt-Norge RHF": ("St. Olavs hospital HF", "Helse Møre og Romsdal HF", "Helse Nord-Trøndelag HF"),
    "Helse Nord RHF": ("Universitetssykehuset Nord-Norge HF", "Nordlandssykehuset HF",
                       "Helgelandssykehuset HF", "Finnmarkssykehuset HF"),
}  # fmt: skip
SITES = ("sentralsykehus", "sykehus", "lokalsykehus", "distriktspsykiatriske senter")
CLINICS = {
    "Medisinsk klinikk": ("Hjertemedisinsk avdeling", "Lungeavdelingen", "Nyremedisinsk avdeling",
                          "Gastromedisinsk avdeling", "Geriatrisk avdeling", "Akuttmedisinsk avdeling"),
    "Kirurgisk klinikk": ("Ortopedisk avdeling", "Gastrokirurgisk avdeling", "Urologisk avdeling",
                          "Karkirurgisk avdeling", "Anestesiavdelingen"),
    "Kvinne- og barneklinikken": ("Barneavdelingen", "Fødeavdelingen", "Gynekologisk avdeling", "Nyfødtintensiv"),
    "Klinikk for psykisk helse og avhengighet": (
        "Avdeling for psykisk helsevern voksne", "Barne- og ungdomspsykiatrisk avdeling",
        "Avdeling for rus og avhengighet", "Sikkerhetspsykiatrisk avdeling",
    ),
    "Klinikk for diagnostikk": ("Radiologisk avdeling", "Avdeling for medisinsk biokjemi", "Patologiavdelingen"),
    "Hode-, hals- og nevroklinikken": ("Nevrologisk avdeling", "Øyeavdelingen", "Øre-nese-hals-avdelingen"),
}  # fmt: skip
SECTIONS = ("Sengepost 1", "Sengepost 2", "Poliklinikk", "Dagbehandling", "Seksjon for forskning", "Overvåkning")
SERVICE_BY_WORD = {"Barne": "1006", "Føde": "1005", "psyk": "1013", "Ortoped": "1017", "Øye": "1018",
                   "Radiolog": "1009", "biokjemi": "1010", "Hjerte": "1016", "Geriatr": "1020",
                   "rus": "1015", "Øre": "1019", "Anestesi": "1004", "Akutt": "1001"}  # fmt: skip


@dataclass
class Unit:
    """A RESH unit under construction."""

    resh_id: int
    name: str
    unit_type: str
    org_number: str | None
    valid_from: date
    valid_to: date | None = None
    links: list[tuple[int, date, date | None]] = field(default_factory=list)  # (parent, from, to)
    services: list[str] = field(default_factory=list)


class _Trees:
    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng("resh")
        self.orgs = OrgNumbers(world.rng("resh-org"), start=38_000_000)
        self.resh_ids = Serial(self.rng, start=100_000, max_gap=11)
        self.her_ids = Serial(world.rng("resh-her"), start=5_000_000, max_gap=9)
        self.units: list[Unit] = []
        self.bed: list[tuple[object, ...]] = []
        self.parties: list[tuple[object, ...]] = []
        self.addresses: list[tuple[object, ...]] = []

    def unit(self, name: str, unit_type: str, org: str | None, parent: Unit | None, earliest: date) -> Unit:
        start = (
            earliest
            if unit_type in {"RHF", "HF"}
            else random_date(self.rng, earliest, self.world.as_of - timedelta(days=3 * 365))
        )
        unit = Unit(self.resh_ids.take(), name, unit_type, org, start)
        if parent is not None:
            unit.links.append((parent.resh_id, start, None))
        self.units.append(unit)
        return unit

    def organization(self, name: str, org_form: str, parent: str | None, industry: str) -> str:
        org_number = self.orgs.take()
        self.bed.append((org_number, name.upper(), org_form, industry, parent, None, None, None, None))
        return org_number

    def party(self, name: str, kind: str, parent: int | None, org_number: str | None) -> int:
        her_id = self.her_ids.take()
        self.parties.append((her_id, name, kind, parent, org_number, None, None, True))
        self.addresses.append((her_id, "E_EDI", f"resh-{her_id}@edi.nhn.no"))
        return her_id


def _trusts(persons: int) -> list[tuple[str, str]]:
    """Return (region, trust) pairs, interleaved across regions, scaled to the nation's size."""
    count = max(2, min(NATIONAL_TRUSTS, round(NATIONAL_TRUSTS * persons / NATIONAL_PERSONS)))
    queues = [[(region, trust) for trust in trusts] for region, trusts in REGIONS.items()]
    interleaved = [pair for i in range(max(map(len, queues))) for q in queues if i < len(q) for pair in [q[i]]]
    return interleaved[:count]


def generate_hospitals(world: World) -> None:
    """Build RHF → HF → site → clinic → department → section trees, with moved and closed units."""
    trees = _Trees(world)
    rng = trees.rng
    regions: dict[str, Unit] = {}
    for region, trust in _trusts(world.persons):
        if region not in regions:
            org = trees.organization(region, "RHF", None, "84.120")
            regions[region] = trees.unit(region, "RHF", org, None, HEALTH_TRUST_START)
        trust_org = trees.organization(trust, "HF", regions[region].org_number, "86.101")
        hf = trees.unit(trust, "HF", trust_org, regions[region], HEALTH_TRUST_START)
        trust_her = trees.party(trust, "ORGANIZATION", None, trust_org)
        stem = trust.removesuffix(" HF")
        for site_word in rng.sample(SITES, rng.randint(1, 3)):
            site_org = trees.organization(f"{stem} {site_word}", "BEDR", trust_org, "86.101")
            site = trees.unit(f"{stem} {site_word}", "HOSPITAL", site_org, hf, HEALTH_TRUST_START)
            _clinics(trees, rng, site, trust_her)
    _move_and_close(trees, rng)
    _write(world, trees)


def _clinics(trees: _Trees, rng: random.Random, site: Unit, trust_her: int) -> None:
    for clinic_name in rng.sample(sorted(CLINICS), rng.randint(3, 5)):
        clinic = trees.unit(clinic_name, "CLINIC", site.org_number, site, site.valid_from)
        for dept_name in rng.sample(CLINICS[clinic_name], rng.randint(2, min(4, len(CLINICS[clinic_name])))):
            dept = trees.unit(dept_name, "DEPARTMENT", site.org_number, clinic, clinic.valid_from)
            dept.services = sorted(
                {code for word, code in SERVICE_BY_WORD.items() if word.lower() in dept_name.lower()} or {"1007"}
            )
            if rng.random() < 0.5:
                trees.party(f"{dept_name}, {site.name}", "DEPARTMENT", trust_her, None)
            for section_name in rng.sample(SECTIONS, rng.randint(0, 3)):
                section = trees.unit(
                    f"{section_name}, {dept_name.lower()}", "SECTION", site.org_number, dept, dept.valid_from
                )
                section.services = ["1008"] if section_name == "Dagbehandling" else []


def _move_and_close(trees: _Trees, rng: random.Random) -> None:
    """Move some departments to another clinic of the same site, and close some sections."""
    as_of = trees.world.as_of
    by_id = {u.resh_id: u for u in trees.units}
    clinics_by_site: dict[int, list[Unit]] = {}
    for unit in trees.units:
        if unit.unit_type == "CLINIC":
            clinics_by_site.setdefault(unit.links[0][0], []).append(unit)
    departments = [u for u in trees.units if u.unit_type == "DEPARTMENT"]
    movers = [d for d in departments if rng.random() < MOVED_RATE] or departments[:1]
    for dept in movers:
        old = by_id[dept.links[0][0]]
        others = [c for c in clinics_by_site[old.links[0][0]] if c is not old]
        if not others:
            continue
        new = rng.choice(others)
        earliest = max(dept.valid_from, new.valid_from) + timedelta(days=365)
        if earliest >= as_of - timedelta(days=90):
            continue
        moved = random_date(rng, earliest, as_of - timedelta(days=90))
        dept.links = [(old.resh_id, dept.valid_from, moved), (new.resh_id, moved, None)]
    children: dict[int, list[Unit]] = {}
    for unit in trees.units:
        for parent, _, _ in unit.links:
            children.setdefault(parent, []).append(unit)
    for unit in trees.units:
        if unit.unit_type == "SECTION" and unit.valid_to is None and rng.random() < CLOSED_RATE:
            latest = max(u.valid_from for u in _subtree(unit, children))
            closed = random_date(rng, latest + timedelta(days=200), as_of - timedelta(days=30))
            if closed > latest:
                _close(unit, closed, children)


def _subtree(unit: Unit, children: dict[int, list[Unit]]) -> list[Unit]:
    """Return a unit and all units under it."""
    found = [unit]
    for child in children.get(unit.resh_id, []):
        found += _subtree(child, children)
    return found


def _close(unit: Unit, closed: date, children: dict[int, list[Unit]]) -> None:
    """Close a unit and everything under it on a date."""
    unit.valid_to = closed
    unit.links = [(p, f, closed if t is None or t > closed else t) for p, f, t in unit.links]
    for child in children.get(unit.resh_id, []):
        _close(child, closed, children)


def _write(world: World, trees: _Trees) -> None:
    units = world.table(
        "resh_unit", ("resh_id", "name", "short_name", "unit_type", "org_number", "valid_from", "valid_to")
    )
    links = world.table("resh_parent_link", ("id", "resh_id", "parent_resh_id", "valid_from", "valid_to"))
    services = world.table("resh_service", ("resh_id", "code"))
    link_ids = Serial(trees.rng, start=1)
    for unit in trees.units:
        short = unit.name.split(",")[0][:60] if unit.unit_type in {"SECTION", "UNIT"} else None
        units.append((unit.resh_id, unit.name, short, unit.unit_type, unit.org_number, unit.valid_from, unit.valid_to))
        links.extend((link_ids.take(), unit.resh_id, parent, begins, ends) for parent, begins, ends in unit.links)
        services.extend((unit.resh_id, code) for code in unit.services if code in codes.RESH_SERVICES)
    world.tables["bed_organization"].rows.extend(trees.bed)
    world.tables["ar_communication_party"].rows.extend(trees.parties)
    address_rows = world.tables["ar_electronic_address"].rows
    next_id = max((row[0] for row in address_rows), default=0) + 1
    address_rows.extend((next_id + n, *row) for n, row in enumerate(trees.addresses))

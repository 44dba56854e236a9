"""FLR with its offices: GP offices (BED), their AR parties, GP contracts, GP periods and patient lists."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from helsegraf.data import reference
from helsegraf.data.people import DISTRICTS, People
from helsegraf.data.personnel import Personnel
from helsegraf.data.world import (
    GP_SCHEME_START,
    OrgNumbers,
    Serial,
    WeightedChoice,
    World,
    apportion,
    random_date,
)

PERSONS_PER_LIST = 990  # 5,578 lists for 5.52 million listed inhabitants (Helsedirektoratet, 2023)
LISTS_PER_OFFICE = WeightedChoice([1, 2, 3, 4, 5, 6], [0.22, 0.28, 0.24, 0.13, 0.08, 0.05])
ENDED_CONTRACT_RATE = 0.03
UNSTAFFED_RATE = 0.06  # 330 of 5,578 lists had no fastlege in October 2023
GP_CHANGE_RATE = 0.35
SHARED_LIST_RATE = 0.05
VACATION_SUBSTITUTE_RATE = 0.2
OPEN_LIST_RATE = 0.45
TERMS_CHANGE_RATE = 0.3  # lists older than two years whose listetak, open status or fixed salary changed once
PATIENT_CHANGED_GP_RATE = 0.3
NO_GP_RATE = 0.01
# Fastlønn: about 1 list in 12 nationally (Helsedirektoratet 2023), most of them at municipal offices.
FIXED_SALARY_RATE_MUNICIPAL = 0.45
FIXED_SALARY_RATE_PRIVATE = 0.02
D_NUMBER_WITH_GP_RATE = 0.3


@dataclass
class Period:
    """A GP's period on a contract."""

    hpr_number: int
    relationship: str
    valid_from: date
    valid_to: date | None
    substitute_for: int | None = None
    working_percentage: int = 100


@dataclass
class Contract:
    """A GP list under construction."""

    id: int
    office: Office
    valid_from: date
    valid_to: date | None
    popularity: float
    periods: list[Period] = field(default_factory=list)
    current_patients: int = 0

    def gp_at(self, on: date) -> int | None:
        """Return the HPR number serving the list on a date: fastlege, else substitute, else delelege."""
        for relationship in ("LPFL", "LPVI", "LPDL"):
            for period in self.periods:
                if (
                    period.relationship == relationship
                    and period.valid_from <= on
                    and (period.valid_to is None or period.valid_to > on)
                ):
                    return period.hpr_number
        return None


@dataclass
class Office:
    """A GP office (legekontor): an organisation in BED and a party in AR."""

    org_number: str
    name: str
    municipality: str
    district: str | None
    her_id: int
    edi: str
    municipal: bool = False
    gp_parties: dict[int, int] = field(default_factory=dict)  # HPR number -> HER-id


class _Doctors:
    """Hands out doctors: current fastleger once each, preferring specialists in allmennmedisin."""

    def __init__(self, rng: random.Random, personnel: Personnel) -> None:
        self._rng = rng
        preferred = set(personnel.gp_doctors)
        self._fresh = list(personnel.gp_doctors) + [d for d in personnel.doctors if d not in preferred]
        self._fresh.reverse()
        self._all = list(personnel.doctors) or [0]

    def current(self) -> int:
        """Return a doctor not yet serving as a current fastlege (reusing when none is left)."""
        return self._fresh.pop() if self._fresh else self._rng.choice(self._all)

    def any(self) -> int:
        """Return any doctor (for past periods and substitutes)."""
        return self._rng.choice(self._all)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().translate(str.maketrans("æøå", "eoa"))).strip("-")


class _Builder:
    def __init__(self, world: World, people: People, personnel: Personnel) -> None:
        self.world = world
        self.people = people
        self.rng = world.rng("flr")
        self.orgs = OrgNumbers(world.rng("flr-org"), start=31_000_000)
        self.her_ids = Serial(world.rng("flr-her"), start=100_000, max_gap=9)
        self.contract_ids = Serial(self.rng, start=1_000_001, max_gap=3)
        self.doctors = _Doctors(self.rng, personnel)
        self.names = personnel.names
        self.offices: list[Office] = []
        self.contracts: list[Contract] = []
        self.by_municipality: dict[str, list[Contract]] = defaultdict(list)
        self.municipal_orgs: dict[str, str] = {}
        self.bed = world.table(
            "bed_organization",
            ("org_number", "name", "org_form", "industry_code", "parent_org_number", "street",
             "postal_code", "postal_place", "municipality_code"),
        )  # fmt: skip
        self.parties = world.table(
            "ar_communication_party",
            ("her_id", "name", "type", "parent_her_id", "org_number", "hpr_number", "municipality_code", "active"),
        )
        self.addresses = world.table("ar_electronic_address", ("id", "her_id", "type", "address"))
        self.address_ids = Serial(self.rng, start=1)
        self.streets = reference.street_names()
        self.places = defaultdict(list)
        for place in reference.postal_places():
            self.places[place.municipality_code].append(place)

    # --- offices -------------------------------------------------------------------------
    def office(self, muni: reference.Municipality, district: str | None) -> Office:
        rng = self.rng
        place = rng.choice(self.places.get(muni.code) or [reference.PostalPlace("9999", muni.name.upper(), muni.code)])
        street = rng.choice(self.streets)
        municipal = rng.random() < 0.2
        if municipal:
            name = f"{muni.name} kommunale legekontor"
        else:
            pattern = rng.randrange(4)
            town = place.postal_place.title()
            family = reference.family_names()[rng.randrange(len(reference.family_names()))][0]
            name = (f"{town} legesenter", f"{street} legekontor", f"Legene i {street}", f"{family} legekontor")[pattern]
        org_number = self.orgs.take()
        address = (f"{street} {rng.randint(1, 90)}", place.postal_code, place.postal_place, muni.code)
        if municipal:
            parent = self.municipal_orgs.get(muni.code)
            if parent is None:
                parent = self.municipal_orgs[muni.code] = self.orgs.take()
                self.bed.append((parent, f"{muni.name} kommune".upper(), "KOMM", "84.110", None, *address))
        else:
            parent = self.orgs.take()
            self.bed.append((parent, f"{name} AS".upper(), "AS", "86.211", None, *address))
        self.bed.append((org_number, name.upper(), "BEDR", "86.211", parent, *address))
        her_id = self.her_ids.take()
        edi = f"{_slug(name)}-{her_id}@edi.nhn.no"
        office = Office(org_number, name, muni.code, district, her_id, edi, municipal)
        self.parties.append((her_id, name, "ORGANIZATION", None, org_number, None, muni.code, True))
        self._address(her_id, "E_EDI", edi)
        self._address(her_id, "E_TLF", f"{rng.randint(2, 9)}{rng.randint(0, 9_999_999):07d}")
        service = self.her_ids.take()
        self.parties.append((service, "Fastlegetjeneste", "SERVICE", her_id, None, None, muni.code, True))
        self._address(service, "E_EDI", edi)
        self.offices.append(office)
        return office

    def _address(self, her_id: int, kind: str, address: str) -> None:
        self.addresses.append((self.address_ids.take(), her_id, kind, address))

    def gp_party(self, office: Office, hpr_number: int) -> int:
        """Return the HER-id of a GP's person party at an office, creating it on first use."""
        her_id = office.gp_parties.get(hpr_number)
        if her_id is None:
            her_id = office.gp_parties[hpr_number] = self.her_ids.take()
            self._address(her_id, "E_EDI", office.edi)
        return her_id

    # --- contracts -----------------------------------------------------------------------
    def contract(self, office: Office) -> Contract:
        rng, as_of = self.rng, self.world.as_of
        start = random_date(rng, GP_SCHEME_START, as_of - timedelta(days=2 * 365))
        ends = None
        if rng.random() < ENDED_CONTRACT_RATE and start + timedelta(days=3 * 365) < as_of - timedelta(days=60):
            ends = random_date(rng, start + timedelta(days=3 * 365), as_of - timedelta(days=60))
        contract = Contract(self.contract_ids.take(), office, start, ends, rng.uniform(0.5, 1.5))
        self._gp_periods(contract)
        self.contracts.append(contract)
        if ends is None:
            self.by_municipality[office.municipality].append(contract)
        return contract

    def _gp_periods(self, contract: Contract) -> None:
        rng, as_of = self.rng, self.world.as_of
        start, ends = contract.valid_from, contract.valid_to
        horizon = ends or as_of
        first_gp = self.doctors.any() if ends else self.doctors.current()
        if rng.random() < GP_CHANGE_RATE and start + timedelta(days=400) < horizon - timedelta(days=90):
            change = random_date(rng, start + timedelta(days=365), horizon - timedelta(days=90))
            contract.periods.append(Period(self.doctors.any(), "LPFL", start, change))
            start = change
        main = Period(first_gp, "LPFL", start, ends)
        contract.periods.append(main)
        if ends is None and rng.random() < UNSTAFFED_RATE and start + timedelta(days=200) < as_of - timedelta(days=30):
            main.valid_to = random_date(
                rng, max(start + timedelta(days=180), as_of - timedelta(days=730)), as_of - timedelta(days=30)
            )
            contract.periods.append(Period(self.doctors.any(), "LPVI", main.valid_to, None, main.hpr_number))
        elif rng.random() < VACATION_SUBSTITUTE_RATE and main.valid_from + timedelta(days=60) < horizon - timedelta(
            days=400
        ):
            begins = random_date(rng, main.valid_from + timedelta(days=30), horizon - timedelta(days=400))
            ends_sub = begins + timedelta(days=rng.randint(30, 365))
            contract.periods.append(Period(self.doctors.any(), "LPVI", begins, ends_sub, main.hpr_number))
        if rng.random() < SHARED_LIST_RATE:
            contract.periods.append(Period(self.doctors.any(), "LPDL", main.valid_from, main.valid_to, None, 50))
        for period in contract.periods:
            self.gp_party(contract.office, period.hpr_number)


def generate_practices(world: World, people: People, personnel: Personnel) -> None:
    """Create offices, GP contracts with their GP periods, and every resident's list history."""
    builder = _Builder(world, people, personnel)
    munis = reference.municipalities()
    residents: dict[str, int] = defaultdict(int)
    for i in range(len(people)):
        if people.status[i] == "RESIDENT":
            residents[people.home[i]] += 1
    total_lists = max(1, round(world.persons / PERSONS_PER_LIST))
    lists = apportion(total_lists, [residents[m.code] for m in munis])
    for muni, count in zip(munis, lists, strict=True):
        remaining = count
        while remaining > 0:
            size = min(remaining, LISTS_PER_OFFICE.draw(builder.rng))
            districts = DISTRICTS.get(muni.code)
            office = builder.office(muni, builder.rng.choice(districts) if districts else None)
            for _ in range(size):
                builder.contract(office)
            remaining -= size
    _memberships(builder)
    _write(builder)


def _choosers(builder: _Builder) -> tuple[dict[str, WeightedChoice], dict[str, list[Contract]], WeightedChoice]:
    county_of = {m.code: m.county_code for m in reference.municipalities()}
    by_county: dict[str, list[Contract]] = defaultdict(list)
    for code, contracts in builder.by_municipality.items():
        by_county[county_of[code]].extend(contracts)
    active = [c for c in builder.contracts if c.valid_to is None] or builder.contracts
    everywhere = WeightedChoice(active, [c.popularity for c in active])
    choosers: dict[str, WeightedChoice] = {}
    for muni in reference.municipalities():
        local = builder.by_municipality.get(muni.code) or by_county.get(muni.county_code)
        choosers[muni.code] = WeightedChoice(local, [c.popularity for c in local]) if local else everywhere
    ended: dict[str, list[Contract]] = defaultdict(list)
    for contract in builder.contracts:
        if contract.valid_to is not None:
            ended[contract.office.municipality].append(contract)
    return choosers, ended, everywhere


def _memberships(builder: _Builder) -> None:
    """Put every resident on a list, with earlier lists for those who changed GP."""
    world, people, rng = builder.world, builder.people, builder.world.rng("flr-patients")
    choosers, ended, everywhere = _choosers(builder)
    rows = world.table("flr_list_membership", ("id", "nin", "contract_id", "gp_her_id", "valid_from", "valid_to",
                                               "patient_birth_date", "patient_gender"))  # fmt: skip
    ids = Serial(rng, start=1)
    as_of = world.as_of

    def add(i: int, contract: Contract, begins: date, ends: date | None) -> None:
        if ends is not None and ends <= begins:
            return
        gp = contract.gp_at(ends - timedelta(days=1) if ends else as_of)
        her_id = contract.office.gp_parties.get(gp) if gp is not None else None
        rows.append((ids.take(), people.nin[i], contract.id, her_id, begins, ends, people.birth[i], people.gender[i]))
        if begins <= as_of and (ends is None or ends > as_of):
            contract.current_patients += 1

    for i in range(len(people)):
        status = people.status[i]
        if status == "INACTIVE" or rng.random() < NO_GP_RATE:
            continue
        if status == "ACTIVE" and rng.random() >= D_NUMBER_WITH_GP_RATE:
            continue
        home = people.home[i]
        current: Contract = choosers[home].draw(rng)
        first = max(people.birth[i], GP_SCHEME_START)
        leaves = people.death[i]
        if status in {"EMIGRATED", "DISAPPEARED"}:
            leaves = random_date(rng, as_of - timedelta(days=3 * 365), as_of)
        begins = max(first, current.valid_from)
        if ended.get(home) and rng.random() < 0.5:
            previous = rng.choice(ended[home])
            assert previous.valid_to is not None  # noqa: S101 - an ended list has an end; this narrows the type
            add(i, previous, max(first, previous.valid_from), min(previous.valid_to, leaves or previous.valid_to))
            begins = max(begins, previous.valid_to)
        elif rng.random() < PATIENT_CHANGED_GP_RATE:
            previous = choosers[home].draw(rng)
            if previous is current:  # a list elsewhere: the patient has moved since
                previous = everywhere.draw(rng)
            if previous is not current:
                change = random_date(
                    rng, max(first, previous.valid_from, current.valid_from) + timedelta(days=30), leaves or as_of
                )
                add(i, previous, max(first, previous.valid_from), change)
                begins = max(begins, change)
        add(i, current, begins, leaves)


def _write(builder: _Builder) -> None:
    world, rng = builder.world, builder.rng
    contracts = world.table(
        "flr_gp_contract",
        (
            "id",
            "office_org_number",
            "municipality_code",
            "district",
            "max_patients",
            "is_open",
            "fixed_salary",
            "valid_from",
            "valid_to",
        ),
    )
    periods = world.table(
        "flr_gp_period",
        ("id", "contract_id", "hpr_number", "relationship", "substitute_for_hpr_number",
         "working_percentage", "valid_from", "valid_to"),
    )  # fmt: skip
    terms = world.table(
        "flr_gp_contract_terms", ("contract_id", "valid_from", "valid_to", "max_patients", "is_open", "fixed_salary")
    )
    period_ids = Serial(rng, start=1)
    salaries = world.rng("flr-salary")  # a stream of its own: the other columns stay as they were
    changes = world.rng("flr-terms")  # so is the lists' history of listetak, open status and fixed salary
    for contract in builder.contracts:
        is_open = contract.valid_to is None and rng.random() < OPEN_LIST_RATE
        slack = rng.randint(5, 300) if is_open else rng.randint(0, 3)
        max_patients = (
            max(contract.current_patients + slack, 300) if contract.valid_to is None else rng.randint(800, 1500)
        )
        office = contract.office
        rate = FIXED_SALARY_RATE_MUNICIPAL if office.municipal else FIXED_SALARY_RATE_PRIVATE
        fixed_salary = salaries.random() < rate
        contracts.append((contract.id, office.org_number, office.municipality, office.district,
                          max_patients, is_open, fixed_salary, contract.valid_from, contract.valid_to))  # fmt: skip
        terms.extend(_terms(changes, contract.id, contract.valid_from, contract.valid_to or world.as_of,
                                 contract.valid_to, (max_patients, is_open, fixed_salary)))  # fmt: skip
        for p in contract.periods:
            periods.append((period_ids.take(), contract.id, p.hpr_number, p.relationship, p.substitute_for,
                            p.working_percentage, p.valid_from, p.valid_to))  # fmt: skip
    _write_gp_parties(builder)


def _terms(
    rng: random.Random, contract_id: int, begins: date, ends: date, valid_to: date | None, now: tuple[int, bool, bool]
) -> list[tuple[Any, ...]]:
    """Return a list's periods of listetak, open status and fixed salary: today's values, and for some an earlier set.

    A list older than two years changed its terms once with probability TERMS_CHANGE_RATE, on a day at
    least a year after it began and 90 days before it ended (or today): its listetak was another (lists are
    resized as their GP's practice changes), it was closed or open the other way half the time, and it
    switched between fixed salary and fee for service a fifth of the time.
    """
    max_patients, is_open, fixed_salary = now
    if (ends - begins).days <= 2 * 365 or rng.random() >= TERMS_CHANGE_RATE:
        return [(contract_id, begins, valid_to, max_patients, is_open, fixed_salary)]
    changed = random_date(rng, begins + timedelta(days=365), ends - timedelta(days=90))
    earlier = (max(300, max_patients + rng.choice((-1, 1)) * rng.randint(50, 300)),
               is_open if rng.random() < 0.5 else not is_open,  # half the time
               fixed_salary if rng.random() < 0.8 else not fixed_salary)  # a fifth of the time  # fmt: skip
    return [(contract_id, begins, changed, *earlier), (contract_id, changed, valid_to, *now)]


def _write_gp_parties(builder: _Builder) -> None:
    """Emit a person party per (GP, office), active while the GP has an open period there."""
    as_of = builder.world.as_of
    active: set[tuple[str, int]] = set()
    for contract in builder.contracts:
        for p in contract.periods:
            if p.valid_from <= as_of and (p.valid_to is None or p.valid_to > as_of):
                active.add((contract.office.org_number, p.hpr_number))
    for office in builder.offices:
        for hpr_number, her_id in office.gp_parties.items():
            name = builder.names.get(hpr_number, f"Lege {hpr_number}")
            is_active = (office.org_number, hpr_number) in active
            builder.parties.append(
                (her_id, name, "PERSON", office.her_id, None, hpr_number, office.municipality, is_active)
            )

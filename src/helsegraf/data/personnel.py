"""HPR: health personnel drawn from the population, with approvals, specialities and suspensions."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from helsegraf.data import codes
from helsegraf.data.people import People
from helsegraf.data.personnel_details import add_contract_fields
from helsegraf.data.world import Serial, WeightedChoice, World, random_date

LIVE_NUMBERS_START = 1_000_000  # HPR numbers of the live registrations count up from here (gaps up to 40)
HPR_SHARE = 0.08  # ~473,000 holders of autorisasjon or lisens in a nation of ~5.5 million
WITHOUT_NIN_RATE = 0.05  # registered without a Norwegian identity number (ManglerNIN)
EXPIRED_RATE = 0.02
SUSPENDED_RATE = 0.006
FEMALE_SHARE = {"SP": 0.88, "HF": 0.86, "JO": 0.99, "HE": 0.95, "VP": 0.8, "ET": 0.88, "BI": 0.85,
                "LE": 0.52, "TL": 0.55, "PS": 0.72, "FT": 0.6, "AA": 0.35, "KI": 0.35}  # fmt: skip
GP_SPECIALITY_SHARE = 0.35
SPECIALITY_RATE = 0.6


@dataclass
class Personnel:
    """HPR's persons, with what the FLR and RESH generators need to pick doctors."""

    doctors: list[int] = field(default_factory=list)  # HPR numbers of doctors active on as_of
    gp_doctors: list[int] = field(default_factory=list)  # ...of whom specialists in allmennmedisin
    names: dict[int, str] = field(default_factory=dict)  # HPR number -> full name
    suspended: list[tuple[int, date, date | None]] = field(default_factory=list)


def _age_ok(people: People, i: int, on: date) -> bool:
    return people.is_alive_resident(i) and 23 <= people.age(i, on) <= 70


def generate_personnel(world: World, people: People) -> Personnel:
    """Register about 8 % of the population in HPR, by a realistic mix of categories."""
    rng = world.rng("hpr")
    total = max(1, round(world.persons * HPR_SHARE))
    pools = {g: [i for i in range(len(people)) if people.gender[i] == g and _age_ok(people, i, world.as_of)]
             for g in ("FEMALE", "MALE")}  # fmt: skip
    for pool in pools.values():
        rng.shuffle(pool)
    mix = WeightedChoice(list(codes.HPR_CATEGORY_MIX), list(codes.HPR_CATEGORY_MIX.values()))
    numbers = Serial(rng, start=LIVE_NUMBERS_START, max_gap=40)
    ids = Serial(rng, start=1)
    person_rows = world.table(
        "hpr_person", ("hpr_number", "nin", "given_name", "middle_name", "family_name", "birth_date")
    )
    tables = _ApprovalTables(world)
    personnel = Personnel()
    for _ in range(total):
        category = mix.draw(rng)
        gender = "FEMALE" if rng.random() < FEMALE_SHARE.get(category, 0.7) else "MALE"
        pool = pools[gender] or pools["FEMALE" if gender == "MALE" else "MALE"]
        if not pool:
            break
        i = pool.pop()
        hpr_number = numbers.take()
        nin = None if rng.random() < WITHOUT_NIN_RATE else people.nin[i]
        person_rows.append((hpr_number, nin, people.given[i], people.middle[i], people.family[i], people.birth[i]))
        personnel.names[hpr_number] = f"{people.given[i]} {people.family[i]}"
        _approvals(world, rng, ids, tables, personnel, hpr_number=hpr_number, category=category, born=people.birth[i])
    _ensure_suspension(world, rng, ids, tables, personnel)
    add_contract_fields(world, people)
    return personnel


class _ApprovalTables:
    def __init__(self, world: World) -> None:
        validity = ("valid_from", "valid_to")
        self.approvals = world.table("hpr_approval", ("id", "hpr_number", "category", "authorization", *validity))
        self.specialities = world.table("hpr_speciality", ("id", "approval_id", "code", *validity))
        self.rights = world.table("hpr_requisition_right", ("id", "approval_id", "code", *validity))
        self.suspensions = world.table("hpr_suspension", ("id", "approval_id", *validity))


def _approvals(
    world: World,
    rng: random.Random,
    ids: Serial,
    tables: _ApprovalTables,
    personnel: Personnel,
    *,
    hpr_number: int,
    category: str,
    born: date,
) -> None:
    """Write one person's approval history: licence, authorisation, specialities, suspensions."""
    start = min(born + timedelta(days=int(rng.uniform(24, 30) * 365.25)), world.days_before(30))
    if category == "LE" and rng.random() < 0.3:
        licence_end = start
        start_licence = licence_end - timedelta(days=rng.randint(300, 540))
        tables.approvals.append((ids.take(), hpr_number, "LE", "2", start_licence, licence_end))
    ends = random_date(rng, start + timedelta(days=400), world.as_of) if rng.random() < EXPIRED_RATE else None
    approval_id = ids.take()
    tables.approvals.append((approval_id, hpr_number, category, "1", start, ends))
    active = ends is None
    if category in {"LE", "TL"}:
        tables.rights.append((ids.take(), approval_id, "1", start, ends))
    if category == "LE" and rng.random() < SPECIALITY_RATE:
        code = "1" if rng.random() < GP_SPECIALITY_SHARE else rng.choice([c for c in codes.SPECIALITIES if c != "1"])
        granted = start + timedelta(days=rng.randint(5 * 365, 8 * 365))
        if granted < world.as_of:
            tables.specialities.append((ids.take(), approval_id, code, granted, ends))
            if code == "1" and active:
                personnel.gp_doctors.append(hpr_number)
    if category == "LE" and active:
        personnel.doctors.append(hpr_number)
    if rng.random() < SUSPENDED_RATE:
        _suspend(world, rng, ids, tables, personnel, hpr_number=hpr_number, approval_id=approval_id, start=start)


def _suspend(
    world: World,
    rng: random.Random,
    ids: Serial,
    tables: _ApprovalTables,
    personnel: Personnel,
    *,
    hpr_number: int,
    approval_id: int,
    start: date,
) -> None:
    """Suspend an approval for a period: half of them ended, half still running."""
    begins = random_date(rng, max(start + timedelta(days=30), world.days_before(6 * 365)), world.days_before(60))
    ends = begins + timedelta(days=rng.randint(90, 720)) if rng.random() < 0.5 else None
    tables.suspensions.append((ids.take(), approval_id, begins, ends))
    personnel.suspended.append((hpr_number, begins, ends))
    for group in (personnel.doctors, personnel.gp_doctors):
        if ends is None and hpr_number in group:
            group.remove(hpr_number)


def _ensure_suspension(
    world: World, rng: random.Random, ids: Serial, tables: _ApprovalTables, personnel: Personnel
) -> None:
    """Make sure a nation of 1,000 or more has at least one ended suspension to look at."""
    if world.persons < 1000 or any(ends is not None for _, _, ends in personnel.suspended):
        return
    approval = next(a for a in tables.approvals if a[3] == "1" and a[5] is None and a[2] != "LE")
    begins = random_date(rng, max(approval[4], world.days_before(4 * 365)), world.days_before(400))
    ends = begins + timedelta(days=180)
    tables.suspensions.append((ids.take(), approval[0], begins, ends))
    personnel.suspended.append((approval[1], begins, ends))

"""FLR: what a contract, a GP's period and a list membership hold in FLR's contract, drawn after the rest.

Status (7751) beside is_open, waiting list, common list, agreement date, end reason, UpdatedOn;
co-operating municipalities; out-of-office locations (utekontor); WorkingOnDays; begin and end
reasons (7754) on memberships; the GP's gender on each GP period (the doctor's own, as HPR holds it).
From a random stream of its own, so every other row is unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from helsegraf.data import codes, reference
from helsegraf.data.world import Serial, Table, World, random_date

COMMON_LIST_RATE = 0.05
COOP_RATE = 0.03
OUT_OF_OFFICE_RATE = 0.04
WAITING_RATE = 0.3  # of closed lists: some keep a waiting list
MIN_CONTRACTS_FOR_EXAMPLES = 1
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
FULL_WEEK_PERCENTAGE = 80
GP_GENDERS = {"1": "MALE", "2": "FEMALE"}  # code system 3101, as HPR's rows hold it


def _extend(table: Table, columns: tuple[str, ...], extra: list[tuple[Any, ...]]) -> None:
    table.columns = (*table.columns, *columns)
    table.rows = [(*row, *more) for row, more in zip(table.rows, extra, strict=True)]


def _stamp(world: World, rng: Any) -> datetime:
    midnight = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    return midnight - timedelta(days=rng.randrange(2 * 365), seconds=rng.randrange(86_400))


def add_contract_fields(world: World) -> None:
    """Extend FLR's tables with the contract's further fields (see the module docstring)."""
    rng = world.rng("flr-contract")
    contracts = world.tables["flr_gp_contract"]
    extra = []
    for row in contracts.rows:
        is_open, valid_from, valid_to = row[5], row[7], row[8]
        status = "FAAA" if is_open else "FALU"
        waiting = 0 if is_open else (rng.randint(1, 60) if rng.random() < WAITING_RATE else 0)
        ended = ("AO", codes.FLR_CONTRACT_END_REASONS["AO"]) if valid_to is not None else (None, None)
        agreed = valid_from - timedelta(days=rng.randint(14, 120))
        extra.append((status, waiting, rng.random() < COMMON_LIST_RATE, agreed, *ended, _stamp(world, rng)))
    _extend(contracts, ("status", "patients_on_waiting_list", "common_list", "agreement_date", "end_reason",
                        "end_reason_text", "updated_on"), extra)  # fmt: skip
    _coop_and_out_of_office(world, rng, contracts)
    periods = world.tables["flr_gp_period"]
    _extend(periods, ("working_on_days",), [(_days(rng, row[5]),) for row in periods.rows])
    # The GP's gender as FLR holds it (GPOnContractAssociation.GP.Sex): the doctor's own, as HPR has it.
    persons = world.tables["hpr_person"]
    number, code = persons.columns.index("hpr_number"), persons.columns.index("gender")
    genders = {row[number]: GP_GENDERS.get(row[code]) for row in persons.rows}
    _extend(periods, ("gp_gender",), [(genders.get(row[2]),) for row in periods.rows])
    _membership_reasons(world, rng)


def _days(rng: Any, percentage: int | None) -> str:
    if percentage is None or percentage >= FULL_WEEK_PERCENTAGE:
        return ",".join(WEEKDAYS)
    count = max(1, round(len(WEEKDAYS) * percentage / 100))
    return ",".join(sorted(rng.sample(WEEKDAYS, count), key=WEEKDAYS.index))


def _coop_and_out_of_office(world: World, rng: Any, contracts: Table) -> None:
    coop = world.table("flr_coop_municipality", ("contract_id", "municipality_code"))
    offices = world.table("flr_out_of_office", ("id", "contract_id", "description", "street", "postal_code",
                                                 "postal_place", "valid_from", "valid_to"))  # fmt: skip
    municipalities = [m.code for m in reference.municipalities()]
    places = defaultdict(list)
    for place in reference.postal_places():
        places[place.municipality_code].append(place)
    streets = reference.street_names()
    ids = Serial(rng, start=1)
    current = [row for row in contracts.rows if row[8] is None]
    chosen_coop = [row for row in current if rng.random() < COOP_RATE]
    chosen_out = [row for row in current if rng.random() < OUT_OF_OFFICE_RATE and places.get(row[2])]
    if len(contracts.rows) >= MIN_CONTRACTS_FOR_EXAMPLES:
        chosen_coop = chosen_coop or current[:1]
        chosen_out = chosen_out or [row for row in current if places.get(row[2])][:1]
    for row in chosen_coop:
        coop.append((row[0], rng.choice([m for m in municipalities if m != row[2]])))
    for row in chosen_out:
        place = rng.choice(places[row[2]])
        begins = random_date(rng, row[7], world.days_before(30))
        street = f"{rng.choice(streets)} {rng.randint(1, 60)}"
        offices.append((ids.take(), row[0], "Utekontor", street, place.postal_code, place.postal_place, begins, None))


def _membership_reasons(world: World, rng: Any) -> None:
    """Begin reason: new on a list, or a change of GP; end reason: a change of GP, or the patient left."""
    memberships = world.tables["flr_list_membership"]
    by_nin: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(memberships.rows):
        by_nin[row[1]].append(i)
    extra: list[tuple[Any, ...]] = [()] * len(memberships.rows)
    for positions in by_nin.values():
        ordered = sorted(positions, key=lambda i: memberships.rows[i][4])
        for n, i in enumerate(ordered):
            row = memberships.rows[i]
            begin = "NY" if n == 0 else "BY"
            end = None if row[5] is None else ("BY" if n + 1 < len(ordered) else "UT")
            extra[i] = (begin, end, _stamp(world, rng))
    _extend(memberships, ("begin_code", "end_code", "updated_on"), extra)

"""HPR: what the register's contract holds beyond names and approvals, drawn after the rest.

Gender, SistOppdatert, ManglerNIN, alternative ids, closing statuses, additional competences,
conditions (vilkår), administrative reactions, suspensions of a single speciality or requisition
right, a death, and merged HPR numbers (ErstattetAvHprNummer). Everything is drawn from random
streams of its own after the first pass, so the rest of the nation (and every other register's
rows) is the same as without it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from helsegraf.data import codes
from helsegraf.data.people import People
from helsegraf.data.world import Serial, Table, World, random_date
from helsegraf.identifiers import nin_check_digits

ADDITIONAL_COMPETENCE_RATE = 0.05  # of doctors' authorisations
CONDITION_RATE = 0.004
WARNING_RATE = 0.003
REVOKED_SHARE = 0.2  # of ended authorisations: tilbakekalt (with a reaction), the rest mostly expired
ITEM_SUSPENSION_RATE = 0.004
MERGED_RATE = 0.002
MERGED_NUMBERS_START = 9_000_000  # numbers that were merged away lie apart from (above) the live ones
MIN_PERSONS_FOR_EXAMPLES = 1000
GENDER_CODE = {"MALE": "1", "FEMALE": "2"}  # code system 3101


def _table(world: World, name: str, columns: tuple[str, ...]) -> Table:
    world.table(name, columns)
    return world.tables[name]


def _extend(table: Table, columns: tuple[str, ...], extra: list[tuple[Any, ...]]) -> None:
    table.columns = (*table.columns, *columns)
    table.rows = [(*row, *more) for row, more in zip(table.rows, extra, strict=True)]


def _fhn(rng: random.Random) -> str:
    """Return a felles hjelpenummer: first digit 8 or 9, two mod-11 check digits."""
    while True:
        first9 = f"{rng.choice('89')}{rng.randrange(10**8):08d}"
        check = nin_check_digits(first9)
        if check is not None:
            return f"{first9}{check[0]}{check[1]}"


def add_contract_fields(world: World, people: People) -> None:
    """Extend the HPR tables with the contract's further fields (see the module docstring)."""
    rng = world.rng("hpr-contract")
    persons, approvals = world.tables["hpr_person"], world.tables["hpr_approval"]
    closing = _closing_statuses(rng, approvals)
    _close_items(world.tables["hpr_speciality"])
    _close_items(world.tables["hpr_requisition_right"])
    reactions = _table(
        world,
        "hpr_administrative_reaction",
        ("id", "hpr_number", "approval_id", "code", "text", "valid_from", "valid_to"),
    )
    reaction_ids = Serial(rng, start=1, max_gap=3)
    for row, (status, _text) in zip(approvals.rows, closing, strict=True):
        if status == "2":
            code = "2"
            text = codes.HPR_ADMINISTRATIVE_REACTIONS[code]
            reactions.rows.append((reaction_ids.take(), row[1], row[0], code, text, row[5], None))
    _extend(approvals, ("closing_status", "closing_status_text"), closing)
    _person_fields(world, rng, people, persons, reactions, reaction_ids)
    _additional_competences(world, rng, approvals)
    _conditions(world, rng, approvals)
    _item_suspensions(world, rng)
    _merged_numbers(world, rng, persons)


def _closing_statuses(rng: random.Random, approvals: Table) -> list[tuple[str | None, str | None]]:
    """Say why each ended approval ended: a licence replaced by the authorisation, else mostly expiry."""
    started = {(row[1], row[4]) for row in approvals.rows}
    statuses: list[tuple[str | None, str | None]] = []
    for row in approvals.rows:
        if row[5] is None:
            statuses.append((None, None))
            continue
        if row[3] == "2" and (row[1], row[5]) in started:
            code = "5"
        else:
            code = "2" if rng.random() < REVOKED_SHARE else rng.choice(["1", "3"])
        statuses.append((code, codes.HPR_CLOSING_STATUSES[code]))
    return statuses


def _close_items(table: Table) -> None:
    """Close every speciality or right that ended as expired (code 1)."""
    _extend(table, ("closing_status",), [("1" if row[4] is not None else None,) for row in table.rows])


def _person_fields(
    world: World, rng: random.Random, people: People, persons: Table, reactions: Table, reaction_ids: Serial
) -> None:
    """Gender, SistOppdatert, ManglerNIN and an alternative id for those without a nin; one death; warnings."""
    index = {nin: i for i, nin in enumerate(people.nin)}
    alternative = _table(world, "hpr_alternative_id", ("id", "hpr_number", "type", "value"))
    alternative_ids = Serial(rng, start=1, max_gap=2)
    midnight = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    extra: list[list[Any]] = []
    for row in persons.rows:
        hpr_number, nin = row[0], row[1]
        gender = GENDER_CODE[people.gender[index[nin]]] if nin in index else rng.choice("12")
        changed = midnight - timedelta(days=rng.randrange(3 * 365), seconds=rng.randrange(86_400))
        if nin is None:
            alternative.rows.append((alternative_ids.take(), hpr_number, "FFHN", _fhn(rng)))
        if rng.random() < WARNING_RATE:
            begins = random_date(rng, world.days_before(5 * 365), world.days_before(30))
            reactions.rows.append((reaction_ids.take(), hpr_number, None, "1", codes.HPR_ADMINISTRATIVE_REACTIONS["1"],
                                   begins, begins + timedelta(days=365 * 2)))  # fmt: skip
        extra.append([nin is None, None, gender, changed, None])
    _one_death(world, rng, persons, extra)
    _extend(persons, ("lacks_nin", "death_date", "gender", "last_changed", "replaced_by"), [tuple(e) for e in extra])


def _one_death(world: World, rng: random.Random, persons: Table, extra: list[list[Any]]) -> None:
    """Let one health worker without a nin (not in PREG, so no record there disagrees) have died.

    Their open approvals end on the day of death, closed with status Død.
    """
    approvals = world.tables["hpr_approval"]
    suspended = {row[1] for row in world.tables["hpr_suspension"].rows}
    open_by_person: dict[int, list[int]] = {}
    for i, row in enumerate(approvals.rows):
        if row[5] is None and row[2] != "LE":
            open_by_person.setdefault(row[1], []).append(i)
    candidates = [
        i
        for i, row in enumerate(persons.rows)
        if row[1] is None
        and row[0] in open_by_person
        and not any(approvals.rows[j][0] in suspended for j in open_by_person[row[0]])
    ]
    if world.persons < MIN_PERSONS_FOR_EXAMPLES or not candidates:
        return
    chosen = rng.choice(candidates)
    hpr_number = persons.rows[chosen][0]
    died = random_date(rng, world.days_before(300), world.days_before(30))
    extra[chosen][1] = died
    for j in open_by_person[hpr_number]:
        row = approvals.rows[j]
        approvals.rows[j] = (*row[:5], max(died, row[4] + timedelta(days=1)), "4", codes.HPR_CLOSING_STATUSES["4"])


def _additional_competences(world: World, rng: random.Random, approvals: Table) -> None:
    table = _table(
        world, "hpr_additional_competence", ("id", "approval_id", "code", "closing_status", "valid_from", "valid_to")
    )
    ids = Serial(rng, start=1, max_gap=3)
    doctors = [row for row in approvals.rows if row[2] == "LE" and row[3] == "1" and row[5] is None]
    chosen = [row for row in doctors if rng.random() < ADDITIONAL_COMPETENCE_RATE]
    if not chosen and doctors and world.persons >= MIN_PERSONS_FOR_EXAMPLES:
        chosen = [rng.choice(doctors)]
    for row in chosen:
        granted = random_date(rng, row[4] + timedelta(days=365), world.days_before(10))
        table.rows.append((ids.take(), row[0], rng.choice(list(codes.ADDITIONAL_COMPETENCES)), None, granted, None))


def _conditions(world: World, rng: random.Random, approvals: Table) -> None:
    table = _table(world, "hpr_condition", ("id", "approval_id", "code", "text", "free_text"))
    ids = Serial(rng, start=1, max_gap=3)
    open_rows = [row for row in approvals.rows if row[5] is None]
    chosen = [row for row in open_rows if rng.random() < CONDITION_RATE]
    if not chosen and open_rows and world.persons >= MIN_PERSONS_FOR_EXAMPLES:
        chosen = [rng.choice(open_rows)]
    for row in chosen:
        code = rng.choice(list(codes.HPR_CONDITIONS))
        table.rows.append((ids.take(), row[0], code, codes.HPR_CONDITIONS[code], "Gjelder inntil videre"))


def _item_suspensions(world: World, rng: random.Random) -> None:
    """Suspend single specialities and requisition rights (the approval itself stays in force)."""
    suspensions = world.tables["hpr_suspension"]
    whole = {row[1] for row in suspensions.rows}
    ids = Serial(rng, start=max((row[0] for row in suspensions.rows), default=0) + 1, max_gap=3)
    _extend(suspensions, ("speciality_id", "requisition_right_id"), [(None, None)] * len(suspensions.rows))
    for name, position in (("hpr_speciality", 5), ("hpr_requisition_right", 6)):
        items = [row for row in world.tables[name].rows if row[4] is None and row[1] not in whole]
        chosen = [row for row in items if rng.random() < ITEM_SUSPENSION_RATE]
        if not chosen and items and world.persons >= MIN_PERSONS_FOR_EXAMPLES:
            chosen = [rng.choice(items)]
        for row in chosen:
            begins = random_date(rng, max(row[3], world.days_before(3 * 365)), world.days_before(60))
            item = [None, None]
            item[position - 5] = row[0]
            suspensions.rows.append((ids.take(), row[1], begins, None, *item))
            whole.add(row[1])


def _merged_numbers(world: World, rng: random.Random, persons: Table) -> None:
    """Register a few persons twice, the older number merged into the live one (ErstattetAvHprNummer)."""
    with_nin = [row for row in persons.rows if row[1] is not None]
    chosen = [row for row in with_nin if rng.random() < MERGED_RATE]
    if not chosen and with_nin and world.persons >= MIN_PERSONS_FOR_EXAMPLES:
        chosen = [rng.choice(with_nin)]
    # Above every live number (at 5.5 million persons the live ones pass 9,000,000): the next million up.
    highest = max((row[0] for row in persons.rows), default=0)
    numbers = Serial(rng, start=max(MERGED_NUMBERS_START, (highest // 1_000_000 + 1) * 1_000_000), max_gap=40)
    merged_at = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    for row in chosen:
        changed = merged_at - timedelta(days=rng.randrange(30, 2 * 365))
        persons.rows.append((numbers.take(), *row[1:9], changed, row[0]))

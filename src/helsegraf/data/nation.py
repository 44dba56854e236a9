"""Generate a whole synthetic nation: every register's rows, deterministic for a seed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from helsegraf.data import codes, reference
from helsegraf.data.hospitals import generate_hospitals
from helsegraf.data.hospitals_details import add_unit_fields
from helsegraf.data.parties_details import add_party_fields
from helsegraf.data.people import generate_people, write_people
from helsegraf.data.personnel import generate_personnel
from helsegraf.data.practices import generate_practices
from helsegraf.data.practices_details import add_contract_fields as add_gp_contract_fields
from helsegraf.data.world import World, random_date

# The reference date the nation is generated around. Fixed, so the same seed gives the same
# rows on any day; everything current at this date is open-ended and stays current after it.
DEFAULT_AS_OF = date(2026, 1, 1)

# Load order: parents before children (foreign keys inside a register).
TABLE_ORDER = (
    "kodeverk_code_system", "kodeverk_code", "kodeverk_code_version",
    "preg_person", "preg_parent_relation", "preg_identification_number", "preg_address",
    "preg_parental_responsibility", "preg_guardianship", "preg_responsibility_without_id", "preg_guardian_without_id",
    "preg_legal_capacity",
    "hpr_person", "hpr_approval", "hpr_speciality", "hpr_requisition_right", "hpr_suspension",
    "hpr_alternative_id", "hpr_administrative_reaction", "hpr_additional_competence", "hpr_condition",
    "bed_organization",
    "ar_communication_party", "ar_electronic_address",
    "ar_physical_address", "ar_certificate", "ar_coverage_area", "ar_future_electronic_address",
    "flr_gp_contract", "flr_gp_contract_terms", "flr_gp_period", "flr_list_membership", "flr_coop_municipality",
    "flr_out_of_office",
    "resh_unit", "resh_parent_link", "resh_service",
)  # fmt: skip


def generate(
    persons: int,
    seed: int,
    as_of: date = DEFAULT_AS_OF,
    on_phase: Callable[[str], None] = lambda _phase: None,
) -> World:
    """Return every table of a nation of `persons` persons; the same arguments give the same rows."""
    if persons < 1:
        msg = "a nation needs at least 1 person"
        raise ValueError(msg)
    world = World(seed=seed, persons=persons, as_of=as_of)
    on_phase("PREG: persons and families")
    people = generate_people(world)
    write_people(world, people)
    on_phase("HPR: health personnel and approvals")
    personnel = generate_personnel(world, people)
    on_phase("FLR, BED, AR: GP offices, lists and patients")
    generate_practices(world, people, personnel)
    add_gp_contract_fields(world)
    on_phase("RESH: hospital trees")
    generate_hospitals(world)
    add_party_fields(world)
    add_unit_fields(world)
    on_phase("Kodeverk: code lists")
    _write_codes(world)
    _bed_lifecycle(world)
    return world


# A share of the units have closed: deleted from Enhetsregisteret (slettedato) but kept as history.
BED_CLOSED_RATE = 0.01


def _bed_lifecycle(world: World) -> None:
    """Give every unit its registration date, a deletion date for a few, and its last change.

    Drawn from its own random stream after everything else, so the rest of the nation is unchanged.
    Units a GP list or a hospital tree points at stay open.
    """
    rng = world.rng("bed-lifecycle")
    table = world.tables["bed_organization"]
    used = {row[1] for row in world.tables["flr_gp_contract"].rows} | {row[4] for row in world.tables["resh_unit"].rows}
    used |= {row[4] for row in table.rows}  # parents of units
    used |= {row[4] for row in world.tables["ar_communication_party"].rows}
    midnight = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    rows = []
    for row in table.rows:
        registered = random_date(rng, date(1995, 1, 2), world.days_before(400))
        closed = None
        if row[0] not in used and rng.random() < BED_CLOSED_RATE:
            closed = random_date(rng, registered + timedelta(days=1), world.as_of)
        changed = midnight - timedelta(
            days=rng.randrange(0, (world.as_of - registered).days), seconds=rng.randrange(86_400)
        )
        rows.append((*row, registered, closed, changed))
    table.columns = (*table.columns, "valid_from", "valid_to", "last_changed")
    table.rows = rows


CODE_VERSION = "1"  # the version the generated code lists are given


def _write_codes(world: World) -> None:
    systems = world.table("kodeverk_code_system", ("oid", "name", "description", "version"))
    systems.extend((*system, CODE_VERSION) for system in codes.CODE_SYSTEMS)
    rows = world.table("kodeverk_code", ("system_oid", "value", "text", "active", "version"))
    rows.extend(("3402", m.code, m.name, True, CODE_VERSION) for m in reference.municipalities())
    for oid, values in codes.static_codes().items():
        rows.extend((oid, value, text, True, CODE_VERSION) for value, text in values.items())
    versions = world.table("kodeverk_code_version", ("system_oid", "value", "version", "text", "active"))
    versions.extend((row[0], row[1], CODE_VERSION, row[2], row[3]) for row in rows)

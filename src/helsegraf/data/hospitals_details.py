"""RESH: what a unit holds in the contract, derived after the trees exist.

Display names, organisational level (8628) and designation (8624) from the unit's place in the
tree, the treatment facility (the hospital the unit belongs to: behandlingssted) and the top
organisation (its health trust), LastChanged; each service's code system, owner and validity.
From a random stream of its own, so every other row of the nation is unchanged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from helsegraf.data.world import World

# Unit types of the generated trees -> (organisatorisk nivå 8628, organisatorisk betegnelse 8624).
LEVEL_AND_DESIGNATION = {
    "RHF": ("1", None), "HF": ("2", None), "HOSPITAL": ("3", "01"), "CLINIC": ("9", "02"),
    "DEPARTMENT": ("9", "05"), "SECTION": ("9", "06"), "UNIT": ("9", "08"),
}  # fmt: skip
SERVICE_SYSTEM = "8668"  # the generator's service codes; a synced row carries the OID RESH sent
MAX_DEPTH = 20


def _parent_at(links: list[tuple[Any, ...]], on: date) -> int | None:
    for _id, _unit, parent, begins, ends in links:
        if begins <= on and (ends is None or ends > on):
            return int(parent)
    return None


def add_unit_fields(world: World) -> None:
    """Extend RESH's unit and service tables with the contract's further fields."""
    rng = world.rng("resh-contract")
    units = world.tables["resh_unit"]
    by_id = {row[0]: row for row in units.rows}
    links: dict[int, list[tuple[Any, ...]]] = {}
    for link in world.tables["resh_parent_link"].rows:
        links.setdefault(link[1], []).append(link)
    midnight = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    extra = []
    for row in units.rows:
        on = row[6] - timedelta(days=1) if row[6] is not None else world.as_of
        chain = [row]
        current = row[0]
        for _ in range(MAX_DEPTH):
            parent = _parent_at(links.get(current, []), on)
            if parent is None or parent not in by_id:
                break
            chain.append(by_id[parent])
            current = parent
        hospital = next((u for u in chain if u[3] == "HOSPITAL"), None)
        trust = next((u for u in chain if u[3] in {"HF", "RHF"}), None)
        level, designation = LEVEL_AND_DESIGNATION.get(row[3], ("9", "88"))
        display = row[1] if len(chain) < 2 else f"{row[1]} - {chain[1][1]}"
        changed = midnight - timedelta(days=rng.randrange(3 * 365), seconds=rng.randrange(86_400))
        extra.append((
            display[:300], level, designation, hospital[4] if hospital else None,
            trust[4] if trust else None, trust[0] if trust else None, changed,
        ))  # fmt: skip
    units.columns = (*units.columns, "display_name", "organizational_level", "organizational_designation",
                     "treatment_facility_org_number", "top_org_number", "top_org_resh_id", "last_changed")  # fmt: skip
    units.rows = [(*row, *more) for row, more in zip(units.rows, extra, strict=True)]
    services = world.tables["resh_service"]
    extended = {row[0]: row for row in units.rows}
    # A service is owned by the health trust the unit belongs to (OwnerReshId) and valid while the unit is.
    services.rows = [
        (resh_id, code, SERVICE_SYSTEM, extended[resh_id][12], extended[resh_id][5], extended[resh_id][6])
        for resh_id, code in services.rows
    ]
    services.columns = (*services.columns, "code_system", "owner_resh_id", "valid_from", "valid_to")

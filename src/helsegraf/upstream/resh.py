"""A fake of RESH's SOAP service (`IReshService`, BasicHttpBinding) over the synthetic nation.

It answers `GetModifiedReshIds(date)` (the units changed since a moment), `GetModifiedParentLinks(date)`
(the parent links changed since it) and `GetReshUnit(reshId, ...)` with messages zeep builds from
`resh.wsdl`; tests validate them against the WSDL's schemas. A unit's organisational level is one of
its `Properties` (code system 8628), its designation `OrganizationalDesignation` (8624); services
carry their code with the OID the generator gave them, owner and validity. An unknown RESH-id is a
SOAP fault. `day_of_changes` moves a unit to another parent: its old link is closed, a new one
opened, and both the unit and its links count as changed at that moment.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from helsegraf.upstream import soap
from helsegraf.upstream.faults import Faults

CONTRACT: Final = "resh"
LEVEL: Final = 8628
DESIGNATION: Final = 8624
NOT_FOUND: Final = "ReshUnit not found"


def _number(value: str | None) -> int | None:
    """Return an organisation number as the contract's xs:int (None when absent)."""
    return int(value) if value else None


def _moment(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def code(oid: int, value: str | None) -> dict[str, Any] | None:
    """Return a `Code` (register.nhn.no/Common)."""
    return None if value is None else {"Active": True, "CodeValue": value, "OID": oid}


class ReshSource:
    """The nation's specialist-care units, parent links and services, with when each last changed."""

    def __init__(self, world: Any) -> None:
        self.as_of: date = world.as_of
        units = world.tables["resh_unit"]
        self.units: dict[int, dict[str, Any]] = {r[0]: dict(zip(units.columns, r, strict=True)) for r in units.rows}
        links = world.tables["resh_parent_link"]
        self.links: list[dict[str, Any]] = [dict(zip(links.columns, r, strict=True)) for r in links.rows]
        for link in self.links:  # a link changed when its unit last did (the generator's history is older)
            link["changed"] = self.units[link["resh_id"]]["last_changed"]
        services = world.tables["resh_service"]
        self.services: dict[int, list[dict[str, Any]]] = {}
        for row in services.rows:
            item = dict(zip(services.columns, row, strict=True))
            self.services.setdefault(item["resh_id"], []).append(item)
        self.day = 0

    def parent(self, resh_id: int, on: date | None = None) -> int | None:
        """Return the unit's parent on a day (default: its newest link's)."""
        links = sorted((k for k in self.links if k["resh_id"] == resh_id), key=lambda k: k["valid_from"])
        if on is not None:
            links = [k for k in links if k["valid_from"] <= on and (k["valid_to"] is None or k["valid_to"] > on)]
        return links[-1]["parent_resh_id"] if links else None

    def unit(self, resh_id: int) -> dict[str, Any]:
        """Return a unit as `GetReshUnitResult`."""
        u = self.units[resh_id]
        parent = self.parent(resh_id)
        return {
            "DisplayName": u["display_name"],
            "LastChanged": u["last_changed"],
            "Name": u["name"],
            "OrganizationNumber": _number(u["org_number"]),
            "OrganizationalDesignation": code(DESIGNATION, u["organizational_designation"]),
            "ParentName": self.units[parent]["name"] if parent in self.units else None,
            "ParentReshId": parent,
            "Properties": {"Code": [c for c in (code(LEVEL, u["organizational_level"]),) if c]},
            "ReshId": resh_id,
            "Services": {"Service": [
                {"Code": code(int(s["code_system"]), s["code"]) if s["code_system"] else {"CodeValue": s["code"]},
                 "OwnerReshId": s["owner_resh_id"], "Valid": {"From": _moment(s["valid_from"]),
                                                              "To": _moment(s["valid_to"])}}
                for s in sorted(self.services.get(resh_id, []), key=lambda s: s["code"])
            ]},
            "ShortName": u["short_name"],
            "TopOrganizationNumber": _number(u["top_org_number"]),
            "TopOrganizationReshId": u["top_org_resh_id"],
            "TreatmentFacilityOrganizationNumber": _number(u["treatment_facility_org_number"]),
            "Valid": {"From": _moment(u["valid_from"]), "To": _moment(u["valid_to"])},
        }  # fmt: skip

    def modified_ids(self, since: datetime) -> list[int]:
        """Return the RESH-ids of units changed at or after `since`."""
        return sorted(r for r, u in self.units.items() if u["last_changed"] >= since)

    def modified_links(self, since: datetime) -> list[dict[str, Any]]:
        """Return the parent links changed at or after `since`."""
        return [
            {"ParentReshId": k["parent_resh_id"], "Period": {"From": _moment(k["valid_from"]),
                                                             "To": _moment(k["valid_to"])}, "ReshId": k["resh_id"]}
            for k in sorted(self.links, key=lambda k: k["id"])
            if k["changed"] >= since
        ]  # fmt: skip

    def handlers(self) -> dict[str, Any]:
        """Return the operations the fake answers."""

        def since(request: Any) -> datetime:
            moment = request if isinstance(request, datetime) else request.date  # zeep unwraps a single part
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

        def ids(request: Any) -> tuple[int, bytes]:
            found = self.modified_ids(since(request))
            return 200, soap.answer(CONTRACT, "GetModifiedReshIds", GetModifiedReshIdsResult={"int": found})

        def links(request: Any) -> tuple[int, bytes]:
            found = self.modified_links(since(request))
            return 200, soap.answer(CONTRACT, "GetModifiedParentLinks",
                                    GetModifiedParentLinksResult={"ParentLink": found})  # fmt: skip

        def unit(request: Any) -> tuple[int, bytes]:
            if request.reshId not in self.units:
                return 500, soap.fault(NOT_FOUND)
            return 200, soap.answer(CONTRACT, "GetReshUnit", GetReshUnitResult=self.unit(request.reshId))

        return {"GetModifiedReshIds": ids, "GetModifiedParentLinks": links, "GetReshUnit": unit}

    def day_of_changes(self, rng: random.Random, scale: int = 1) -> dict[str, list[int]]:
        """Move units to another parent of the same kind as their current one."""
        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 13, tzinfo=UTC)
        done: dict[str, list[int]] = {"moved": []}
        open_units = {r for r, u in self.units.items() if u["valid_to"] is None}
        for _ in range(scale):
            movable = []
            for resh_id in sorted(open_units - set(done["moved"])):
                parent = self.parent(resh_id, today)
                if parent is None or self.units[resh_id]["unit_type"] not in {"DEPARTMENT", "SECTION", "UNIT"}:
                    continue
                kind = self.units[parent]["unit_type"]
                others = sorted(o for o in open_units - {parent, resh_id} if self.units[o]["unit_type"] == kind)
                if others:
                    movable.append((resh_id, parent, others))
            if not movable:
                break
            resh_id, parent, others = rng.choice(movable)
            target = rng.choice(others)
            for link in self.links:
                if link["resh_id"] == resh_id and link["valid_to"] is None:
                    link.update(valid_to=today, changed=now)
            self.links.append({"id": max(k["id"] for k in self.links) + 1, "resh_id": resh_id,
                               "parent_resh_id": target, "valid_from": today, "valid_to": None,
                               "changed": now})  # fmt: skip
            self.units[resh_id]["last_changed"] = now
            done["moved"].append(resh_id)
        return done


def create_app(source: ReshSource, faults: Faults | None = None) -> Any:
    """Return the fake RESH service (SOAP 1.1 POSTs at `/`)."""
    app = soap.service(CONTRACT, source.handlers(), faults or Faults())
    app.state.source = source
    return app

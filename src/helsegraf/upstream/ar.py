"""A fake of AR's CommunicationParty REST API (CPE) over the synthetic nation: the export, then events.

What is known of the API (contracts/README.md, DOMAIN.md §4): `GET CommunicationPartyExport` streams
every party as JSON (gzip on request) with `LastEventId` and `LastDateTimeOffset`; `GET
CommunicationPartyEvents?EventId=<last>` returns the events after that id, `{EventId, FromDatetime,
HerId, OrgNr, EventType, CommunicationParty}`, with `Links.Next.Href` while more follow. The party's
structure is `ar.wsdl`'s `CommunicationParty` and its extensions (Organization, Service,
OrganizationPerson), with the register's sentinels: `-1` for "no parent" and
`9999-12-31T23:59:59.997` for "no end", and postal codes as integers (`xs:int`).

Our own choices where the published material says nothing (docs/registers.md, "Sync"): the party
carries its `Certificates` (AR publishes them through LDAP and `GetCertificateFor*`; the JSON here
holds usage, serial, validity, LDAP URL and subject of each); a service covering a municipality
names it in `CoverageAreas[].Name` with the kommune code as the party's `CoverageAreaType`
(code system 3402); events come 1,000 a page.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helsegraf.upstream.faults import Faults

EVENTS_PER_PAGE: Final = 1000
OPEN_END: Final = "9999-12-31T23:59:59.997"
NO_PARENT: Final = -1
TYPES: Final = {"ORGANIZATION": "Organization", "SERVICE": "Service", "PERSON": "Person", "DEPARTMENT": "Department"}
CHILDREN: Final = ("ar_electronic_address", "ar_physical_address", "ar_certificate", "ar_coverage_area",
                   "ar_future_electronic_address")  # fmt: skip
CERTIFICATE_YEARS: Final = 3


def stamp(value: date | datetime | None) -> str | None:
    """Return an AR date-time (ISO 8601; dates are midnight UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def code(oid: int, value: str | None, text: str | None = None) -> dict[str, Any] | None:
    """Return an AR `Code` (register.nhn.no/Common)."""
    if value is None:
        return None
    return {"OID": oid, "CodeValue": value, "CodeText": text, "Active": True}


class ArSource:
    """The nation's communication parties with their event log."""

    def __init__(self, world: Any) -> None:
        self.as_of: date = world.as_of
        table = world.tables["ar_communication_party"]
        self.parties: dict[int, dict[str, Any]] = {
            row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows
        }
        self.children: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for name in CHILDREN:
            child = world.tables[name]
            grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in child.rows:
                item = dict(zip(child.columns, row, strict=True))
                grouped[item["her_id"]].append(item)
            self.children[name] = grouped
        # The log before the export: each party's creation (positions the export's LastEventId sums up).
        self.events: list[tuple[int, int, str, datetime]] = []
        for party in sorted(self.parties.values(), key=lambda p: (p["last_changed"], p["her_id"])):
            self._event(party["her_id"], "CommunicationPartyCreated", party["last_changed"])
        self.day = 0

    def _event(self, her_id: int, kind: str, at: datetime) -> None:
        self.events.append((len(self.events) + 1, her_id, kind, at))

    @property
    def latest(self) -> int:
        """Return the newest event id (0 before any event)."""
        return len(self.events)

    def party(self, her_id: int) -> dict[str, Any]:
        """Return a party as AR's JSON."""
        p = self.parties[her_id]
        kids = {name: self.children[name].get(her_id, []) for name in CHILDREN}
        doc: dict[str, Any] = {
            "HerId": her_id,
            "Name": p["name"],
            "DisplayName": p["display_name"],
            "Type": TYPES[p["type"]],
            "ParentHerId": p["parent_her_id"] if p["parent_her_id"] is not None else NO_PARENT,
            "ParentName": p["parent_name"],
            "ParentOrganizationNumber": int(p["parent_org_number"]) if p["parent_org_number"] else NO_PARENT,
            "ParentBusinessType": code(9040, p["parent_business_type"]),
            "Active": p["active"],
            "IsValidCommunicationParty": p["is_valid"],
            "Valid": {"From": stamp(p["valid_from"]), "To": stamp(p["valid_to"]) or OPEN_END},
            "Municipality": code(3402, p["municipality_code"]),
            "LastChanged": stamp(p["last_changed"]),
            "ElectronicAddresses": [
                {"Type": code(9044, a["type"]), "TypeCodeValue": a["type"], "Address": a["address"], "Inherited": False}
                for a in kids["ar_electronic_address"]
            ],
            "FutureElectronicAddresses": [
                {
                    "Type": code(9044, a["type"]),
                    "TypeCodeValue": a["type"],
                    "Address": a["address"],
                    "Inherited": False,
                    "ValidFrom": stamp(a["valid_from"]),
                }
                for a in kids["ar_future_electronic_address"]
            ],
            "PhysicalAddresses": [
                {
                    "Type": code(3401, a["type"]),
                    "TypeCodeValue": a["type"],
                    "StreetAddress": a["street"],
                    "Postbox": a["postbox"],
                    "PostalCode": int(a["postal_code"]) if a["postal_code"] else None,
                    "City": a["city"],
                    "Country": code(9043, a["country"]),
                    "Inherited": False,
                }
                for a in kids["ar_physical_address"]
            ],
            "Certificates": [
                {
                    "Usage": "Encryption" if c["usage"] == "ENCRYPTION" else "Signing",
                    "SerialNumber": c["serial_number"],
                    "NotBefore": stamp(c["valid_from"]),
                    "NotAfter": stamp(c["valid_to"]),
                    "LdapUrl": c["ldap_url"],
                    "CnName": c["subject"],
                }
                for c in kids["ar_certificate"]
            ],
        }
        if p["org_number"] is not None:
            doc["OrganizationNumber"] = int(p["org_number"])
        if p["type"] == "ORGANIZATION":
            doc["BusinessType"] = code(9040, p["business_type"])
        if p["type"] == "SERVICE":
            system = int(p["service_code_system"]) if p["service_code_system"] else None
            doc["Code"] = {"OID": system, "CodeValue": p["service_code"], "CodeText": p["service_code_text"],
                           "Active": True}  # fmt: skip
            doc["LocationDescription"] = p["location_description"]
            areas = kids["ar_coverage_area"]
            doc["CoverageAreas"] = [
                {"HerId": a["covered_her_id"] if a["covered_her_id"] is not None else NO_PARENT, "Name": a["name"],
                 "DisplayName": a["name"],
                 "OrganizationNumber": int(a["org_number"]) if a["org_number"] else NO_PARENT}
                for a in areas
            ]  # fmt: skip
            municipalities = {a["municipality_code"] for a in areas if a["municipality_code"]}
            if len(municipalities) == 1:
                doc["CoverageAreaType"] = code(3402, municipalities.pop())
        if p["type"] == "PERSON":
            doc["Person"] = {"HPRInformation": {"HPRNumber": p["hpr_number"]} if p["hpr_number"] else None}
        return doc

    def export(self) -> dict[str, Any]:
        """Return the export: every party, and where the events go on from."""
        last = self.events[-1] if self.events else None
        return {
            "LastEventId": last[0] if last else 0,
            "LastDateTimeOffset": stamp(last[3]) if last else None,
            "CommunicationParties": [self.party(h) for h in sorted(self.parties)],
        }

    def events_after(self, event_id: int) -> tuple[list[dict[str, Any]], bool]:
        """Return up to a page of events after `event_id`, and whether more follow."""
        chosen = self.events[event_id : event_id + EVENTS_PER_PAGE]
        events = [
            {"EventId": e, "FromDatetime": stamp(at), "HerId": her_id, "OrgNr": self.parties[her_id]["org_number"],
             "EventType": kind, "CommunicationParty": self.party(her_id)}
            for e, her_id, kind, at in chosen
        ]  # fmt: skip
        return events, event_id + EVENTS_PER_PAGE < len(self.events)

    def day_of_changes(self, rng: random.Random, scale: int = 1) -> dict[str, list[int]]:
        """Append a day: renewed certificates (the old ones stay published), a renamed party."""
        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 11, tzinfo=UTC)
        done: dict[str, list[int]] = {"renewed": [], "renamed": []}
        certificates = self.children["ar_certificate"]
        holders = sorted(h for h, rows in certificates.items() if rows)
        next_id = max((c["id"] for rows in certificates.values() for c in rows), default=0) + 1
        for her_id in rng.sample(holders, min(len(holders), scale)):
            party = self.parties[her_id]
            for usage in ("ENCRYPTION", "SIGNING"):
                serial = f"{rng.getrandbits(80):020x}"
                ldap = (f"ldap://ldap.nhn.no:389/cn={party['name']},serialNumber={her_id},ou=HER-id,o=Norsk helsenett"
                        f"?usercertificate;binary?sub?(serialnumber={serial})")  # fmt: skip
                certificates[her_id].append({
                    "id": next_id, "her_id": her_id, "usage": usage, "serial_number": serial, "valid_from": now,
                    "valid_to": now + timedelta(days=CERTIFICATE_YEARS * 365), "ldap_url": ldap[:400],
                    "subject": f"CN={party['name']}"[:300],
                })  # fmt: skip
                next_id += 1
            party["last_changed"] = now
            self._event(her_id, "CommunicationPartyUpdated", now)
            done["renewed"].append(her_id)
        others = sorted(h for h, p in self.parties.items() if p["active"] and h not in done["renewed"])
        if others:
            her_id = rng.choice(others)
            party = self.parties[her_id]
            party.update(display_name=f"{party['display_name'] or party['name']} (ny)"[:300], last_changed=now)
            self._event(her_id, "CommunicationPartyUpdated", now)
            done["renamed"].append(her_id)
        return done


def create_app(source: ArSource, faults: Faults | None = None) -> Starlette:
    """Return the fake CPE REST API (mounted at .../ar)."""
    faults = faults or Faults()

    async def export(request: Request) -> Response:
        if (refused := await faults.before(request)) is not None:
            return refused
        return Response(orjson.dumps(source.export()), media_type="application/json")

    async def events(request: Request) -> Response:
        if (refused := await faults.before(request)) is not None:
            return refused
        raw = request.query_params.get("EventId", "")
        if not raw.isdigit():
            return JSONResponse({"title": "Bad Request", "status": 400, "detail": "EventId is a whole number"}, 400)
        found, more = source.events_after(int(raw))
        last = found[-1]["EventId"] if found else int(raw)
        next_link = {"Href": f"{request.url.path}?EventId={last}"} if more else None
        body = {"CommunicationParties": found, "Links": {"Next": next_link}}
        return Response(orjson.dumps(body), media_type="application/json")

    app = Starlette(
        routes=[Route("/CommunicationPartyExport", export), Route("/CommunicationPartyEvents", events)],
        middleware=[Middleware(GZipMiddleware, minimum_size=1000)],
    )
    app.state.source, app.state.faults = source, faults
    return app

"""A fake of FLR's SOAP services over the synthetic nation: the export and the read operations it answers.

FLR's change events are not open to new subscribers, so a follower uses the bulk route
(DOMAIN.md §1.2, §4): `ExportGPContracts` (fastlegeinfo.wsdl, `IFlrExportOperations`) returns, for the
municipalities asked, a ZIP whose entries are XML-serialised `GPContract` lists (an
`ArrayOfGPContract` per office, `<orgnr>.xml`), and `QueryGPContracts` / `GetGPContract` (flr.wsdl,
`IFlrReadOperations`) list the contracts with their `UpdatedOn` and return one whole. Messages and the
export's XML are built by zeep from the WSDLs; tests validate them against the WSDLs' schemas.

Our choices where FLR publishes nothing (docs/registers.md, "Sync"): `QueryGPContracts` without a
`Municipality` answers every contract (paged, at most 1,000 a page); `GetGPContract` includes the
patient list, history included, as the export does with `GetHistoricalData`; a contract's
`UpdatedOn` moves whenever anything on it changes, its doctors and patients included; the office's
district (a name, bydel codes are not generated) is the text of `GPOffice.District`; of a doctor's `GP`
person only `Sex` is sent (the GP's gender, public: the rest of the person is HPR's and PREG's).
"""

from __future__ import annotations

import io
import random
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from lxml import etree

from helsegraf.upstream import soap
from helsegraf.upstream.faults import Faults

READ: Final = "flr"
EXPORT: Final = "fastlegeinfo"
NS: Final = "{http://schemas.nhn.no/reg/flr}"
MAX_PAGE_SIZE: Final = 1000
NOT_FOUND: Final = "GPContract not found"
GENDER_CODES: Final = {"MALE": "1", "FEMALE": "2"}


def _moment(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def _period(row: dict[str, Any], begins: str = "valid_from", ends: str = "valid_to") -> dict[str, Any]:
    return {"From": _moment(row[begins]), "To": _moment(row[ends])}


def code(oid: int | None, value: str | None, text: str | None = None) -> dict[str, Any] | None:
    """Return a `Code` (register.nhn.no/Common)."""
    if value is None and text is None:
        return None
    return {"CodeText": text, "CodeValue": value, "OID": oid}


def _rows(world: Any, name: str) -> list[dict[str, Any]]:
    table = world.tables[name]
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


class FlrSource:
    """The nation's GP contracts with their doctors, patients, co-operating municipalities and utekontor."""

    def __init__(self, world: Any) -> None:
        self.as_of: date = world.as_of
        self.contracts: dict[int, dict[str, Any]] = {r["id"]: r for r in _rows(world, "flr_gp_contract")}
        self.periods: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(world, "flr_gp_period"):
            self.periods[row["contract_id"]].append(row)
        self.memberships: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(world, "flr_list_membership"):
            self.memberships[row["contract_id"]].append(row)
        self.coop: dict[int, list[str]] = defaultdict(list)
        for row in _rows(world, "flr_coop_municipality"):
            self.coop[row["contract_id"]].append(row["municipality_code"])
        self.out_of_office: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(world, "flr_out_of_office"):
            self.out_of_office[row["contract_id"]].append(row)
        self.day = 0

    # -- documents -------------------------------------------------------------------------------

    def contract(self, contract_id: int, *, patients: bool = True) -> dict[str, Any]:
        """Return a contract as `GPContract` (the patient list only when asked)."""
        c = self.contracts[contract_id]
        today = self.as_of + timedelta(days=self.day)
        listed = sum(1 for m in self.memberships[contract_id] if m["valid_to"] is None or m["valid_to"] > today)
        document: dict[str, Any] = {
            "AgreementDate": _moment(c["agreement_date"]),
            "CoopMunicipalities": {"Code": [code(3402, m) for m in sorted(self.coop[contract_id])]},
            "DoctorCycles": {"GPOnContractAssociation": [
                {"GP": {"Sex": code(3101, GENDER_CODES[p["gp_gender"]])} if p.get("gp_gender") else None,
                 "GPContractId": contract_id, "HprNumber": p["hpr_number"], "Id": p["id"],
                 "Relationship": code(7750, p["relationship"]),
                 "SubstituteForHprNumber": p["substitute_for_hpr_number"],
                 "Valid": _period(p), "WorkingOnDays": {"DayOfWeek": p["working_on_days"].split(",")}
                 if p["working_on_days"] else None, "WorkingPercentage": p["working_percentage"]}
                for p in sorted(self.periods[contract_id], key=lambda p: p["id"])
            ]},
            "EndReason": code(None, c["end_reason"], c["end_reason_text"]),  # its code system is not published
            "GPOffice": {"District": code(3403, None, c["district"]),
                         "Municipality": code(3402, c["municipality_code"]),
                         "OrganizationNumber": int(c["office_org_number"])},
            "GPOfficeOrganizationNumber": int(c["office_org_number"]),
            "Id": contract_id,
            "IsFixedSalary": bool(c["fixed_salary"]),
            "MaxPatients": c["max_patients"],
            "Municipality": code(3402, c["municipality_code"]),
            "OutOfOfficeOffices": {"OutOfOfficeLocation": [
                {"Description": o["description"], "GPContractId": contract_id, "Id": o["id"],
                 "PhysicalAddresses": {"PhysicalAddress": [
                     {"City": o["postal_place"], "PostalCode": int(o["postal_code"]) if o["postal_code"] else None,
                      "StreetAddress": o["street"], "Type": code(3401, "RES")}]},
                 "Valid": _period(o)}
                for o in sorted(self.out_of_office[contract_id], key=lambda o: o["id"])
            ]},
            "ParticipatesOnCommonList": c["common_list"],
            "PatientsOnWaitingList": c["patients_on_waiting_list"],
            "PlacesAvailable": max(c["max_patients"] - listed, 0) if c["status"] == "FAAA" else 0,
            "Status": code(7751, c["status"]),
            "UpdatedOn": c["updated_on"],
            "Valid": _period(c),
        }  # fmt: skip
        if patients:
            document["PatientList"] = {"PatientToGPContractAssociation": [
                {"BeginCode": code(7754, m["begin_code"]), "EndCode": code(7754, m["end_code"]),
                 "GPContractId": contract_id, "GPHerId": m["gp_her_id"], "Id": m["id"],
                 "Patient": {"DateOfBirth": _moment(m["patient_birth_date"]), "NIN": m["nin"],
                             "Sex": code(3101, GENDER_CODES.get(m["patient_gender"] or ""))}
                 if m["patient_birth_date"] or m["patient_gender"] else None,
                 "PatientNIN": m["nin"], "Period": _period(m), "UpdatedOn": m["updated_on"]}
                for m in sorted(self.memberships[contract_id], key=lambda m: m["id"])
            ]}  # fmt: skip
        return document

    def export(self, municipalities: list[str]) -> bytes:
        """Return ExportGPContracts' ZIP: an `ArrayOfGPContract` per office of the municipalities asked."""
        element = soap.client(READ).get_element(f"{NS}ArrayOfGPContract")  # type: ignore[no-untyped-call]  # zeep ships no types
        offices: dict[str, list[int]] = defaultdict(list)
        for contract_id, c in sorted(self.contracts.items()):
            if not municipalities or c["municipality_code"] in municipalities:
                offices[c["office_org_number"]].append(contract_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for office, ids in sorted(offices.items()):
                holder = etree.Element("holder")
                element.render(holder, {"GPContract": [self.contract(i) for i in ids]})
                archive.writestr(f"{office}.xml", etree.tostring(holder[0], xml_declaration=True, encoding="utf-8"))
        return buffer.getvalue()

    # -- the operations --------------------------------------------------------------------------

    def read_handlers(self) -> dict[str, Any]:
        """Return the read operations the fake answers."""

        def query(request: Any) -> tuple[int, bytes]:
            parameters = request if not hasattr(request, "queryParameters") else request.queryParameters
            page = int(getattr(parameters, "Page", None) or 1)
            size = int(getattr(parameters, "PageSize", None) or 100)
            if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
                return 500, soap.fault(f"ArgumentException: Page >= 1 and PageSize 1..{MAX_PAGE_SIZE}")
            municipality = getattr(getattr(parameters, "Municipality", None), "CodeValue", None)
            ids = [i for i, c in sorted(self.contracts.items())
                   if municipality is None or c["municipality_code"] == municipality]  # fmt: skip
            chosen = ids[(page - 1) * size : page * size]
            result = {"Results": {"GPContract": [self.contract(i, patients=False) for i in chosen]}, "Total": len(ids)}
            return 200, soap.answer(READ, "QueryGPContracts", QueryGPContractsResult=result)

        def one(request: Any) -> tuple[int, bytes]:
            contract_id = int(request if isinstance(request, int) else request.gpContractId)
            if contract_id not in self.contracts:
                return 500, soap.fault(NOT_FOUND)
            return 200, soap.answer(READ, "GetGPContract", GetGPContractResult=self.contract(contract_id))

        return {"QueryGPContracts": query, "GetGPContract": one}

    def export_handlers(self) -> dict[str, Any]:
        """Return the export operation."""

        def export(request: Any) -> tuple[int, bytes]:
            parameters = request if not hasattr(request, "searchParameters") else request.searchParameters
            codes = getattr(getattr(parameters, "Municipalities", None), "Code", None) or []
            municipalities = [c.CodeValue for c in codes if c is not None and c.CodeValue]
            if not municipalities:
                return 500, soap.fault("ArgumentException: at least one municipality")
            return 200, soap.answer(EXPORT, "ExportGPContracts", ExportGPContractsResult=self.export(municipalities))

        return {"ExportGPContracts": export}

    # -- a day of changes ------------------------------------------------------------------------

    def day_of_changes(self, rng: random.Random, scale: int = 1) -> dict[str, list[int]]:
        """Append a day: a GP leaves a list, a patient changes lists; each touched contract is updated."""
        del scale
        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 14, tzinfo=UTC)
        done: dict[str, list[int]] = {"gp_left": [], "patient_moved": []}
        open_periods = [p for ps in self.periods.values() for p in ps if p["valid_to"] is None
                        and p["valid_from"] < today]  # fmt: skip
        if open_periods:
            period = rng.choice(sorted(open_periods, key=lambda p: p["id"]))
            period["valid_to"] = today
            self.contracts[period["contract_id"]]["updated_on"] = now
            done["gp_left"] = [period["contract_id"], period["hpr_number"]]
        open_contracts = sorted(i for i, c in self.contracts.items() if c["valid_to"] is None)
        listed = [m for i in open_contracts for m in self.memberships[i] if m["valid_to"] is None
                  and m["valid_from"] < today]  # fmt: skip
        if len(open_contracts) >= 2 and listed:  # noqa: PLR2004 - a list to leave and one to join
            membership = rng.choice(sorted(listed, key=lambda m: m["id"]))
            target = rng.choice([i for i in open_contracts if i != membership["contract_id"]])
            membership.update(valid_to=today, end_code="BY", updated_on=now)
            new_id = max(m["id"] for ms in self.memberships.values() for m in ms) + 1
            self.memberships[target].append({**membership, "id": new_id, "contract_id": target, "valid_from": today,
                                             "valid_to": None, "begin_code": "BY", "end_code": None})  # fmt: skip
            for contract_id in (membership["contract_id"], target):
                self.contracts[contract_id]["updated_on"] = now
            done["patient_moved"] = [membership["contract_id"], target, new_id]
        return done


def create_app(source: FlrSource, faults: Faults | None = None) -> Any:
    """Return the fake FLR: the read service at `/`, the export service at `/export/` (SOAP 1.1 POSTs)."""
    from starlette.routing import Mount  # noqa: PLC0415

    faults = faults or Faults()
    read = soap.service(READ, source.read_handlers(), faults)
    export = soap.service(EXPORT, source.export_handlers(), faults)
    read.router.routes.insert(0, Mount("/export", export))
    read.state.source = source
    return read

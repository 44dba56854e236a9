"""A fake of HPR's SOAP service (`IHPR2Service`) over the synthetic nation: HentPerson(er), HentRegisterEndringer.

Responses are built by zeep from `hpr.wsdl` itself (the operation's output message), so their shape
is the contract's; tests validate them against the WSDL's schemas. Like the real service, the fake
declares ISO-8859-1 while sending UTF-8 bytes, and answers an unknown number with the SOAP fault
text integrators match ("ArgumentException: HPR-nummer ikke funnet"). HentPersoner answers the
persons it knows among the numbers asked (an unknown number is simply absent from the array).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from lxml import etree
from sqlalchemy import Connection, select
from zeep import Client, Settings

from helsegraf.data import codes
from helsegraf.models.base import table_of
from helsegraf.models.hpr import (
    AdditionalCompetence,
    AdministrativeReaction,
    AlternativeId,
    Approval,
    Condition,
    HealthPersonnel,
    RequisitionRight,
    Speciality,
    Suspension,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from helsegraf.upstream.faults import Faults

WSDL: Final = Path(__file__).with_name("contracts") / "hpr.wsdl"
NAMESPACE: Final = "http://schemas.nhn.no/reg/HPRv2"
NOT_FOUND: Final = "ArgumentException: HPR-nummer ikke funnet"
MAX_PER_PAGE: Final = 1000  # HentRegisterEndringer's resultaterPerSide is capped
# HentPersoner's hprNummer array: the WSDL states no limit (ArrayOfint is unbounded); the fake caps it, as any
# service bounds a request, and refuses more with a fault, so a client must chunk. The adapter stays below it.
MAX_PERSONS: Final = 200
# HPR's quirk: the declaration says ISO-8859-1, the bytes are UTF-8 (integrators report it).
DECLARATION: Final = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n"


@cache
def client() -> Client:
    """Return a zeep client of the HPR contract (loaded once; no network: the WSDL is a local file)."""
    return Client(str(WSDL), settings=Settings(strict=False))  # type: ignore[no-untyped-call]  # zeep ships no types


def _operation(name: str) -> Any:
    service = next(iter(client().wsdl.services.values()))
    port = next(iter(service.ports.values()))
    return port.binding._operations[name]  # noqa: SLF001 - zeep keeps a binding's operations here


def _moment(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def _kode(oid: int | None, value: str | None, text: str | None = None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"Aktiv": True, "Beskrivelse": text, "Kodegruppenavn": None, "OID": oid, "Verdi": value}


def _period(row: Any) -> dict[str, Any]:
    return {"Fra": _moment(row.valid_from), "Til": _moment(row.valid_to)}


def _suspensions(rows: list[Any]) -> dict[str, Any]:
    return {"Suspensjonsperiode": [{"Id": r.id, "Periode": _period(r)} for r in rows]}


def _items(rows: list[Any], oid: int, names: dict[str, str], suspended: dict[int, list[Any]]) -> list[dict[str, Any]]:
    return [
        {
            "AvsluttetStatus": _kode(None, r.closing_status),
            "Gyldig": _period(r),
            "Id": r.id,
            "Suspensjonsperioder": _suspensions(suspended.get(r.id, [])) if suspended is not None else None,
            "Type": _kode(oid, r.code, names.get(r.code)),
        }
        for r in rows
    ]


@dataclass
class _Rows:
    persons: list[Any]
    approvals: dict[int, list[Any]]
    specialities: dict[int, list[Any]]
    rights: dict[int, list[Any]]
    competences: dict[int, list[Any]]
    conditions: dict[int, list[Any]]
    suspensions: dict[int, list[Any]]
    reactions: dict[int, list[Any]]
    alternatives: dict[int, list[Any]]


def _group(rows: list[Any], key: str) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def _load(conn: Connection, hpr_numbers: list[int]) -> _Rows:
    """Read every row of the persons (one statement per table)."""
    person = table_of(HealthPersonnel)
    persons = list(
        conn.execute(select(person).where(person.c.hpr_number.in_(hpr_numbers)).order_by(person.c.hpr_number))
    )
    approval = table_of(Approval)
    approvals = list(
        conn.execute(select(approval).where(approval.c.hpr_number.in_(hpr_numbers)).order_by(approval.c.id))
    )
    ids = [a.id for a in approvals]

    def by_approval(model: Any) -> dict[int, list[Any]]:
        table = model.__table__
        return _group(
            list(conn.execute(select(table).where(table.c.approval_id.in_(ids)).order_by(table.c.id))), "approval_id"
        )

    def by_person(model: Any) -> dict[int, list[Any]]:
        table = model.__table__
        rows = conn.execute(select(table).where(table.c.hpr_number.in_(hpr_numbers)).order_by(table.c.id))
        return _group(list(rows), "hpr_number")

    return _Rows(
        persons, _group(approvals, "hpr_number"), by_approval(Speciality), by_approval(RequisitionRight),
        by_approval(AdditionalCompetence), by_approval(Condition), by_approval(Suspension),
        by_person(AdministrativeReaction), by_person(AlternativeId),
    )  # fmt: skip


def _approval(row: Any, rows: _Rows) -> dict[str, Any]:
    suspensions = rows.suspensions.get(row.id, [])
    whole = [s for s in suspensions if s.speciality_id is None and s.requisition_right_id is None]
    by_speciality = _group([s for s in suspensions if s.speciality_id is not None], "speciality_id")
    by_right = _group([s for s in suspensions if s.requisition_right_id is not None], "requisition_right_id")
    return {
        "AdministrativeReaksjoner": {
            "AdministrativReaksjon": [
                {"Id": r.id, "Periode": _period(r), "Type": _kode(None, r.code, r.text)}
                for r in rows.reactions.get(row.hpr_number, [])
                if r.approval_id == row.id
            ]
        },
        "Autorisasjon": _kode(7704, row.authorization, codes.AUTHORIZATIONS.get(row.authorization)),
        "AvsluttetStatus": _kode(None, row.closing_status, row.closing_status_text),
        "Gyldig": _period(row),
        "Helsepersonellkategori": _kode(9060, row.category, codes.HPR_CATEGORIES.get(row.category)),
        "Id": row.id,
        "Rekvisisjonsretter": {
            "Rekvisisjonsrett": _items(rows.rights.get(row.id, []), 7701, codes.REQUISITION_RIGHTS, by_right)
        },
        "Spesialiteter": {
            "Spesialitet": _items(rows.specialities.get(row.id, []), 7426, codes.SPECIALITIES, by_speciality)
        },
        "Suspensjonsperioder": _suspensions(whole),
        "Tilleggskompetanser": {
            "Tilleggskompetanse": [
                {k: v for k, v in item.items() if k != "Suspensjonsperioder"}
                for item in _items(rows.competences.get(row.id, []), 7702, codes.ADDITIONAL_COMPETENCES, {})
            ]
        },
        "Vilkår": {
            "Vilkår": [
                {"Fritekst": c.free_text, "Id": c.id, "Type": _kode(None, c.code, c.text)}
                for c in rows.conditions.get(row.id, [])
            ]
        },
    }


def _person(row: Any, rows: _Rows) -> dict[str, Any]:
    return {
        "AdministrativeReaksjoner": {
            "AdministrativReaksjon": [
                {"Id": r.id, "Periode": _period(r), "Type": _kode(None, r.code, r.text)}
                for r in rows.reactions.get(row.hpr_number, [])
                if r.approval_id is None
            ]
        },
        "AlternativeIder": {
            "AlternativId": [
                {"Id": a.id, "Type": _kode(8116, a.type, codes.ID_TYPES.get(a.type)), "Verdi": a.value}
                for a in rows.alternatives.get(row.hpr_number, [])
            ]
        },
        "Dødsdato": _moment(row.death_date),
        "ErstattetAvHprNummer": row.replaced_by,
        "Etternavn": row.family_name,
        "Fornavn": row.given_name,
        "Fødselsdato": _moment(row.birth_date),
        "Godkjenninger": {"Godkjenning": [_approval(a, rows) for a in rows.approvals.get(row.hpr_number, [])]},
        "HPRNummer": row.hpr_number,
        "Kjønn": _kode(3101, row.gender, codes.GENDERS.get(row.gender or "")),
        "ManglerNIN": bool(row.lacks_nin),
        "Mellomnavn": row.middle_name,
        "NIN": row.nin,
        "SistOppdatert": row.last_changed,
    }


def _envelope(operation: str, **body: Any) -> bytes:
    message = _operation(operation).output.serialize(**body)
    return DECLARATION + etree.tostring(message.content, encoding="utf-8")


def fault(text: str) -> bytes:
    """Return a SOAP 1.1 fault with the given text, declared and encoded like HPR's."""
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        f'<faultcode>s:Client</faultcode><faultstring xml:lang="nb-NO">{text}</faultstring>'
        "</s:Fault></s:Body></s:Envelope>"
    )
    return DECLARATION + envelope.encode("utf-8")


def hent_person(conn: Connection, hpr_number: int) -> tuple[int, bytes]:
    """Answer HentPerson: (HTTP status, body); an unknown number is HPR's fault text."""
    rows = _load(conn, [hpr_number])
    if not rows.persons:
        return 500, fault(NOT_FOUND)
    return 200, _envelope("HentPerson", HentPersonResult=_person(rows.persons[0], rows))


def hent_personer(conn: Connection, hpr_numbers: list[int]) -> tuple[int, bytes]:
    """Answer HentPersoner: the persons found among the numbers (by HPR number; unknown numbers are left out)."""
    if len(hpr_numbers) > MAX_PERSONS:
        return 500, fault(f"ArgumentException: høyst {MAX_PERSONS} HPR-nummer per kall")
    rows = _load(conn, sorted(set(hpr_numbers)))
    result = {"Person": [_person(p, rows) for p in rows.persons]}
    return 200, _envelope("HentPersoner", HentPersonerResult=result)


def hent_register_endringer(
    conn: Connection, fra: datetime, til: datetime, side: int, per_side: int
) -> tuple[int, bytes]:
    """Answer HentRegisterEndringer: the persons HPR changed in [fra, til), one page, by HPR number."""
    if side < 1 or not 1 <= per_side <= MAX_PER_PAGE:
        return 500, fault(f"ArgumentException: side må være minst 1 og resultaterPerSide mellom 1 og {MAX_PER_PAGE}")
    person = table_of(HealthPersonnel)
    changed = select(person.c.hpr_number).where(person.c.last_changed >= fra, person.c.last_changed < til)
    numbers = [row.hpr_number for row in conn.execute(changed.order_by(person.c.hpr_number))]
    page = numbers[(side - 1) * per_side : side * per_side]
    rows = _load(conn, page)
    result = {
        "Personer": {"Person": [_person(p, rows) for p in rows.persons]},
        "ResultaterPerSide": per_side,
        "ResultaterTotalt": len(numbers),
        "Side": side,
    }
    return 200, _envelope("HentRegisterEndringer", HentRegisterEndringerResult=result)


# -- the fake as a service -------------------------------------------------------------------------

SOAP_NS: Final = "{http://schemas.xmlsoap.org/soap/envelope/}"
SAFE_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
OPERATIONS: Final = ("HentPerson", "HentPersoner", "HentRegisterEndringer")


class HprSource:
    """The nation's health personnel as HPR holds them (its rows in a private in-memory database).

    `hent_person`, `hent_personer` and `hent_register_endringer` answer from these rows; `day_of_changes` changes
    them as HPR's case workers would: a suspension, and two HPR numbers merged (SlåSammen).
    """

    def __init__(self, world: Any) -> None:
        from sqlalchemy import create_engine  # noqa: PLC0415
        from sqlalchemy.pool import StaticPool  # noqa: PLC0415

        from helsegraf.models import METADATA  # noqa: PLC0415

        self.as_of: date = world.as_of
        self.engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        metadata = METADATA["hpr"]
        metadata.create_all(self.engine, tables=[t for n, t in metadata.tables.items() if "_sync_" not in n])
        with self.engine.begin() as conn:
            for name, table in world.tables.items():
                if name.startswith("hpr_") and table.rows:
                    target = metadata.tables[name]
                    conn.execute(target.insert(), [dict(zip(table.columns, row, strict=True)) for row in table.rows])
        self.day = 0

    def answer(self, operation: str, request: Any) -> tuple[int, bytes]:
        """Answer one operation's deserialised request."""
        with self.engine.connect() as conn:
            if operation == "HentPerson":
                return hent_person(conn, int(request.hprNummer))
            if operation == "HentPersoner":
                asked = request.hprNummer
                return hent_personer(conn, [int(n) for n in (asked.int if asked is not None else None) or []])
            return hent_register_endringer(conn, request.fra, request.til, int(request.side),
                                           int(request.resultaterPerSide))  # fmt: skip

    def day_of_changes(self, rng: Any, scale: int = 1) -> dict[str, list[int]]:
        """Append a day: approvals suspended, two numbers merged; every change stamped at the same second."""
        from datetime import timedelta  # noqa: PLC0415

        from sqlalchemy import func, update  # noqa: PLC0415

        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 10, tzinfo=UTC)
        person, approval, suspension = table_of(HealthPersonnel), table_of(Approval), table_of(Suspension)
        done: dict[str, list[int]] = {"suspended": [], "merged": []}
        with self.engine.begin() as conn:
            suspended = select(suspension.c.approval_id).where(suspension.c.valid_to.is_(None))
            candidates = conn.execute(
                select(approval.c.id, approval.c.hpr_number)
                .join(person, person.c.hpr_number == approval.c.hpr_number)
                .where(approval.c.valid_to.is_(None), approval.c.id.not_in(suspended), person.c.replaced_by.is_(None),
                       person.c.death_date.is_(None))
                .order_by(approval.c.id)
            ).all()  # fmt: skip
            next_id = (conn.execute(select(func.max(suspension.c.id))).scalar() or 0) + 1
            for approval_id, hpr_number in rng.sample(candidates, min(len(candidates), scale)):
                conn.execute(suspension.insert().values(id=next_id, approval_id=approval_id, valid_from=today,
                                                        valid_to=None, speciality_id=None,
                                                        requisition_right_id=None))  # fmt: skip
                next_id += 1
                conn.execute(update(person).where(person.c.hpr_number == hpr_number).values(last_changed=now))
                done["suspended"].append(hpr_number)
            pointed_at = select(person.c.replaced_by).where(person.c.replaced_by.is_not(None))
            free = conn.execute(
                select(person.c.hpr_number)
                .where(person.c.replaced_by.is_(None), person.c.hpr_number.not_in(pointed_at),
                       person.c.hpr_number.not_in(done["suspended"]))
                .order_by(person.c.hpr_number)
            ).scalars().all()  # fmt: skip
            if len(free) >= 2:  # noqa: PLR2004 - a duplicate and the number it is merged into
                old, new = rng.sample(list(free), 2)
                conn.execute(update(person).where(person.c.hpr_number == old).values(replaced_by=new, last_changed=now))
                conn.execute(update(person).where(person.c.hpr_number == new).values(last_changed=now))
                done["merged"] = [old, new]
        return done


def create_app(source: HprSource, faults: Faults | None = None) -> Starlette:
    """Return the fake HPR service (SOAP 1.1 over HTTP POST, the operations of `IHPR2Service` it answers)."""
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    from helsegraf.upstream.faults import Faults  # noqa: PLC0415
    from helsegraf.upstream.soap import body_operation  # noqa: PLC0415

    faults = faults or Faults()
    media = "text/xml; charset=ISO-8859-1"  # HPR's declared charset (the bytes are UTF-8)

    async def endpoint(request: Request) -> Response:
        if (refused := await faults.before(request)) is not None:
            return refused
        try:
            root = etree.fromstring(await request.body(), SAFE_PARSER)
            operation = body_operation(root)
        except (etree.XMLSyntaxError, TypeError, IndexError):
            return Response(fault("Message is not a SOAP envelope"), 400, media_type=media)
        if operation not in OPERATIONS:
            return Response(fault(f"ActionNotSupported: {operation[:60]}"), 500, media_type=media)
        try:
            parsed = _operation(operation).input.deserialize(root)
        except Exception:  # noqa: BLE001 - zeep raises many kinds; any is the caller's malformed request
            return Response(fault("The request does not match the operation's message"), 400, media_type=media)
        status, body = source.answer(operation, parsed)
        return Response(body, status, media_type=media)

    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])
    app.state.source, app.state.faults = source, faults
    return app

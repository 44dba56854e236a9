"""HPR's SOAP contract read into the register's rows: HentRegisterEndringer for what changed, HentPersoner for them.

zeep parses the responses against `hpr.wsdl` (the same client the fake uses to build them). HPR's
known quirks are handled here, each with a test: the XML declares ISO-8859-1 but the bytes are
UTF-8; open periods may come as a sentinel date (year 1 or 9999) instead of nil; "not found" is a
SOAP fault whose text must be matched.

`changed_numbers(body)` reads a HentRegisterEndringer page (the persons it carries and the total),
`person_rows(body)` reads a HentPerson answer into one row set per table, keyed like the models,
`persons_rows(body)` a HentPersoner answer into one such set per person it returns;
`apply_person(conn, rows)` replaces the person's rows in one transaction.

`HprAdapter` follows HPR for the sync engine. HPR's change feed is a time window, not a sequence:
`HentRegisterEndringer(fra, til, side, resultaterPerSide)` names the persons changed in
`[fra, til)`, paged by `side`. The feed's position is therefore a time, in whole seconds since
1970: position P means every change stamped before second P has been applied. A changed person's
entry has the position "its SistOppdatert's second + 1", pages are cut only between seconds (all
persons changed in one second are applied together), and `HentPersoner` fetches the changed persons,
`persons_per_call` numbers a call, `concurrency` calls in flight (one `HentPerson` a person took a
round trip each: ~57 persons/s).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import httpx
from lxml import etree
from sqlalchemy import Connection, delete, insert, select

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
from helsegraf.sync.engine import Batch, Entry, RetryableError, SyncError, check
from helsegraf.sync.window import WindowAdapter, position_of
from helsegraf.upstream.hpr import MAX_PER_PAGE, MAX_PERSONS, NOT_FOUND, _operation

DECLARED_LATIN1: Final = re.compile(rb"^(\s*<\?xml[^>]*encoding=)(['\"])(ISO-8859-1|iso-8859-1|latin-1)\2", re.ASCII)
SENTINEL_YEARS: Final = frozenset({1, 9999})
PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
SOAP: Final = "{http://schemas.xmlsoap.org/soap/envelope/}"


class HprNotFoundError(LookupError):
    """HPR answered that the HPR number is unknown (its fault text; the number is not repeated)."""


class HprFaultError(RuntimeError):
    """HPR answered with another SOAP fault."""


def decode(body: bytes) -> bytes:
    """Return the body with a truthful declaration: HPR declares ISO-8859-1 but sends UTF-8.

    Bytes that are valid UTF-8 are UTF-8 (Latin-1 text with any letter beyond ASCII is almost never
    valid UTF-8); genuinely Latin-1 bodies are left as declared.
    """
    match = DECLARED_LATIN1.match(body)
    if match is None:
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    return body[: match.start(3)] + b"UTF-8" + body[match.end(3) :]


def _envelope(body: bytes) -> Any:
    root = etree.fromstring(decode(body), PARSER)
    fault = root.find(f"{SOAP}Body/{SOAP}Fault")
    if fault is not None:
        text = (fault.findtext("faultstring") or "").strip()
        if NOT_FOUND.lower() in text.lower():
            raise HprNotFoundError("HPR: HPR-nummer ikke funnet")
        raise HprFaultError(f"HPR answered with a fault: {text[:200]}")
    return root


def _day(value: datetime | None) -> date | None:
    """Return a period's day, or None for nil and for HPR's sentinel dates (year 1 or 9999)."""
    if value is None or value.year in SENTINEL_YEARS:
        return None
    return value.date()


def _moment(value: datetime | None) -> datetime | None:
    if value is None or value.year in SENTINEL_YEARS:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _verdi(kode: Any) -> str | None:
    return None if kode is None else kode.Verdi


def _list(container: Any, name: str) -> list[Any]:
    return list(getattr(container, name, None) or []) if container is not None else []


@dataclass
class PersonRows:
    """One HPR person as rows of the register's tables."""

    hpr_number: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _validity(period: Any) -> dict[str, Any]:
    return {"valid_from": _day(period.Fra) if period else None, "valid_to": _day(period.Til) if period else None}


def person_rows(body: bytes) -> PersonRows:
    """Read a HentPerson answer into rows; raise HprNotFoundError for HPR's not-found fault."""
    result = _operation("HentPerson").output.deserialize(_envelope(body))
    return _rows(result)


def persons_rows(body: bytes) -> list[PersonRows]:
    """Read a HentPersoner answer: the rows of each person it returns (an unknown number is absent, not a fault)."""
    result = _operation("HentPersoner").output.deserialize(_envelope(body))
    # zeep unwraps ArrayOfPerson (one repeated child) into a list; an empty array reads as None.
    persons = result if isinstance(result, list) else _list(result, "Person")
    return [_rows(p) for p in persons if p is not None]


def changed_numbers(body: bytes) -> tuple[list[PersonRows], int]:
    """Read a HentRegisterEndringer page: the changed persons' rows and how many changed in all."""
    result = _operation("HentRegisterEndringer").output.deserialize(_envelope(body))
    persons = _list(result.Personer, "Person")
    return [_rows(p) for p in persons], int(result.ResultaterTotalt or 0)


def _rows(person: Any) -> PersonRows:
    rows = PersonRows(person.HPRNummer)
    t = rows.tables = {name: [] for name in (
        "hpr_person", "hpr_approval", "hpr_speciality", "hpr_requisition_right", "hpr_suspension",
        "hpr_additional_competence", "hpr_condition", "hpr_administrative_reaction", "hpr_alternative_id",
    )}  # fmt: skip
    t["hpr_person"].append({
        "hpr_number": person.HPRNummer, "nin": person.NIN or None, "given_name": person.Fornavn,
        "middle_name": person.Mellomnavn, "family_name": person.Etternavn, "birth_date": _day(person.Fødselsdato),
        "lacks_nin": bool(person.ManglerNIN), "death_date": _day(person.Dødsdato), "gender": _verdi(person.Kjønn),
        "last_changed": _moment(person.SistOppdatert), "replaced_by": person.ErstattetAvHprNummer,
    })  # fmt: skip
    for alternative in _list(person.AlternativeIder, "AlternativId"):
        t["hpr_alternative_id"].append({"id": alternative.Id, "hpr_number": person.HPRNummer,
                                        "type": _verdi(alternative.Type), "value": alternative.Verdi})  # fmt: skip
    for reaction in _list(person.AdministrativeReaksjoner, "AdministrativReaksjon"):
        t["hpr_administrative_reaction"].append({
            "id": reaction.Id, "hpr_number": person.HPRNummer, "approval_id": None, "code": _verdi(reaction.Type),
            "text": reaction.Type.Beskrivelse if reaction.Type else None, **_validity(reaction.Periode),
        })  # fmt: skip
    for approval in _list(person.Godkjenninger, "Godkjenning"):
        _approval_rows(t, person.HPRNummer, approval)
    return rows


def _approval_rows(t: dict[str, list[dict[str, Any]]], hpr_number: int, approval: Any) -> None:
    closing = approval.AvsluttetStatus
    t["hpr_approval"].append({
        "id": approval.Id, "hpr_number": hpr_number, "category": _verdi(approval.Helsepersonellkategori),
        "authorization": _verdi(approval.Autorisasjon), "closing_status": _verdi(closing),
        "closing_status_text": closing.Beskrivelse if closing else None, **_validity(approval.Gyldig),
    })  # fmt: skip
    for reaction in _list(approval.AdministrativeReaksjoner, "AdministrativReaksjon"):
        t["hpr_administrative_reaction"].append({
            "id": reaction.Id, "hpr_number": hpr_number, "approval_id": approval.Id, "code": _verdi(reaction.Type),
            "text": reaction.Type.Beskrivelse if reaction.Type else None, **_validity(reaction.Periode),
        })  # fmt: skip
    for period in _list(approval.Suspensjonsperioder, "Suspensjonsperiode"):
        t["hpr_suspension"].append({"id": period.Id, "approval_id": approval.Id, "speciality_id": None,
                                    "requisition_right_id": None, **_validity(period.Periode)})  # fmt: skip
    for table, container, name, column in (
        ("hpr_speciality", approval.Spesialiteter, "Spesialitet", "speciality_id"),
        ("hpr_requisition_right", approval.Rekvisisjonsretter, "Rekvisisjonsrett", "requisition_right_id"),
    ):
        for item in _list(container, name):
            t[table].append({"id": item.Id, "approval_id": approval.Id, "code": _verdi(item.Type),
                             "closing_status": _verdi(item.AvsluttetStatus), **_validity(item.Gyldig)})  # fmt: skip
            for period in _list(item.Suspensjonsperioder, "Suspensjonsperiode"):
                other = "requisition_right_id" if column == "speciality_id" else "speciality_id"
                t["hpr_suspension"].append({"id": period.Id, "approval_id": approval.Id, column: item.Id,
                                            other: None, **_validity(period.Periode)})  # fmt: skip
    for item in _list(approval.Tilleggskompetanser, "Tilleggskompetanse"):
        t["hpr_additional_competence"].append({"id": item.Id, "approval_id": approval.Id, "code": _verdi(item.Type),
                                               "closing_status": _verdi(item.AvsluttetStatus),
                                               **_validity(item.Gyldig)})  # fmt: skip
    for condition in _list(approval.Vilkår, "Vilkår"):
        t["hpr_condition"].append({"id": condition.Id, "approval_id": approval.Id, "code": _verdi(condition.Type),
                                   "text": condition.Type.Beskrivelse if condition.Type else None,
                                   "free_text": condition.Fritekst})  # fmt: skip


MODELS: Final = {
    "hpr_person": HealthPersonnel, "hpr_approval": Approval, "hpr_speciality": Speciality,
    "hpr_requisition_right": RequisitionRight, "hpr_suspension": Suspension,
    "hpr_additional_competence": AdditionalCompetence, "hpr_condition": Condition,
    "hpr_administrative_reaction": AdministrativeReaction, "hpr_alternative_id": AlternativeId,
}  # fmt: skip


def apply_person(conn: Connection, rows: PersonRows) -> None:
    """Replace one person's rows inside the caller's transaction (children go with the person: ON DELETE CASCADE)."""
    person = table_of(HealthPersonnel)
    approval = table_of(Approval)
    stored = conn.execute(select(approval.c.id).where(approval.c.hpr_number == rows.hpr_number)).scalars().all()
    approval_ids = sorted({a["id"] for a in rows.tables["hpr_approval"]} | set(stored))
    for name in ("hpr_suspension", "hpr_speciality", "hpr_requisition_right", "hpr_additional_competence",
                 "hpr_condition"):  # fmt: skip
        table = table_of(MODELS[name])
        conn.execute(delete(table).where(table.c.approval_id.in_(approval_ids)))
    for name in ("hpr_approval", "hpr_administrative_reaction", "hpr_alternative_id"):
        table = table_of(MODELS[name])
        conn.execute(delete(table).where(table.c.hpr_number == rows.hpr_number))
    conn.execute(delete(person).where(person.c.hpr_number == rows.hpr_number))
    for name, model in MODELS.items():
        if rows.tables[name]:
            conn.execute(insert(table_of(model)), rows.tables[name])


# -- following HPR -------------------------------------------------------------------------------

# `til` of every window: HPR answers up to its newest change, whatever the two clocks say.
FAR: Final = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class HprSource:
    """Where HPR's SOAP service is, and its credentials (HTTP basic, as NHN issues them; repr hides the password)."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


class HprAdapter(WindowAdapter):
    """HPR's register changes (HentRegisterEndringer) and persons (HentPersoner) into the HPR database."""

    register = "hpr"
    feeds = ("changes",)
    page_size = 500  # persons per batch (cut between seconds, so a batch may hold a few more)
    overlap_s = 300  # read five minutes before the cursor again: a change stamped then may show late
    # HentPersoner's numbers per call: the WSDL states no limit; capped at the fake's MAX_PERSONS (200) and kept
    # at 100 so one answer stays ~200 kB (the fake's persons average ~2.1 kB of XML each).
    persons_per_call = 100

    def __init__(self, source: HprSource, concurrency: int = 4) -> None:
        self.url = source.url
        self.auth = httpx.BasicAuth(source.username, source.password or "") if source.username else None
        self.concurrency = concurrency

    def contiguous(self, feed: str, after: int) -> bool:
        """Positions are seconds: holes between them are quiet seconds, not lost changes."""
        del feed, after
        return False

    async def _post(self, client: httpx.AsyncClient, operation: str, **arguments: Any) -> httpx.Response:
        message = _operation(operation).input.serialize(**arguments)
        body = etree.tostring(message.content, xml_declaration=True, encoding="utf-8")
        headers = {**message.headers, "Content-Type": "text/xml; charset=utf-8"}
        if self.auth is not None:
            return await client.post(self.url, content=body, headers=headers, auth=self.auth)
        return await client.post(self.url, content=body, headers=headers)

    async def changed(self, client: httpx.AsyncClient, feed: str, since: datetime, after: int) -> list[Entry]:
        """Return every person HPR changed since the moment, one entry each."""
        del feed, after
        entries: list[Entry] = []
        side = 1
        while True:
            response = await self._post(client, "HentRegisterEndringer", fra=since, til=FAR, side=side,
                                        resultaterPerSide=MAX_PER_PAGE)  # fmt: skip
            if response.status_code != 500 or b"Fault>" not in response.content:  # noqa: PLR2004 - a SOAP fault
                check(response, "HentRegisterEndringer")
            try:
                persons, total = changed_numbers(response.content)
            except (HprFaultError, HprNotFoundError) as exc:
                raise SyncError(f"hpr: HentRegisterEndringer refused: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - an answer that does not parse may parse on a retry
                raise RetryableError(
                    f"HentRegisterEndringer page {side}: unreadable ({exc.__class__.__name__})"
                ) from None
            for person in persons:
                stamp = person.tables["hpr_person"][0]["last_changed"] or since
                entries.append(Entry(position_of(stamp), f"{person.hpr_number:012d}", "changed", stamp))
            if not persons or side * MAX_PER_PAGE >= total:
                break
            side += 1
        return entries

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Fetch the changed persons with HentPersoner, `persons_per_call` numbers a call, `concurrency` in flight.

        A number the answer leaves out is skipped with that reason (as HentPerson's not-found fault is). A call
        whose answer is a fault or unreadable is asked again one number at a time with HentPerson, so one bad
        number costs only its own person, each with its reason.
        """
        limit = asyncio.Semaphore(self.concurrency)
        size = max(1, min(self.persons_per_call, MAX_PERSONS))
        entries = batch.entries
        await asyncio.gather(*(self._chunk(client, batch, limit, entries[i : i + size])
                               for i in range(0, len(entries), size)))  # fmt: skip

    async def _chunk(
        self, client: httpx.AsyncClient, batch: Batch, limit: asyncio.Semaphore, part: list[Entry]
    ) -> None:
        numbers = sorted({int(e.key) for e in part})
        async with limit:
            response = await self._post(client, "HentPersoner", hprNummer={"int": numbers}, medAdresser=False,
                                        påTidspunkt=None)  # fmt: skip
        if response.status_code != 500 or b"Fault>" not in response.content:  # noqa: PLR2004 - a SOAP fault
            check(response, "HentPersoner")
        try:
            found = {p.hpr_number: p for p in persons_rows(response.content)}
        except Exception:  # noqa: BLE001 - a fault or an unreadable answer: each number on its own
            await asyncio.gather(*(self._one(client, batch, limit, e) for e in part))
            return
        for entry in part:
            rows = found.get(int(entry.key))
            if rows is None:
                batch.skipped[entry.position] = "HPR number not returned by HentPersoner"
            else:
                batch.documents[entry.key] = rows

    async def _one(self, client: httpx.AsyncClient, batch: Batch, limit: asyncio.Semaphore, entry: Entry) -> None:
        async with limit:
            response = await self._post(client, "HentPerson", hprNummer=int(entry.key), påTidspunkt=None)
        if response.status_code != 500 or b"Fault>" not in response.content:  # noqa: PLR2004 - a SOAP fault
            check(response, "HentPerson")
        try:
            batch.documents[entry.key] = person_rows(response.content)
        except HprNotFoundError:
            batch.skipped[entry.position] = "HPR number not found by HentPerson"
        except HprFaultError:
            batch.skipped[entry.position] = "HentPerson answered with a fault"
        except Exception as exc:  # noqa: BLE001 - a malformed answer is recorded, by type only
            batch.skipped[entry.position] = f"malformed HentPerson answer ({exc.__class__.__name__})"

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Replace each changed person's rows."""
        written = 0
        for entry in batch.entries:
            rows = batch.documents.get(entry.key)
            if rows is not None:
                apply_person(conn, rows)
                written += 1
        return written

"""Kodeverk versions: a volven-style export reworded, loaded, and read through the graph with references intact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, text

from helsegraf.config import Settings
from helsegraf.http.app import create_app
from helsegraf.migrate import _config, upgrade
from helsegraf.sync.kodeverk import ExportError, apply_export, parse_export

EXPORT = """<?xml version="1.0" encoding="utf-8"?>
<Kodeverk xmlns="urn:example:volven"><OID>7701</OID><Navn>rekvisisjonsrett</Navn>
  <Beskrivelse>Rekvisisjonsrett (requisition right)</Beskrivelse><Versjon>{version}</Versjon>
  <Kode><Verdi>1</Verdi><Tekst>{text}</Tekst><Aktiv>true</Aktiv><GyldigFra>2001-01-01</GyldigFra></Kode>
  {more}
</Kodeverk>"""


def _export(version: str, text_1: str, more: str = "") -> bytes:
    return EXPORT.format(version=version, text=text_1, more=more).encode()


def test_a_reworded_code_keeps_its_references_and_its_old_text(empty_database_url: str) -> None:
    upgrade(Settings(database_url=empty_database_url))
    engine = create_engine(empty_database_url)
    first = parse_export(
        _export("1.0", "Full rekvisisjonsrett", "<Kode><Verdi>2</Verdi><Tekst>Begrenset</Tekst></Kode>")
    )
    second = parse_export(_export("2.0", "Full rekvisisjonsrett for legemidler"))
    at = datetime(2026, 6, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            loaded = apply_export(conn, first, at)
        with engine.begin() as conn:
            reworded = apply_export(conn, second, at)
        with engine.begin() as conn:
            again = apply_export(conn, second, at)
        with engine.connect() as conn:
            codes = conn.execute(text("SELECT value, text, active, version FROM kodeverk_code "
                                      "WHERE system_oid = '7701' ORDER BY value")).all()  # fmt: skip
            versions = conn.execute(text("SELECT value, version, text FROM kodeverk_code_version "
                                         "WHERE system_oid = '7701' ORDER BY value, version")).all()  # fmt: skip
            system = conn.execute(text("SELECT version FROM kodeverk_code_system WHERE oid = '7701'")).scalar_one()
    finally:
        engine.dispose()

    assert loaded == {"added": 2, "reworded": 0, "unchanged": 0, "retired": 0}
    assert reworded == {"added": 0, "reworded": 1, "unchanged": 0, "retired": 1}
    assert again == {"added": 0, "reworded": 0, "unchanged": 1, "retired": 0}
    assert [tuple(c) for c in codes] == [
        ("1", "Full rekvisisjonsrett for legemidler", True, "2.0"),
        ("2", "Begrenset", False, "1.0"),  # no longer listed: kept, inactive, still resolvable
    ]
    assert [tuple(v) for v in versions] == [
        ("1", "1.0", "Full rekvisisjonsrett"),
        ("1", "2.0", "Full rekvisisjonsrett for legemidler"),
        ("2", "1.0", "Begrenset"),
    ]
    assert system == "2.0"


async def test_the_graph_prints_the_new_text_and_the_history(nation, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'kodeverk.db'}"
    settings = replace(nation.settings, register_urls={**nation.settings.register_urls, "kodeverk": url})
    upgrade(Settings(database_url=url))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            apply_export(conn, parse_export(_export("1.0", "Full rekvisisjonsrett")), datetime(2026, 1, 1, tzinfo=UTC))
        with engine.begin() as conn:
            apply_export(conn, parse_export(_export("2.0", "Full rett")), datetime(2026, 2, 1, tzinfo=UTC))
    finally:
        engine.dispose()
    app = create_app(replace(settings, debug=True))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post(
            "/graphql",
            json={"query": '{ codes(system: "7701") { system code text version history { version text } } }'},
        )
    await app.state.db.dispose()

    assert response.json()["data"]["codes"] == [
        {"system": "7701", "code": "1", "text": "Full rett", "version": "2.0",
         "history": [{"version": "1.0", "text": "Full rekvisisjonsrett"}, {"version": "2.0", "text": "Full rett"}]}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<Kodeverk><OID>77x1</OID><Versjon>1</Versjon></Kodeverk>", "OID"),
        (b"<Other/>", "root element"),
        (b"<Kodeverk><OID>7701</OID><Versjon>1</Versjon><Kode><Verdi>1</Verdi></Kode></Kodeverk>", "no Tekst"),
        (
            (
                b"<Kodeverk><OID>7701</OID><Versjon>1</Versjon><Kode><Verdi>1</Verdi><Tekst>a</Tekst>"
                b"<GyldigFra>gisteren</GyldigFra></Kode></Kodeverk>"
            ),
            "not a date",
        ),
        (b"<Kodeverk><OID>7701", "well-formed"),
        (
            (
                b'<!DOCTYPE k [<!ENTITY x SYSTEM "file:///etc/passwd">]><Kodeverk><OID>7701</OID><Versjon>1</Versjon>'
                b"<Kode><Verdi>1</Verdi><Tekst>&x;</Tekst></Kode></Kodeverk>"
            ),
            "",
        ),
    ],
)
def test_a_bad_export_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    if not reason:  # an external entity is never resolved: the text stays empty, so the code is refused
        with pytest.raises(ExportError, match="no Verdi or no Tekst"):
            parse_export(data)
        return
    with pytest.raises(ExportError, match=reason):
        parse_export(data)


def test_the_migration_refiles_requisition_rights_from_7702_to_7701(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            config = _config("kodeverk")
            config.attributes["connection"] = conn
            command.upgrade(config, "kodeverk_0001")
            conn.execute(text("INSERT INTO kodeverk_code_system VALUES ('7702', 'rekvisisjonsrett', 'old')"))
            conn.execute(text("INSERT INTO kodeverk_code VALUES ('7702', '1', 'Full rekvisisjonsrett', true)"))
            command.upgrade(config, "kodeverk_0002")
        with engine.connect() as conn:
            systems = conn.execute(text("SELECT oid, name FROM kodeverk_code_system")).all()
            codes = conn.execute(text("SELECT system_oid, value FROM kodeverk_code")).all()
    finally:
        engine.dispose()

    assert [tuple(s) for s in systems] == [("7701", "rekvisisjonsrett")]
    assert [tuple(c) for c in codes] == [("7701", "1")]

"""`helsegraf seed` and `helsegraf sample` as a user runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from helsegraf.cli import app
from helsegraf.models import ar, bed, flr, hpr, preg, resh

runner = CliRunner()
CONTRACT_SAMPLE_KEYS = {
    "personWithGp", "childWithParent", "protectedAddressPerson", "deceasedPerson", "gpHprNumber",
    "suspendedHprNumber", "gpContractId", "municipalityWithOpenLists", "officeOrgNumber",
    "reshIdWithParentHistory", "gpHerId",
}  # fmt: skip


def test_seed_loads_a_nation_and_refuses_to_seed_it_twice(empty_database_url: str) -> None:
    first = runner.invoke(app, ["seed", "--database-url", empty_database_url, "--persons", "1500", "--seed", "3"])
    again = runner.invoke(app, ["seed", "--database-url", empty_database_url, "--persons", "1500"])
    reset = runner.invoke(app, ["seed", "--database-url", empty_database_url, "--persons", "1200", "--reset"])

    assert first.exit_code == 0, first.output
    assert "preg_person" in first.output
    assert "1,500" in first.output
    assert again.exit_code == 2
    assert "already holds a nation" in again.output
    assert "--reset" in again.output
    assert "Traceback" not in again.output
    assert reset.exit_code == 0, reset.output
    sample = runner.invoke(app, ["sample", "--database-url", empty_database_url])
    assert sample.exit_code == 0, sample.output
    assert set(json.loads(sample.stdout)) >= CONTRACT_SAMPLE_KEYS


def test_seed_reports_an_unreachable_database_without_a_trace() -> None:
    result = runner.invoke(
        app, ["seed", "--database-url", "postgresql://postgres@127.0.0.1:9/nowhere", "--persons", "10"]
    )

    assert result.exit_code == 2
    assert "database error" in result.output
    assert "Traceback" not in result.output


def test_seed_rejects_a_bad_reference_date(tmp_path) -> None:
    result = runner.invoke(app, ["seed", "--database-url", f"sqlite:///{tmp_path}/x.db", "--as-of", "2026-13-01"])

    assert result.exit_code == 2
    assert "--as-of must be an ISO date" in result.output


def test_sample_on_an_empty_database_says_to_seed() -> None:
    with_nothing = runner.invoke(app, ["sample", "--database-url", "sqlite:///:memory:"])

    assert with_nothing.exit_code == 2
    assert "seed" in with_nothing.output


def test_the_database_holds_what_was_generated_and_references_resolve(nation) -> None:
    engine = nation.engine()
    try:
        with engine.connect() as conn:
            counts = {
                name: conn.execute(select(func.count()).select_from(text(name))).scalar_one()
                for name in nation.world.tables
            }
            persons = set(conn.execute(select(preg.Person.nin)).scalars())
            member_nins = set(conn.execute(select(flr.ListMembership.nin)).scalars())
            period_hprs = set(conn.execute(select(flr.GpPeriod.hpr_number)).scalars())
            hpr_numbers = set(conn.execute(select(hpr.HealthPersonnel.hpr_number)).scalars())
            offices = set(conn.execute(select(flr.GpContract.office_org_number)).scalars())
            orgs = set(conn.execute(select(bed.Organization.org_number)).scalars())
            org_parties = set(conn.execute(select(ar.CommunicationParty.org_number)).scalars())
            moved = conn.execute(
                select(resh.ParentLink.resh_id).group_by(resh.ParentLink.resh_id).having(func.count() > 1)
            ).all()
    finally:
        engine.dispose()

    assert counts == {name: len(table.rows) for name, table in nation.world.tables.items()}
    assert member_nins <= persons
    assert period_hprs <= hpr_numbers
    assert offices <= orgs
    assert offices <= org_parties
    assert moved
    assert set(nation.samples) >= CONTRACT_SAMPLE_KEYS
    assert all(nation.samples[key] is not None for key in CONTRACT_SAMPLE_KEYS)

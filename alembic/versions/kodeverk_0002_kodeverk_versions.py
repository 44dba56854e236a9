"""kodeverk: versions of code systems and of each code's text; requisition rights under 7701

A code system records the export version last loaded; a code its validity and the version that
gave its current text; `kodeverk_code_version` keeps each version's text, so a reworded code keeps
its references (they are by system and value). Requisition rights were filed under OID 7702 (which
is special competence, tilleggskompetanse); they move to 7701, where HPR codes them.

Revision ID: kodeverk_0002
Revises: kodeverk_0001
Create Date: 2026-12-02 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kodeverk_0002"
down_revision: str | Sequence[str] | None = "kodeverk_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("kodeverk_code_system") as batch:
        batch.add_column(sa.Column("version", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("last_changed", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("kodeverk_code") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("version", sa.String(length=40), nullable=True))
    op.create_table(
        "kodeverk_code_version",
        sa.Column("system_oid", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_oid", "value"],
            ["kodeverk_code.system_oid", "kodeverk_code.value"],
            name=op.f("fk_kodeverk_code_version_system_oid_kodeverk_code"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_oid", "value", "version", name=op.f("pk_kodeverk_code_version")),
    )
    _move_requisition_rights("7702", "7701")


def _move_requisition_rights(old: str, new: str) -> None:
    """Refile the rekvisisjonsrett system and its codes from one OID to another (a no-op when absent)."""
    bind = op.get_bind()
    system = sa.table("kodeverk_code_system", sa.column("oid"), sa.column("name"), sa.column("description"))
    code = sa.table(
        "kodeverk_code", sa.column("system_oid"), sa.column("value"), sa.column("text"), sa.column("active")
    )
    found = bind.execute(sa.select(system).where(system.c.oid == old, system.c.name == "rekvisisjonsrett")).first()
    if found is None or bind.execute(sa.select(system.c.oid).where(system.c.oid == new)).first() is not None:
        return
    bind.execute(sa.insert(system).values(oid=new, name="rekvisisjonsrett-ny", description=found.description))
    rows = bind.execute(sa.select(code).where(code.c.system_oid == old)).all()
    if rows:
        bind.execute(
            sa.insert(code), [{"system_oid": new, "value": r.value, "text": r.text, "active": r.active} for r in rows]
        )
    bind.execute(sa.delete(code).where(code.c.system_oid == old))
    bind.execute(sa.delete(system).where(system.c.oid == old))
    bind.execute(sa.update(system).where(system.c.oid == new).values(name="rekvisisjonsrett"))


def downgrade() -> None:
    """Revert this revision."""
    _move_requisition_rights("7701", "7702")
    op.drop_table("kodeverk_code_version")
    with op.batch_alter_table("kodeverk_code") as batch:
        batch.drop_column("version")
        batch.drop_column("valid_to")
        batch.drop_column("valid_from")
    with op.batch_alter_table("kodeverk_code_system") as batch:
        batch.drop_column("last_changed")
        batch.drop_column("version")

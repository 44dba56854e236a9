"""preg: holders of parental responsibility and guardians without a Norwegian identification number

Persontjenesten carries a holder of parental responsibility, a child or a guardian who has no
Norwegian identification number by name, birth date, gender and citizenship instead
(`responsibleWithoutIdentifier`, `subjectOfResponsibilityWithoutIdentifier`, a guardian's `name`
and `guardianInformation`). Two tables hold them, keyed by the document's person and the entry's
place in the document. A guardianship also says whether it covers personal matters
(`isGuardianshipInPersonalScope`).

Revision ID: preg_0005
Revises: preg_0004
Create Date: 2026-12-03 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "preg_0005"
down_revision: str | Sequence[str] | None = "preg_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _person_columns() -> list[sa.Column]:
    return [
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=6), nullable=True),
        sa.Column("citizenship", sa.String(length=60), nullable=True),
    ]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "preg_responsibility_without_id",
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=11), nullable=False),
        sa.Column("responsibility_type", sa.String(length=10), nullable=False),
        *_person_columns(),
        sa.PrimaryKeyConstraint("nin", "position", name=op.f("pk_preg_responsibility_without_id")),
    )
    op.create_table(
        "preg_guardian_without_id",
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("guardianship_type", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=True),
        sa.Column("in_personal_scope", sa.Boolean(), nullable=True),
        *_person_columns(),
        sa.PrimaryKeyConstraint("nin", "position", name=op.f("pk_preg_guardian_without_id")),
    )
    with op.batch_alter_table("preg_guardianship") as batch:
        batch.add_column(sa.Column("in_personal_scope", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("preg_guardianship") as batch:
        batch.drop_column("in_personal_scope")
    op.drop_table("preg_guardian_without_id")
    op.drop_table("preg_responsibility_without_id")

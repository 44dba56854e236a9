"""ar: what a party holds in AR's current contract

DisplayName, ParentName, ParentOrganizationNumber, BusinessType and ParentBusinessType (9040),
IsValidCommunicationParty, Valid, LastChanged, a service's code and location; physical addresses
(visit RES, postal PST), certificates for encryption and signing, coverage areas and future
electronic addresses. New columns are nullable: rows from before this revision stay valid.

Revision ID: ar_0002
Revises: ar_0001
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ar_0002"
down_revision: str | Sequence[str] | None = "ar_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTY_COLUMNS = (
    ("display_name", sa.String(length=300)),
    ("parent_name", sa.String(length=200)),
    ("parent_org_number", sa.String(length=9)),
    ("business_type", sa.String(length=8)),
    ("parent_business_type", sa.String(length=8)),
    ("is_valid", sa.Boolean()),
    ("valid_from", sa.Date()),
    ("valid_to", sa.Date()),
    ("last_changed", sa.DateTime(timezone=True)),
    ("service_code", sa.String(length=12)),
    ("service_code_system", sa.String(length=10)),
    ("service_code_text", sa.String(length=200)),
    ("location_description", sa.String(length=200)),
)


def _party_table(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("her_id", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["her_id"],
            ["ar_communication_party.her_id"],
            name=op.f(f"fk_{name}_her_id_ar_communication_party"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_her_id"), name, ["her_id"], unique=False)


TABLES = ("ar_physical_address", "ar_certificate", "ar_coverage_area", "ar_future_electronic_address")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("ar_communication_party") as batch:
        for name, kind in PARTY_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    _party_table(
        "ar_physical_address",
        sa.Column("type", sa.String(length=4), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postbox", sa.String(length=60), nullable=True),
        sa.Column("postal_code", sa.String(length=4), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=True),
    )
    _party_table(
        "ar_certificate",
        sa.Column("usage", sa.String(length=12), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ldap_url", sa.String(length=400), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
    )
    _party_table(
        "ar_coverage_area",
        sa.Column("covered_her_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_number", sa.String(length=9), nullable=True),
        sa.Column("municipality_code", sa.String(length=4), nullable=True),
    )
    _party_table(
        "ar_future_electronic_address",
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Revert this revision."""
    for name in reversed(TABLES):
        op.drop_index(op.f(f"ix_{name}_her_id"), table_name=name)
        op.drop_table(name)
    with op.batch_alter_table("ar_communication_party") as batch:
        for name, _kind in reversed(PARTY_COLUMNS):
            batch.drop_column(name)

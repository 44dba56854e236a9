"""preg: foreign addresses, unknown addresses and a stay elsewhere on the address periods

Persontjenesten's present address (oppholdsadresse) may be an address abroad (`foreignAddress`),
unknown (`isAddressUnknown`) or a stay elsewhere (`stayElsewhere`: Military, Abroad, OnSvalbard,
Commuter); a residential address may be an unknown residence in a municipality (`unknownResidence`);
and a person may have a postal address abroad (`foreignPostalAddress`). The address periods gain
the country code and region of an address abroad, whether the address is unknown and the stay
elsewhere; a foreign post code is longer than a Norwegian postnummer, and the new kind
FOREIGN_POSTAL longer than the old kinds.

Revision ID: preg_0004
Revises: preg_0003
Create Date: 2026-12-03 11:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "preg_0004"
down_revision: str | Sequence[str] | None = "preg_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("preg_address") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=12), type_=sa.String(length=20),
                           existing_nullable=False)  # fmt: skip
        batch.alter_column("postal_code", existing_type=sa.String(length=4), type_=sa.String(length=20),
                           existing_nullable=True)  # fmt: skip
        batch.add_column(sa.Column("country_code", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("region", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("address_unknown", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("stay_elsewhere", sa.String(length=20), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    op.execute("DELETE FROM preg_address WHERE kind = 'FOREIGN_POSTAL' OR country_code IS NOT NULL")
    with op.batch_alter_table("preg_address") as batch:
        batch.drop_column("stay_elsewhere")
        batch.drop_column("address_unknown")
        batch.drop_column("region")
        batch.drop_column("country_code")
        batch.alter_column("postal_code", existing_type=sa.String(length=20), type_=sa.String(length=4),
                           existing_nullable=True)  # fmt: skip
        batch.alter_column("kind", existing_type=sa.String(length=20), type_=sa.String(length=12),
                           existing_nullable=False)  # fmt: skip

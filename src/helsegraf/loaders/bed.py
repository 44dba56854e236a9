"""BED loaders: organisations by number and by parent."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from helsegraf.db import Database
from helsegraf.loaders.base import GroupLoader, RowLoader
from helsegraf.models.bed import Organization
from helsegraf.registers import BED

ORGANIZATION = Organization.__table__
ORGANIZATIONS = select(ORGANIZATION)
ORGANIZATIONS_BY_NUMBER = select(ORGANIZATION).order_by(ORGANIZATION.c.org_number)


class BedLoaders:
    """The BED register's loaders of one request."""

    db: Database

    @cached_property
    def organization_by_number(self) -> RowLoader[str]:
        """OrganizationByOrgNumberLoader: an organisation's row."""
        return RowLoader(self.db, BED, ORGANIZATIONS, ORGANIZATION.c.org_number)

    @cached_property
    def organizations_by_parent(self) -> GroupLoader[str]:
        """OrganizationsByParentLoader: an organisation's underenheter."""
        return GroupLoader(self.db, BED, ORGANIZATIONS_BY_NUMBER, ORGANIZATION.c.parent_org_number)

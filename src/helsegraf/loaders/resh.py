"""RESH loaders: units, parent links in both directions, services, units by organisation."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from helsegraf.db import Database
from helsegraf.loaders.base import GroupLoader, RowLoader
from helsegraf.models.resh import ParentLink, ReshService, ReshUnit
from helsegraf.registers import RESH

UNIT = ReshUnit.__table__
LINK = ParentLink.__table__
SERVICE = ReshService.__table__
UNITS = select(UNIT)
UNITS_BY_ID = select(UNIT).order_by(UNIT.c.resh_id)
LINKS_BY_FROM = select(LINK).order_by(LINK.c.valid_from)
LINKS_BY_CHILD = select(LINK).order_by(LINK.c.resh_id)
SERVICES = select(SERVICE).order_by(SERVICE.c.code)


class ReshLoaders:
    """The RESH register's loaders of one request."""

    db: Database

    @cached_property
    def unit_by_id(self) -> RowLoader[int]:
        """ReshUnitByIdLoader: a unit's row."""
        return RowLoader(self.db, RESH, UNITS, UNIT.c.resh_id)

    @cached_property
    def units_by_org(self) -> GroupLoader[str]:
        """ReshUnitsByOrgNumberLoader: the units registered on an organisation number."""
        return GroupLoader(self.db, RESH, UNITS_BY_ID, UNIT.c.org_number)

    @cached_property
    def parent_links_by_unit(self) -> GroupLoader[int]:
        """ParentLinksByReshIdLoader: a unit's parents over time."""
        return GroupLoader(self.db, RESH, LINKS_BY_FROM, LINK.c.resh_id)

    @cached_property
    def child_links_by_parent(self) -> GroupLoader[int]:
        """ChildLinksByReshIdLoader: the units that had a unit as parent, over time."""
        return GroupLoader(self.db, RESH, LINKS_BY_CHILD, LINK.c.parent_resh_id)

    @cached_property
    def services_by_unit(self) -> GroupLoader[int]:
        """ServicesByReshIdLoader: the service codes of a unit."""
        return GroupLoader(self.db, RESH, SERVICES, SERVICE.c.resh_id)

"""Find real ids in a loaded nation, for `helsegraf sample`, the demo banner and the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, create_engine, func, or_, select

from helsegraf.config import Settings
from helsegraf.models import ar, bed, flr, hpr, preg, resh
from helsegraf.registers import AR, BED, FLR, HPR, PREG, RESH


def _valid_at(table: Any, on: date) -> Any:
    return and_(table.valid_from <= on, or_(table.valid_to.is_(None), table.valid_to > on))


class SampleNotFoundError(LookupError):
    """Raised when the database holds no nation to take samples from."""


@contextmanager
def _connect(settings: Settings, register: str) -> Iterator[Connection]:
    engine = create_engine(settings.url_for(register), hide_parameters=True)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def sample_ids(settings: Settings, today: date) -> dict[str, Any]:
    """Return ids that exercise the graph's main paths, each read from the data."""
    with _connect(settings, FLR) as conn:
        m = flr.ListMembership
        current = conn.execute(
            select(m.nin, m.gp_her_id, m.contract_id).where(_valid_at(m, today), m.gp_her_id.is_not(None)).limit(200)
        ).all()
        if not current:
            msg = "no GP list memberships found: seed the database first (helsegraf seed)"
            raise SampleNotFoundError(msg)
        changed = conn.execute(
            select(m.nin, m.valid_from)
            .where(_valid_at(m, today), m.valid_from > date(2010, 1, 1))
            .where(m.nin.in_(select(m.nin).where(m.valid_to.is_not(None), m.valid_to <= today)))
            .limit(1)
        ).first()
        contract = conn.execute(
            select(flr.GpContract.id, flr.GpContract.office_org_number).where(
                flr.GpContract.id == current[0].contract_id
            )
        ).one()
        g = flr.GpPeriod
        gp_hpr = conn.execute(
            select(g.hpr_number).where(g.relationship == "LPFL", _valid_at(g, today)).limit(1)
        ).scalar()
        c = flr.GpContract
        open_lists = conn.execute(
            select(c.municipality_code, func.count().label("n"))
            .where(c.is_open, _valid_at(c, today))
            .group_by(c.municipality_code)
            .order_by(func.count().desc(), c.municipality_code)
            .limit(1)
        ).first()
    with _connect(settings, PREG) as conn:
        p = preg.Person
        plain = conn.execute(
            select(p.nin)
            .where(
                p.nin.in_([row.nin for row in current]),
                p.status == "RESIDENT",
                p.address_protection == "UGRADERT",
                p.birth_date < today - timedelta(days=18 * 365),
            )
            .order_by(p.nin)
            .limit(1)
        ).scalar()
        r = preg.ParentRelation
        child_born = today - timedelta(days=16 * 365 - 30)
        family = conn.execute(
            select(r.child_nin, r.parent_nin)
            .join(p, p.nin == r.child_nin)
            .where(p.birth_date > child_born, p.status == "RESIDENT", p.address_protection == "UGRADERT")
            .order_by(r.child_nin)
            .limit(1)
        ).first()
        protected = conn.execute(
            select(p.nin, p.address_protection).where(p.address_protection != "UGRADERT").order_by(p.nin).limit(1)
        ).first()
        deceased = conn.execute(select(p.nin).where(p.status == "DECEASED").order_by(p.nin).limit(1)).scalar()
    with _connect(settings, HPR) as conn:
        s, a = hpr.Suspension, hpr.Approval
        suspension = conn.execute(
            select(a.hpr_number, a.category, s.valid_from, s.valid_to)
            .join(a, a.id == s.approval_id)
            .where(s.valid_to.is_not(None), s.valid_to < today)
            .order_by(a.hpr_number)
            .limit(1)
        ).first()
    with _connect(settings, RESH) as conn:
        link = resh.ParentLink
        moved = conn.execute(
            select(link.resh_id, func.max(link.valid_from).label("moved"))
            .group_by(link.resh_id)
            .having(func.count() > 1)
            .order_by(link.resh_id)
            .limit(1)
        ).first()
    with _connect(settings, AR) as conn:
        office_her = conn.execute(
            select(ar.CommunicationParty.parent_her_id).where(ar.CommunicationParty.her_id == current[0].gp_her_id)
        ).scalar()
    with _connect(settings, BED) as conn:
        office_name = conn.execute(
            select(bed.Organization.name).where(bed.Organization.org_number == contract.office_org_number)
        ).scalar()
    inside = None
    if suspension is not None:
        inside = suspension.valid_from + (suspension.valid_to - suspension.valid_from) / 2
    return {
        "personWithGp": plain or current[0].nin,
        "personWhoChangedGp": changed.nin if changed else None,
        "gpChangedOn": changed.valid_from.isoformat() if changed else None,
        "childWithParent": family.child_nin if family else None,
        "parentOfChild": family.parent_nin if family else None,
        "protectedAddressPerson": protected.nin if protected else None,
        "protectedAddressLevel": protected.address_protection if protected else None,
        "deceasedPerson": deceased,
        "gpHprNumber": gp_hpr,
        "suspendedHprNumber": suspension.hpr_number if suspension else None,
        "suspendedCategory": suspension.category if suspension else None,
        "dateInsideSuspension": inside.isoformat() if inside else None,
        "dateAfterSuspension": suspension.valid_to.isoformat() if suspension else None,
        "gpContractId": str(contract.id),
        "municipalityWithOpenLists": open_lists.municipality_code if open_lists else None,
        "officeOrgNumber": contract.office_org_number,
        "officeName": office_name,
        "officeHerId": office_her,
        "reshIdWithParentHistory": moved.resh_id if moved else None,
        "reshMovedOn": moved.moved.isoformat() if moved else None,
        "gpHerId": current[0].gp_her_id,
    }

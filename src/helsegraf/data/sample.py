"""Find real ids in a loaded nation, for `helsegraf sample`, the demo banner and the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, create_engine, func, or_, select

from helsegraf.config import Settings
from helsegraf.models import ar, bed, flr, hpr, preg, resh
from helsegraf.registers import AR, BED, FLR, HPR, PREG, RESH


def _valid_at(table: Any, on: date) -> Any:
    return and_(table.valid_from <= on, or_(table.valid_to.is_(None), table.valid_to > on))


def years_before(day: date, years: int) -> date:
    """Return the same calendar day `years` earlier (28 February for a 29 February that year lacks)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# Candidates read from PREG when looking for a person without a GP; FLR is asked about them in one statement.
NO_GP_CANDIDATES = 2000


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
        adults, citizens = _citizen_samples(conn, today)
    with _connect(settings, FLR) as conn:
        listed = set(conn.execute(select(m.nin).where(_valid_at(m, today), m.nin.in_(adults))).scalars())
    without_gp = next((nin for nin in adults if nin not in listed), None)
    with _connect(settings, HPR) as conn:
        s, a = hpr.Suspension, hpr.Approval
        suspension = conn.execute(
            select(a.hpr_number, a.category, s.valid_from, s.valid_to)
            .join(a, a.id == s.approval_id)
            .where(s.valid_to.is_not(None), s.valid_to < today)
            .where(s.speciality_id.is_(None), s.requisition_right_id.is_(None))  # the whole approval
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
        "personWithoutGp": without_gp,
        **citizens,
    }


def _citizen_samples(conn: Connection, today: date) -> tuple[list[str], dict[str, Any]]:
    """Find the citizens the demo sign-in offers: parents of children on either side of 16, of a protected child.

    Also return resident adults (in nin order) to look for one without a GP in FLR: registers are never joined.
    """
    p, r = preg.Person, preg.ParentRelation
    sixteen, seventeen, adult = years_before(today, 16), years_before(today, 17), years_before(today, 18)
    adults = list(
        conn.execute(
            select(p.nin)
            .where(p.status == "RESIDENT", p.address_protection == "UGRADERT", p.birth_date <= adult)
            .order_by(p.nin)
            .limit(NO_GP_CANDIDATES)
        ).scalars()
    )
    under = func.sum(case((p.birth_date > sixteen, 1), else_=0))
    aged_16 = func.sum(case((and_(p.birth_date <= sixteen, p.birth_date > seventeen), 1), else_=0))
    both = conn.execute(
        select(r.parent_nin)
        .join(p, p.nin == r.child_nin)
        .where(p.status == "RESIDENT", p.address_protection == "UGRADERT")
        .group_by(r.parent_nin)
        .having(under > 0, aged_16 > 0)
        .order_by(r.parent_nin)
        .limit(1)
    ).scalar()
    protected_child = conn.execute(
        select(r.parent_nin, r.child_nin)
        .join(p, p.nin == r.child_nin)
        .where(p.status == "RESIDENT", p.address_protection != "UGRADERT", p.birth_date > sixteen)
        .where(r.parent_nin.in_(select(p.nin).where(p.status == "RESIDENT", p.address_protection == "UGRADERT")))
        .order_by(r.parent_nin, r.child_nin)
        .limit(1)
    ).first()
    protected_adult = conn.execute(
        select(p.nin)
        .where(p.status == "RESIDENT", p.address_protection != "UGRADERT", p.birth_date <= adult)
        .order_by(p.nin)
        .limit(1)
    ).scalar()
    return adults, {
        "adultWithProtectedAddress": protected_adult,
        "parentOfChildrenUnderAndOver16": both,
        "parentOfProtectedChild": protected_child.parent_nin if protected_child else None,
        "protectedChild": protected_child.child_nin if protected_child else None,
    }

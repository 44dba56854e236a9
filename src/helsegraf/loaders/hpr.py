"""HPR loaders: health personnel by HPR number and by nin, approvals and what hangs on them."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from helsegraf.db import Database
from helsegraf.loaders.base import GroupLoader, RowLoader
from helsegraf.models.hpr import (
    AdditionalCompetence,
    AdministrativeReaction,
    AlternativeId,
    Approval,
    Condition,
    HealthPersonnel,
    RequisitionRight,
    Speciality,
    Suspension,
)
from helsegraf.registers import HPR

PERSON = HealthPersonnel.__table__
APPROVAL = Approval.__table__
SPECIALITY = Speciality.__table__
RIGHT = RequisitionRight.__table__
SUSPENSION = Suspension.__table__
PERSONS = select(PERSON)
PERSONS_BY_NUMBER = select(PERSON).order_by(PERSON.c.hpr_number)
APPROVALS = select(APPROVAL).order_by(APPROVAL.c.valid_from, APPROVAL.c.id)
SPECIALITIES = select(SPECIALITY).order_by(SPECIALITY.c.valid_from, SPECIALITY.c.id)
RIGHTS = select(RIGHT).order_by(RIGHT.c.valid_from, RIGHT.c.id)
SUSPENSIONS = select(SUSPENSION).order_by(SUSPENSION.c.valid_from, SUSPENSION.c.id)
ALTERNATIVE = AlternativeId.__table__
REACTION = AdministrativeReaction.__table__
COMPETENCE = AdditionalCompetence.__table__
CONDITION = Condition.__table__
ALTERNATIVES = select(ALTERNATIVE).order_by(ALTERNATIVE.c.id)
REACTIONS = select(REACTION).order_by(REACTION.c.valid_from, REACTION.c.id)
COMPETENCES = select(COMPETENCE).order_by(COMPETENCE.c.valid_from, COMPETENCE.c.id)
CONDITIONS = select(CONDITION).order_by(CONDITION.c.id)


class HprLoaders:
    """The HPR register's loaders of one request."""

    db: Database

    @cached_property
    def personnel_by_hpr(self) -> RowLoader[int]:
        """HealthPersonnelByHprNumberLoader: a health worker's row."""
        return RowLoader(self.db, HPR, PERSONS, PERSON.c.hpr_number)

    @cached_property
    def personnel_by_nin(self) -> GroupLoader[str]:
        """HealthPersonnelByNinLoader: the HPR records of a person."""
        return GroupLoader(self.db, HPR, PERSONS_BY_NUMBER, PERSON.c.nin)

    @cached_property
    def approvals_by_hpr(self) -> GroupLoader[int]:
        """ApprovalsByHprNumberLoader: every approval (godkjenning) of a health worker."""
        return GroupLoader(self.db, HPR, APPROVALS, APPROVAL.c.hpr_number)

    @cached_property
    def specialities_by_approval(self) -> GroupLoader[int]:
        """SpecialitiesByApprovalLoader."""
        return GroupLoader(self.db, HPR, SPECIALITIES, SPECIALITY.c.approval_id)

    @cached_property
    def rights_by_approval(self) -> GroupLoader[int]:
        """RequisitionRightsByApprovalLoader."""
        return GroupLoader(self.db, HPR, RIGHTS, RIGHT.c.approval_id)

    @cached_property
    def suspensions_by_approval(self) -> GroupLoader[int]:
        """SuspensionsByApprovalLoader."""
        return GroupLoader(self.db, HPR, SUSPENSIONS, SUSPENSION.c.approval_id)

    @cached_property
    def merged_into_hpr(self) -> GroupLoader[int]:
        """MergedHprNumbersByReplacementLoader: the records merged into a health worker (ErstattetAvHprNummer)."""
        return GroupLoader(self.db, HPR, PERSONS_BY_NUMBER, PERSON.c.replaced_by)

    @cached_property
    def alternative_ids_by_hpr(self) -> GroupLoader[int]:
        """AlternativeIdsByHprNumberLoader."""
        return GroupLoader(self.db, HPR, ALTERNATIVES, ALTERNATIVE.c.hpr_number)

    @cached_property
    def reactions_by_hpr(self) -> GroupLoader[int]:
        """AdministrativeReactionsByHprNumberLoader."""
        return GroupLoader(self.db, HPR, REACTIONS, REACTION.c.hpr_number)

    @cached_property
    def competences_by_approval(self) -> GroupLoader[int]:
        """AdditionalCompetencesByApprovalLoader (tilleggskompetanser)."""
        return GroupLoader(self.db, HPR, COMPETENCES, COMPETENCE.c.approval_id)

    @cached_property
    def conditions_by_approval(self) -> GroupLoader[int]:
        """ConditionsByApprovalLoader (vilkår)."""
        return GroupLoader(self.db, HPR, CONDITIONS, CONDITION.c.approval_id)

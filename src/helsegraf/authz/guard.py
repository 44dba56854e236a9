"""The per-request guard: the one decision on a personal field, and the record of what it released.

`Guard.decide` is the only place a personal field is decided. It is called by the executor when a
field is completed (on every path: the stock executor, its fast paths, preloaded edges, Federation
entities), and it records either a redaction or a release at the field's response path. Loaders and
batch functions never decide and never record. After execution, `released_in` keeps the releases
whose path reached the response (see authz/release.py), so the access log is exactly what left.

Scope decisions are made once per requirement per request; row-level decisions (a citizen's own
record, a child under 16, a protected address) look only at the row being completed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from helsegraf.authz.age import is_under
from helsegraf.authz.principal import Principal
from helsegraf.authz.release import FIELD, OBJECT, Record, Released, Subject, path_keys, released_all, released_in
from helsegraf.authz.requirements import IDENTITY, SELF_OR_PARENT, Requirement

MISSING_SCOPE: Final = "MISSING_SCOPE"
NOT_SELF: Final = "NOT_SELF"
ADDRESS_PROTECTED: Final = "ADDRESS_PROTECTED"
UNAUTHENTICATED: Final = "UNAUTHENTICATED"
PROTECTED_ADDRESS_SCOPE: Final = "preg:protected-address"
UNPROTECTED: Final = "UGRADERT"
# The grounds of a release that a citizen's own relation to the person gave (recorded as the scopes used).
SELF_GROUNDS: Final = "self"
PARENT_GROUNDS: Final = "parent"


CHILD_AGE_LIMIT: Final = 16


def children_under_16(children: Iterable[Any], today: date) -> dict[str, bool]:
    """Return which of a parent's children (rows with nin, birth date, protection) are under 16 today.

    Maps each such child's nin to whether its address is protected.
    """
    return {
        c.nin: c.address_protection != UNPROTECTED for c in children if is_under(c.birth_date, CHILD_AGE_LIMIT, today)
    }


def subject_of(source: Any) -> Subject | None:
    """Return whose personal data an object carries: a nin, an HPR number (no nin), or None."""
    return getattr(source, "subject", None)


def _row_protected(source: Any) -> bool:
    row = getattr(source, "row", None)
    return row is not None and getattr(row, "address_protection", UNPROTECTED) != UNPROTECTED


@dataclass
class Guard:
    """Decides fields for one principal during one request, and records redactions and releases.

    `children` maps the nin of each child of the signed-in citizen who is under 16 today to whether
    the child's address is protected.
    """

    principal: Principal
    children: Mapping[str, bool] = field(default_factory=dict)
    own_numbers: frozenset[str] = frozenset()  # the citizen's numbers: the token's pid and the one now in use
    redactions: list[dict[str, Any]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    # Each requirement's scope decision, made once per request: by the requirement's identity (hashing the
    # frozen dataclass, field by field, on each of a thousand patients' fields cost more than the decision).
    _scope_grounds: dict[int, tuple[Requirement, str | None]] = field(default_factory=dict)

    @property
    def pid(self) -> str | None:
        """Return the signed-in citizen's own nin, if any."""
        return self.principal.pid

    def _grounds(self, requirement: Requirement) -> str | None:
        """Return the scopes that grant a requirement (space-separated), or None when the token lacks them."""
        known = self._scope_grounds.get(id(requirement))
        if known is not None and known[0] is requirement:
            return known[1]
        grounds = " ".join(requirement.scopes) if self.principal.has(requirement.scopes) else None
        self._scope_grounds[id(requirement)] = (requirement, grounds)  # held: its id stays its own
        return grounds

    def judge(self, requirement: Requirement, source: Any) -> tuple[str | None, str]:
        """Return `(reason, grounds)`: why `source`'s field may not be released, or None and what granted it."""
        grounds = self._grounds(requirement)
        if grounds is not None:
            if requirement.address and _row_protected(source):
                if not self.principal.has((PROTECTED_ADDRESS_SCOPE,)):
                    return ADDRESS_PROTECTED, ""
                return None, f"{grounds} {PROTECTED_ADDRESS_SCOPE}"
            return None, grounds
        if not self.principal.authenticated:
            return UNAUTHENTICATED, ""
        if requirement.self_access and self.principal.pid:
            return self._judge_relation(requirement, source)
        return MISSING_SCOPE, ""

    def _judge_relation(self, requirement: Requirement, source: Any) -> tuple[str | None, str]:
        """Decide by the citizen's relation to the person: themself, or a child of theirs under 16.

        A child's protected address stays hidden from the parent: the child's own protection, and for
        a dated address also that address's own grading (the source's row).
        """
        subject = subject_of(source)
        if subject is not None and (subject == self.principal.pid or subject in self.own_numbers):
            return None, SELF_GROUNDS
        if requirement.self_access == SELF_OR_PARENT and isinstance(subject, str) and subject in self.children:
            if (requirement.address or requirement.location) and self.children[subject]:
                return ADDRESS_PROTECTED, ""
            if requirement.address and _row_protected(source):
                return ADDRESS_PROTECTED, ""
            return None, PARENT_GROUNDS
        return NOT_SELF, ""

    def decide(self, requirement: Requirement, source: Any, path: Any) -> bool:
        """Decide a personal field of `source` at `path`: record its redaction or its release; True when released."""
        reason, grounds = self.judge(requirement, source)
        if reason is not None:
            self.redact(path, reason)
            return False
        subject = subject_of(source)
        if subject is not None:
            self.records.append(Record(FIELD, path, subject, requirement.group, grounds))
        return True

    def reached(self, path: Any, subject: Subject, group: str, grounds: str) -> None:
        """Record that an object about `subject`, released through an edge of `group`, was completed at `path`."""
        self.records.append(Record(OBJECT, path, subject, group, grounds))

    def redact(self, path: Any, reason: str) -> None:
        """Record that the field at `path` was nulled, and why."""
        self.redactions.append({"path": path, "reason": reason})

    def knows_existence(self, subject: Subject) -> bool:
        """Tell whether the caller may learn whether a person is registered (they may see the person's identity)."""
        return self.existence_grounds(subject) is not None

    def existence_grounds(self, subject: Subject) -> str | None:
        """Return what lets the caller learn whether `subject` is registered (None when nothing does).

        Finding a person is a release of their identity: the caller learned that they are registered,
        so a person found for such a caller is logged (`identity`), even when no field of theirs is asked.
        """
        reason, grounds = self.judge(IDENTITY, _Subject(subject))
        return grounds if reason is None else None

    def stranger_reason(self, requirement: Requirement) -> str | None:
        """Return the reason a field about someone the caller has no relation to is refused (None if allowed).

        Used for entities that cannot be found, so that a refused caller gets the same answer whether
        or not they exist.
        """
        return self.judge(requirement, _Subject(None))[0]

    def released_in(self, data: Any, error_paths: list[list[str | int]]) -> dict[Subject, Released]:
        """Return what the completed response `data` released, per subject (see authz/release.py)."""
        return released_in(self.records, data, error_paths)

    def released_without_errors(self) -> dict[Subject, Released]:
        """Return what a completed response without errors released: every record (see authz/release.py)."""
        return released_all(self.records)

    def redactions_as_lists(self) -> list[dict[str, Any]]:
        """Return the redactions with their paths as lists, for `extensions.redactions`."""
        return [{"path": path_keys(r["path"]), "reason": r["reason"]} for r in self.redactions]


@dataclass(frozen=True, slots=True)
class _Subject:
    """A bare subject, for decisions about a person without their row."""

    subject: Subject | None
    row: None = None

"""Who is asking: the principal a verified token describes, and the role presets of `helsegraf token`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from helsegraf.authz.requirements import SCOPES

PID_CLAIM: Final = "helseid://claims/identity/pid"
HPR_CLAIM: Final = "helseid://claims/hpr/hpr_number"
ORG_CLAIM: Final = "helseid://claims/client/claims/orgnr_parent"
ROLE_CLAIM: Final = "helsegraf://claims/role"

ROLE_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "citizen": (),
    "clinician": ("preg:identity", "preg:address", "flr:read", "hpr:extended"),
    "integrator": (),
    "analyst": ("stats:read",),
    "admin": SCOPES,
}


@dataclass(frozen=True)
class Principal:
    """The caller: anonymous, or the subject of a verified token with its scopes and HelseID claims."""

    authenticated: bool = False
    subject: str | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    pid: str | None = None
    hpr_number: int | None = None
    org_number: str | None = None
    client_id: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Build a principal from verified token claims."""
        raw_scope = claims.get("scope") or ""
        scopes = raw_scope.split() if isinstance(raw_scope, str) else [str(s) for s in raw_scope]
        hpr = claims.get(HPR_CLAIM)
        return cls(
            authenticated=True,
            subject=str(claims["sub"]) if claims.get("sub") is not None else None,
            role=str(claims.get(ROLE_CLAIM) or _role_from(claims)),
            scopes=frozenset(scopes),
            pid=str(claims[PID_CLAIM]) if claims.get(PID_CLAIM) else None,
            hpr_number=int(hpr) if hpr is not None and str(hpr).isdigit() else None,
            org_number=str(claims[ORG_CLAIM]) if claims.get(ORG_CLAIM) else None,
            client_id=str(claims["client_id"]) if claims.get("client_id") else None,
        )

    def has(self, scopes: tuple[str, ...]) -> bool:
        """Tell whether the principal holds every one of `scopes`."""
        return self.authenticated and self.scopes.issuperset(scopes)


ANONYMOUS: Final = Principal()


def _role_from(claims: dict[str, Any]) -> str:
    """Name the kind of caller a token without a role claim comes from (for the access log)."""
    if claims.get(HPR_CLAIM):
        return "clinician"
    if claims.get(PID_CLAIM):
        return "citizen"
    return "integrator"

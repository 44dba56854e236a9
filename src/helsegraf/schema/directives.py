"""How a field's requirement prints in the SDL, as Federation 2 authorisation directives.

- scopes only: `@requiresScopes(scopes: [["hpr:extended"]])`;
- scopes or a citizen's own record: `@authenticated @policy(policies: [[...], [...]])`, where
  the outer list is OR and the inner lists AND; a term with a colon is a scope, other terms are
  named policies (`self`, `self-or-parent-of-child-under-16`, `address-not-protected`).
"""

from __future__ import annotations

from strawberry.federation.schema_directives import Authenticated, Policy, RequiresScopes

from helsegraf.authz.requirements import ADDRESS_NOT_PROTECTED, SELF_ONLY, Requirement

PROTECTED_ADDRESS_SCOPE = "preg:protected-address"


def policy_alternatives(requirement: Requirement) -> list[list[str]]:
    """Return the requirement as OR-of-AND terms."""
    scopes = list(requirement.scopes)
    if requirement.location and not requirement.address:
        alternatives = [scopes]
        if requirement.self_access:
            alternatives += [[requirement.self_access, ADDRESS_NOT_PROTECTED], [SELF_ONLY]]
        return alternatives
    if not requirement.address:
        alternatives = [scopes]
        if requirement.self_access:
            alternatives.append([requirement.self_access])
        return alternatives
    alternatives = [[*scopes, ADDRESS_NOT_PROTECTED], [*scopes, PROTECTED_ADDRESS_SCOPE]]
    if requirement.self_access:
        alternatives += [[requirement.self_access, ADDRESS_NOT_PROTECTED], [SELF_ONLY]]
    return alternatives


def directives_for(requirement: Requirement) -> list[object]:
    """Return the schema directives that declare a requirement."""
    if requirement.self_access is None and not (requirement.address or requirement.location):
        return [RequiresScopes(scopes=[list(requirement.scopes)])]
    return [Authenticated(), Policy(policies=policy_alternatives(requirement))]

"""Trusted documents: only operations from an allow-list run, addressed by their `documentId`.

The manifest is JSON mapping `sha256:<hex>` to the document text, as client build tools produce
it (`{"sha256:ab12...": "query Patient($nin: ID!) { ... }"}`); Apollo's persisted-query manifest
(`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}`) is read too.
Every id is checked against its document's hash when the manifest is loaded.

**Planned documents.** The documents are known at start-up, so the endpoint plans each one once
(`plan_all`): parsed, validated against the schema, with its errors if it has any. A request for a
trusted document then does no per-document work beyond its variables (limits, coercion, execution).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLError

    from helsegraf.execution.operation import Operations

PREFIX: Final = "sha256:"


class ManifestError(Exception):
    """The manifest cannot be read, or an id does not match its document."""


def document_id(document: str) -> str:
    """Return the trusted-document id of a document text."""
    return PREFIX + hashlib.sha256(document.encode()).hexdigest()


def _entries(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict) and raw.get("format") == "apollo-persisted-query-manifest":
        return {str(op["id"]): str(op["body"]) for op in raw.get("operations", [])}
    if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
        return {str(k): v for k, v in raw.items()}
    msg = 'expected {"sha256:<hex>": "<document>", ...} or an Apollo persisted-query manifest'
    raise ManifestError(msg)


@dataclass(frozen=True)
class Plan:
    """A trusted document as planned at start-up: parsed (None if it does not parse) and its request errors."""

    document: DocumentNode | None
    errors: list[GraphQLError] = field(default_factory=list)


class TrustedDocuments:
    """The allow-list of documents, by id, and their plans once `plan_all` has made them."""

    def __init__(self, path: str) -> None:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            msg = f"cannot read the trusted-documents manifest {path}: {exc}"
            raise ManifestError(msg) from None
        self.documents: dict[str, str] = {}
        for key, document in _entries(raw).items():
            expected = document_id(document)
            normalized = key if key.startswith(PREFIX) else PREFIX + key
            if normalized != expected:
                msg = f"manifest entry {key} is not the sha256 of its document (expected {expected})"
                raise ManifestError(msg)
            self.documents[normalized] = document
        self.plans: dict[str, Plan] = {}  # by document text

    def plan_all(self, operations: Operations) -> None:
        """Parse and validate every document once, against the schema the endpoint serves."""
        from helsegraf.execution.operation import RequestErrors  # noqa: PLC0415 - the execution layer imports http

        for document in self.documents.values():
            try:
                parsed = operations.parse(document)
            except RequestErrors as exc:
                self.plans[document] = Plan(None, exc.errors)
                continue
            try:
                operations.validate(document, parsed)
            except RequestErrors as exc:
                self.plans[document] = Plan(parsed, exc.errors)
                continue
            self.plans[document] = Plan(parsed)

    def plan(self, document: str) -> Plan | None:
        """Return the plan of a document text on the list (None before `plan_all`, or for other texts)."""
        return self.plans.get(document)

    def find(self, identifier: str) -> str | None:
        """Return the document with an id (with or without the `sha256:` prefix), or None."""
        key = identifier if identifier.startswith(PREFIX) else PREFIX + identifier
        return self.documents.get(key)

    def allows(self, document: str) -> bool:
        """Tell whether a document text is on the list."""
        return document_id(document) in self.documents

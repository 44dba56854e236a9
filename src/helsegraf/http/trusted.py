"""Trusted documents: only operations from an allow-list run, addressed by their `documentId`.

The manifest is JSON mapping `sha256:<hex>` to the document text, as client build tools produce
it (`{"sha256:ab12...": "query Patient($nin: ID!) { ... }"}`); Apollo's persisted-query manifest
(`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}`) is read too.
Every id is checked against its document's hash when the manifest is loaded.

**Planned documents.** The documents are known at start-up, so the endpoint plans each one once
(`plan_all`, kept by execution/operation.py's `Operations.plan`): parsed and validated against the
schema, its errors kept if it has any, and its string literals checked for NUL once. A request for
a trusted document then does no per-document work beyond its variables: coercion, the measure that
the depth, alias and cost limits compare (without visiting the document again), execution.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
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


class TrustedDocuments:
    """The allow-list of documents, by id."""

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

    def plan_all(self, operations: Operations) -> None:
        """Parse and validate every document once, against the schema the endpoint serves."""
        for document in self.documents.values():
            operations.plan(document)

    def find(self, identifier: str) -> str | None:
        """Return the document with an id (with or without the `sha256:` prefix), or None."""
        key = identifier if identifier.startswith(PREFIX) else PREFIX + identifier
        return self.documents.get(key)

    def allows(self, document: str) -> bool:
        """Tell whether a document text is on the list."""
        return document_id(document) in self.documents

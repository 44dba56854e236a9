"""GraphQL over HTTP: GET and POST, `application/graphql-response+json` and `application/json`.

Follows the GraphQL-over-HTTP specification: a request that fails before execution (parse,
validation, variable coercion) is 400 with no `data` under `application/graphql-response+json`,
200 under legacy `application/json`; GET runs queries only (405 for mutations); an unknown
media type in `Accept` is 406; errors carry a stable `extensions.code`.
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from helsegraf.execution.operation import Operations, RequestErrors, operation_of
from helsegraf.http.errors import (
    BAD_USER_INPUT,
    PERSISTED_QUERY_NOT_FOUND,
    QUERY_TOO_COMPLEX,
    SERVICE_UNAVAILABLE,
    error_body,
    format_error,
)
from helsegraf.http.graphiql import graphiql_page
from helsegraf.http.limits import LimitExceededError, Limits, check
from helsegraf.http.observability import REFUSED
from helsegraf.http.trusted import TrustedDocuments
from helsegraf.schema.assembly import RegisterSchema

log = logging.getLogger("helsegraf.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
REQUEST_ID_MAX = 128
REQUEST_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{REQUEST_ID_MAX}}}")
JSON = "application/json"


class RequestError(Exception):
    """A malformed HTTP request: answered with its status and a GraphQL error body."""

    def __init__(self, message: str, status: int = 400, code: str = BAD_USER_INPUT, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code
        self.headers: dict[str, str] = headers


def negotiate(accept: str | None) -> str | None:
    """Choose the response media type from an Accept header; None when nothing acceptable is offered."""
    if not accept:
        return JSON
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        chosen = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON, "*/*": JSON}.get(media.lower())
        if chosen and quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, chosen)
    return best[2] if best else None


def _json_param(name: str, raw: str | None) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(f"{name} must be a JSON object") from None
    if value is not None and not isinstance(value, dict):
        raise RequestError(f"{name} must be a JSON object")
    return value


def _params_from(source: dict[str, Any], *, from_query_string: bool) -> dict[str, Any]:
    query = source.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestError("query must be a string")
    operation_name = source.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("operationName must be a string")
    variables, extensions = source.get("variables"), source.get("extensions")
    if from_query_string:
        variables, extensions = _json_param("variables", variables), _json_param("extensions", extensions)
    for name, value in (("variables", variables), ("extensions", extensions)):
        if value is not None and not isinstance(value, dict):
            raise RequestError(f"{name} must be a JSON object")
    document_id = source.get("documentId")
    persisted = (extensions or {}).get("persistedQuery")
    if document_id is None and isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
        document_id = persisted["sha256Hash"]
    if document_id is not None and not isinstance(document_id, str):
        raise RequestError("documentId must be a string")
    return {"query": query, "variables": variables, "operationName": operation_name, "extensions": extensions,
            "documentId": document_id}  # fmt: skip


async def read_params(request: Request, max_body: int) -> dict[str, Any]:
    """Read the GraphQL parameters of a GET (query string) or POST (JSON body) request."""
    if request.method == "GET":
        return _params_from(dict(request.query_params), from_query_string=True)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(f"Content-Type must be {JSON}, got {content_type or 'none'}", status=415)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise _too_large(int(declared), max_body)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise _too_large(len(body), max_body)
    try:
        payload = orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        raise RequestError("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise RequestError("the request body must be a JSON object (batching is not supported)")
    return _params_from(payload, from_query_string=False)


def _too_large(size: int, limit: int) -> RequestError:
    return RequestError(f"request body size {size:,} exceeds the limit of {limit:,} bytes", status=413,
                        code=QUERY_TOO_COMPLEX)  # fmt: skip


def wants_html(request: Request) -> bool:
    """Tell whether a GET comes from a browser asking for a page rather than a GraphQL response."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


def respond(body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None) -> Response:
    """Encode a GraphQL response with orjson."""
    return Response(orjson.dumps(body), status_code=status, media_type=f"{media}; charset=utf-8", headers=headers)


ContextFactory = Callable[[Request, str], Awaitable[Any]]
Finisher = Callable[[Any, dict[str, Any]], Awaitable[None]]


class ReleaseRefusedError(Exception):
    """Raised by a finisher when the response may not leave (e.g. the access log cannot be written)."""


class GraphQLEndpoint:
    """The /graphql endpoint of one schema."""

    def __init__(
        self,
        schema: RegisterSchema,
        make_context: ContextFactory,
        finish: Finisher,
        *,
        limits: Limits,
        graphiql: bool = True,
        trusted: TrustedDocuments | None = None,
        introspection: bool = True,
    ) -> None:
        self.schema, self.make_context, self.finish = schema, make_context, finish
        self.limits, self.graphiql, self.trusted = limits, graphiql, trusted
        self.operations = Operations(schema, introspection=introspection, max_tokens=limits.max_tokens)
        if trusted is not None:
            trusted.plan_all(self.operations)  # parsed and validated once (http/trusted.py)
        self._ide = graphiql_page() if graphiql else ""

    async def __call__(self, request: Request) -> Response:
        """Answer one GraphQL request."""
        sent_id = request.headers.get("x-request-id")
        request_id = sent_id if sent_id and REQUEST_ID.fullmatch(sent_id) else uuid.uuid4().hex
        request.state.request_id = request_id
        if request.method == "GET" and self.graphiql and wants_html(request):
            return HTMLResponse(self._ide, headers={"x-request-id": request_id})
        media = negotiate(request.headers.get("accept"))
        if media is None:
            body = {"errors": [error_body(f"cannot answer in any type of Accept; use {GRAPHQL_RESPONSE} or {JSON}",
                                          BAD_USER_INPUT)]}  # fmt: skip
            return respond(body, 406, JSON, {"x-request-id": request_id})
        try:
            if sent_id is not None and sent_id != request_id:
                raise RequestError(  # noqa: TRY301 - one error path
                    f"X-Request-Id must be 1 to {REQUEST_ID_MAX} letters, digits or . _ : - (it is stored whole in "
                    "the access log)"
                )
            if request.method not in {"GET", "POST"}:
                raise RequestError("use GET or POST", status=405, Allow="GET, POST")  # noqa: TRY301 - one error path
            params = await read_params(request, self.limits.max_body_bytes)
            request.state.operation = params["operationName"]
            return await self._execute(request, request_id, params, media)
        except RequestError as exc:
            headers = {"x-request-id": request_id, **exc.headers}
            return respond({"errors": [error_body(str(exc), exc.code)]}, exc.status, media, headers)

    def _document(self, params: dict[str, Any]) -> str:
        """Return the document to run: the query, or, with trusted documents, the one the id names."""
        if self.trusted is None:
            if params["documentId"] is not None:
                raise RequestError("documentId is accepted only when trusted documents are configured")
            if not params["query"]:
                raise RequestError("query is required")
            return str(params["query"])
        if params["documentId"] is not None:
            document = self.trusted.find(params["documentId"])
            if document is None:
                raise RequestError(
                    f"no trusted document has id {params['documentId']!r}", code=PERSISTED_QUERY_NOT_FOUND
                )
            return document
        if params["query"] and self.trusted.allows(params["query"]):
            return str(params["query"])
        raise RequestError("this server runs trusted documents only: send the documentId of an allowed operation",
                           code=PERSISTED_QUERY_NOT_FOUND)  # fmt: skip

    def _prepare(self, request: Request, query: str, params: dict[str, Any]) -> Any:
        """Parse, validate and check the limits; return the document, or the request errors as a body."""
        plan = self.trusted.plan(query) if self.trusted is not None else None  # a trusted document: planned
        try:
            if plan is not None and plan.document is None:
                raise RequestErrors(plan.errors)  # noqa: TRY301 - the planned parse error, as parse raises it
            document = plan.document if plan is not None and plan.document is not None else self.operations.parse(query)
        except RequestErrors as exc:
            error = exc.errors[0]
            if error.message.startswith("Syntax Error: Document contains more than"):
                REFUSED.labels("tokens").inc()
                return [error_body(f"the document has more than {self.limits.max_tokens:,} tokens, the limit",
                                   QUERY_TOO_COMPLEX, limit="tokens", maximum=self.limits.max_tokens)]  # fmt: skip
            return [format_error(e, "", pre_execution=True) for e in exc.errors]
        operation = operation_of(document, params["operationName"])
        if request.method == "GET" and operation is not None and operation.operation != OperationType.QUERY:
            raise RequestError("GET serves queries only; send mutations with POST", status=405, Allow="POST")
        if request.state.operation is None:
            names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
            request.state.operation = names[0] if len(names) == 1 else None
        try:
            if plan is None:
                self.operations.validate(query, document)
            elif plan.errors:
                raise RequestErrors(plan.errors)  # noqa: TRY301 - the planned validation errors
        except RequestErrors as exc:
            return [format_error(e, "", pre_execution=True) for e in exc.errors]
        try:
            check(document, self.schema._schema, params["operationName"], params["variables"] or {}, self.limits)  # noqa: SLF001
        except LimitExceededError as exc:
            REFUSED.labels(exc.limit).inc()
            return [error_body(str(exc), QUERY_TOO_COMPLEX, limit=exc.limit, value=exc.value, maximum=exc.maximum)]
        return document

    async def _execute(self, request: Request, request_id: str, params: dict[str, Any], media: str) -> Response:
        query = self._document(params)
        prepared = self._prepare(request, query, params)
        if isinstance(prepared, list):
            return respond({"errors": prepared}, 400 if media == GRAPHQL_RESPONSE else 200, media,
                           {"x-request-id": request_id})  # fmt: skip
        context = await self.make_context(request, request_id)
        try:
            result = self.operations.execute(
                prepared, variables=params["variables"], operation_name=params["operationName"], context=context
            )
            if inspect.isawaitable(result):
                result = await result
        except RequestErrors as exc:
            errors = [_request_error(e) for e in exc.errors]
            return respond({"errors": errors}, 400 if media == GRAPHQL_RESPONSE else 200, media,
                           {"x-request-id": request_id})  # fmt: skip
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(e, request_id, pre_execution=False) for e in result.errors]
        body["extensions"] = {}
        refusal: ReleaseRefusedError | None = None
        try:
            await self.finish(context, body)
        except ReleaseRefusedError as exc:
            refusal = exc
        if refusal is not None:  # logged outside the handler: no chained exception (and its message) rides along
            log.error("request %s refused: %s (%s)", request_id, refusal, _kind(refusal.__cause__))
            refused = error_body(f"{refusal}; no personal data was released", SERVICE_UNAVAILABLE, requestId=request_id)
            return respond({"errors": [refused]}, 503, media, {"x-request-id": request_id, "retry-after": "5"})
        if not body["extensions"]:
            del body["extensions"]
        return respond(body, _status(body), media, {"x-request-id": request_id})


def _kind(error: BaseException | None) -> str:
    """Name an error without its message (messages of database errors carry the values they refused)."""
    if error is None:
        return "no cause"
    cause = getattr(error, "orig", None) or error.__cause__ or error
    state = getattr(cause, "sqlstate", None)
    return f"{type(cause).__module__}.{type(cause).__name__}" + (f", SQLSTATE {state}" if state else "")


def _request_error(error: GraphQLError) -> dict[str, Any]:
    """Format an error that stopped the request before execution (operation choice, variables): the caller's."""
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": BAD_USER_INPUT}
    return formatted


def _status(body: dict[str, Any]) -> int:
    """Return 503 when a database outage left nothing to answer, else 200."""
    errors = body.get("errors") or []
    unavailable = errors and all(e.get("extensions", {}).get("code") == SERVICE_UNAVAILABLE for e in errors)
    return 503 if unavailable and not any((body.get("data") or {}).values()) else 200

"""GraphQL over HTTP: GET and POST, `application/graphql-response+json` and `application/json`.

Follows the GraphQL-over-HTTP specification: a request that fails before execution (parse,
validation, variable coercion) is 400 with no `data` under `application/graphql-response+json`,
200 under legacy `application/json`; GET runs queries only (405 for mutations); an unknown
media type in `Accept` is 406; errors carry a stable `extensions.code`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from graphql import OperationType
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from helsegraf.execution.operation import Operations, Prepared, RequestErrors, operation_of
from helsegraf.http.errors import (
    BAD_USER_INPUT,
    PERSISTED_QUERY_NOT_FOUND,
    QUERY_TOO_COMPLEX,
    SERVICE_UNAVAILABLE,
    error_body,
    format_error,
    shown,
)
from helsegraf.http.graphiql import graphiql_page
from helsegraf.http.limits import LimitExceededError, Limits
from helsegraf.http.middleware import REQUEST_ID_MAX, request_id_of
from helsegraf.http.observability import REFUSED
from helsegraf.http.trusted import TrustedDocuments
from helsegraf.schema.assembly import RegisterSchema

log = logging.getLogger("helsegraf.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
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
        value = _load_json(raw.encode())
    except RequestError:
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
        raise RequestError(
            f"Content-Type must be {JSON}, got {shown(content_type) if content_type else 'none'}", status=415
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise _too_large(int(declared), max_body)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                raise _too_large(len(body), max_body)
    except ClientDisconnect:  # the client left, or the server's read deadline passed (http/server.py)
        raise RequestError("the request body did not arrive whole", status=408) from None
    payload = _load_json(bytes(body))
    if not isinstance(payload, dict):
        raise RequestError("the request body must be a JSON object (batching is not supported)")
    return _params_from(payload, from_query_string=False)


class HugeNumber(str):
    """A JSON integer too long for a number (orjson stops at 64 bits, Python at 4,300 digits), kept as its text.

    It reaches variable coercion as a string: an `Int` refuses it naming the variable, an `ID` takes it and
    its field says it is no id of its kind. Only the first digits are kept.
    """

    __slots__ = ()


def _huge_number(text: str) -> int | str:
    return int(text) if len(text) <= MAX_JSON_INT_DIGITS else HugeNumber(text[:MAX_JSON_INT_DIGITS] + "...")


MAX_JSON_INT_DIGITS = 40


def _load_json(raw: bytes) -> Any:
    """Decode a request body; integers orjson cannot hold are decoded by the standard library, bounded."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # orjson refuses integers beyond 64 bits: a slower second look, for a better error than "not JSON"
        return json.loads(raw, parse_int=_huge_number)
    except (ValueError, RecursionError):
        raise RequestError("the request body is not valid JSON") from None


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


SINGLE_HEADERS: Final = (b"authorization", b"x-request-id", b"x-purpose")


def _one_of_each(request: Request) -> None:
    """Refuse a request that sends a header the answer depends on twice: which one counts would be a guess.

    (A proxy and a client that each add an Authorization or X-Purpose would otherwise decide, silently,
    whose token is honoured or which purpose is logged.)
    """
    names = [name.lower() for name, _ in request.headers.raw]
    for header in SINGLE_HEADERS:
        if names.count(header) > 1:
            raise RequestError(f"send the {header.decode().title()} header once")


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
        self.operations = Operations(
            schema, introspection=introspection, limits=limits, cache_bytes=limits.parse_cache_bytes
        )
        if trusted is not None:
            trusted.plan_all(self.operations)  # parsed and validated once (http/trusted.py)
        self._ide = graphiql_page() if graphiql else ""

    async def __call__(self, request: Request) -> Response:
        """Answer one GraphQL request."""
        sent_id = request.headers.get("x-request-id")
        request_id = getattr(request.state, "request_id", None) or request_id_of(request.scope)
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
            _one_of_each(request)
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
                    f"no trusted document has id {shown(params['documentId'])}", code=PERSISTED_QUERY_NOT_FOUND
                )
            return document
        if params["query"] and self.trusted.allows(params["query"]):
            return str(params["query"])
        raise RequestError("this server runs trusted documents only: send the documentId of an allowed operation",
                           code=PERSISTED_QUERY_NOT_FOUND)  # fmt: skip

    def _prepare(self, request: Request, query: str, params: dict[str, Any]) -> Prepared | list[dict[str, Any]]:
        """Parse, validate, coerce and check the limits; return the prepared request, or its errors as a body."""
        try:
            parsed = self.operations.parse(query, params["operationName"])
            operation = operation_of(parsed.document, params["operationName"])
            if request.method == "GET" and operation is not None and operation.operation != OperationType.QUERY:
                raise RequestError("GET serves queries only; send mutations with POST", status=405, Allow="POST")
            if request.state.operation is None and operation is not None and operation.name is not None:
                request.state.operation = operation.name.value
            return self.operations.prepare(parsed, variables=params["variables"],
                                           operation_name=params["operationName"])  # fmt: skip
        except RequestErrors as exc:
            for error in exc.errors:
                if isinstance(error, LimitExceededError):
                    REFUSED.labels(error.limit).inc()
            return [format_error(e, "", pre_execution=True) for e in exc.errors]

    async def _log_refused_statistics(self, request: Request, request_id: str, query: str,
                                      errors: list[dict[str, Any]]) -> None:  # fmt: skip
        """Log a statistics request refused before it ran (over a limit) in the analysts' query log.

        A refusal comes before the token check; only an analyst's verified token (stats:read) gets a row,
        so that no one without one can write to the audit store. The row names the limit, never results.
        """
        if "statistics" not in query or not request.headers.get("authorization"):
            return
        limits = [e["extensions"] for e in errors if e.get("extensions", {}).get("code") == QUERY_TOO_COMPLEX]
        if not limits:
            return
        try:
            context = await self.make_context(request, request_id)
        except RequestError:
            return  # no verified caller: nothing to attribute the attempt to
        principal = getattr(context.guard, "principal", None)
        if principal is None or "stats:read" not in principal.scopes:
            return
        from helsegraf.stats import querylog  # noqa: PLC0415 - only on this refusal path

        parameters = {"limit": limits[0].get("limit"), "value": limits[0].get("value"),
                      "maximum": limits[0].get("maximum")}  # fmt: skip
        try:
            await querylog.record(context.db, principal=principal, request_id=request_id,
                                  purpose=context.purpose, table="request",
                                  parameters=querylog.as_logged(parameters, QUERY_TOO_COMPLEX))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the request is refused either way; the outage is warned
            log.warning("statistics query log not written for a refused request (%s)", type(exc).__name__)

    async def _execute(self, request: Request, request_id: str, params: dict[str, Any], media: str) -> Response:
        query = self._document(params)
        prepared = self._prepare(request, query, params)
        if isinstance(prepared, list):
            if self.limits.refusal_delay_ms and any(e["extensions"]["code"] == QUERY_TOO_COMPLEX for e in prepared):
                # A client sending documents over the limits gets each refusal no sooner than this: a loop of
                # them is slowed to the delay's pace on every connection, at no cost to the server.
                await asyncio.sleep(self.limits.refusal_delay_ms / 1000)
            await self._log_refused_statistics(request, request_id, query, prepared)
            return respond({"errors": prepared}, 400 if media == GRAPHQL_RESPONSE else 200, media,
                           {"x-request-id": request_id})  # fmt: skip
        context = await self.make_context(request, request_id)
        try:
            result = self.operations.execute(prepared, context)
            if inspect.isawaitable(result):
                result = await result
        finally:
            # The context and its executor refer to each other (the preloader reaches the executor through
            # the context), and graphql-core's executor to itself (its async helpers are its bound methods):
            # left so, the request's loaders, futures and rows wait for the collector's rare full pass
            # (hundreds of MB per worker under load). Unlinked (with the objects the executor kept for its plans),
            # they are freed as soon as the answer is built.
            prepared.executor.unlink()
            if hasattr(context, "executor"):
                context.executor = None
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


def _status(body: dict[str, Any]) -> int:
    """Return 503 when a database outage left nothing to answer, else 200."""
    errors = body.get("errors") or []
    unavailable = errors and all(e.get("extensions", {}).get("code") == SERVICE_UNAVAILABLE for e in errors)
    return 503 if unavailable and not _answered(body.get("data")) else 200


def _answered(value: Any) -> bool:
    """Tell whether an answer holds any value: `{statistics: {table: null}}` (a nullable field refused) holds none."""
    if isinstance(value, dict):
        return any(_answered(v) for v in value.values())
    return value is not None

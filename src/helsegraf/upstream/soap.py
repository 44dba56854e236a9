"""SOAP through zeep for the registers whose contracts are WSDLs (RESH, FLR; HPR has its own module).

Messages are built and read by zeep from the WSDL in `upstream/contracts/` (the operation's input
and output messages of the register's BasicHttpBinding port, SOAP 1.1), so the fakes answer and the
sync clients ask in the contract's shapes. zeep is used for its models and (de)serialisation only;
the HTTP is httpx (async, with the engine's retries), hence these few helpers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import zeep.exceptions
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from zeep import Client, Settings

if TYPE_CHECKING:
    from helsegraf.upstream.faults import Faults

CONTRACTS: Final = Path(__file__).with_name("contracts")
ENVELOPE: Final = "{http://schemas.xmlsoap.org/soap/envelope/}"
PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
MEDIA: Final = "text/xml; charset=utf-8"


class SoapFaultError(RuntimeError):
    """The service answered with a SOAP fault (its faultstring, capped)."""


@cache
def client(contract: str) -> Client:
    """Return a zeep client of a contract (`resh`, `flr`); no network: the WSDL is a local file."""
    wsdl = str(CONTRACTS / f"{contract}.wsdl")
    return Client(wsdl, settings=Settings(strict=False))  # type: ignore[no-untyped-call]  # zeep ships no types


def _binding(contract: str) -> Any:
    for service in client(contract).wsdl.services.values():
        for name, port in service.ports.items():
            if name.startswith("BasicHttpBinding"):
                return port.binding
    raise LookupError(f"{contract}.wsdl has no BasicHttpBinding port")


def operation(contract: str, name: str) -> Any:
    """Return one operation of the contract's SOAP 1.1 binding."""
    return _binding(contract)._operations[name]  # noqa: SLF001 - zeep keeps a binding's operations here


def request(contract: str, name: str, **arguments: Any) -> tuple[dict[str, str], bytes]:
    """Return the headers and body of a request."""
    message = operation(contract, name).input.serialize(**arguments)
    return {**message.headers, "Content-Type": MEDIA}, etree.tostring(
        message.content, xml_declaration=True, encoding="utf-8"
    )


def answer(contract: str, name: str, **body: Any) -> bytes:
    """Return an operation's response envelope."""
    message = operation(contract, name).output.serialize(**body)
    return etree.tostring(message.content, xml_declaration=True, encoding="utf-8")


def fault(text: str, code: str = "s:Client") -> bytes:
    """Return a SOAP 1.1 fault."""
    envelope = etree.Element(f"{ENVELOPE}Envelope", nsmap={"s": ENVELOPE[1:-1]})
    body = etree.SubElement(envelope, f"{ENVELOPE}Body")
    element = etree.SubElement(body, f"{ENVELOPE}Fault")
    etree.SubElement(element, "faultcode").text = code
    etree.SubElement(element, "faultstring").text = text
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def read(contract: str, name: str, body: bytes) -> Any:
    """Return an answer's result; raise SoapFaultError for a fault, ValueError for what is not the answer.

    Not the answer: not XML, no SOAP body, the body of another operation, or an answer without the
    result element the contract declares (WCF always sends `<{name}Result>`, empty when there is
    nothing): read as "nothing changed", such an answer would move a follower past changes unseen.
    """
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{name}: the answer is not XML") from exc
    found = root.find(f"{ENVELOPE}Body/{ENVELOPE}Fault")
    if found is not None:
        raise SoapFaultError((found.findtext("faultstring") or "").strip()[:200])
    answer = root.find(f"{ENVELOPE}Body/*")
    if answer is None or etree.QName(answer).localname != f"{name}Response":
        raise ValueError(f"{name}: the answer is not a {name}Response")
    output = operation(contract, name).output
    declared = {part for part, _ in output.body.type.elements}
    if declared and not any(etree.QName(child).localname in declared for child in answer):
        raise ValueError(f"{name}: the answer has no {', '.join(sorted(declared))}")
    try:
        return output.deserialize(root)
    except zeep.exceptions.Error as exc:  # the answer does not match the contract's message
        raise ValueError(f"{name}: the answer does not match the contract ({exc.__class__.__name__})") from None


def is_fault(status: int, body: bytes) -> bool:
    """Tell whether an HTTP 500 carries a SOAP fault (an answer) rather than a server failure."""
    return status == 500 and b"Fault>" in body  # noqa: PLR2004 - SOAP 1.1 faults come with HTTP 500


def body_operation(root: etree._Element) -> str:
    """Return the local name of a SOAP envelope's first Body element; IndexError when there is none."""
    body = root.find(f"{ENVELOPE}Body")
    if body is None:
        raise IndexError("no SOAP Body")
    return etree.QName(body[0]).localname


def service(contract: str, handlers: dict[str, Any], faults: Faults) -> Starlette:
    """Return a Starlette app answering SOAP POSTs at `/` with `handlers[operation](request) -> (status, body)`."""

    async def endpoint(http: Request) -> Response:
        if (refused := await faults.before(http)) is not None:
            return refused
        try:
            root = etree.fromstring(await http.body(), PARSER)
            name = body_operation(root)
        except (etree.XMLSyntaxError, TypeError, IndexError):
            return Response(fault("The message is not a SOAP 1.1 envelope"), 400, media_type=MEDIA)
        if name not in handlers:
            return Response(fault(f"ActionNotSupported: {name[:60]}"), 500, media_type=MEDIA)
        try:
            parsed = operation(contract, name).input.deserialize(root)
        except Exception:  # noqa: BLE001 - zeep raises many kinds; any is the caller's malformed request
            return Response(fault("The request does not match the operation's message"), 400, media_type=MEDIA)
        status, body = handlers[name](parsed)
        return Response(body, status, media_type=MEDIA)

    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])
    app.state.faults = faults
    return app

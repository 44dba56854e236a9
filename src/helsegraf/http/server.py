"""The HTTP/1.1 protocol of `helsegraf serve`: a bounded request head and a deadline to receive each request.

uvicorn alone does neither with httptools (its default when installed): the head is buffered without
limit (an 8 MB header is served; sixteen unfinished 30 MB heads held 513 MB), and its only timer is the
keep-alive timer, armed after a response, so a client that connects and stops mid-head is held forever.
With h11 (`--http h11`), `h11_max_incomplete_event_size` bounds the head but answers 400 and still has
no read deadline. This subclass adds, per connection:

- **head size**: at most `HELSEGRAF_MAX_HEADER_BYTES` (32 KiB) of request line and headers, counted as
  the bytes arrive (before the parser buffers them); over it, `431 Request Header Fields Too Large`;
- **header count**: at most `HELSEGRAF_MAX_HEADERS` (100) header lines; over it, 431;
- **read deadline**: a request must arrive whole (head and body) within `HELSEGRAF_REQUEST_TIMEOUT_S`
  (30 s) of its first byte, or of the connection's start; past it, `408 Request Timeout` and the
  connection is closed. The deadline is for receiving only: the time the app takes to answer is not
  counted (that is the request deadline's, in the app).

It is written here because uvicorn has no hook for either; it uses only the protocol's documented
callbacks (`data_received`, the parser callbacks, `on_message_complete`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any, Final

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from helsegraf.config import HttpSettings

HEAD_END: Final = b"\r\n\r\n"


class _HeadRefusedError(Exception):
    """Raised from a parser callback to stop parsing a head over the limits."""


def _reply(status: int, reason: str, message: str) -> bytes:
    # The head was refused before it was read, so the caller's X-Request-Id is not known: a new id, as the
    # app gives a request without one, so that even this answer can be found in the server's log.
    request_id = uuid.uuid4().hex
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT",
                                                                       "requestId": request_id}}]})  # fmt: skip
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"x-request-id: {request_id}\r\nconnection: close\r\n\r\n").encode() + body  # fmt: skip


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded head and a read deadline (see the module's text)."""

    settings: HttpSettings | None = None  # read from the environment once per worker

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if BoundedHttpToolsProtocol.settings is None:
            BoundedHttpToolsProtocol.settings = HttpSettings.from_env(os.environ)
        settings = BoundedHttpToolsProtocol.settings
        self.max_head, self.max_headers = settings.max_header_bytes, settings.max_headers
        self.read_timeout = settings.request_timeout_s
        self._in_head, self._head_bytes, self._headers, self._tail = True, 0, 0, b""
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False
        self._refused_status: tuple[int, str, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the read deadline: a connection that sends nothing is closed too."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Count the head's bytes as they arrive; refuse a head over the limit before it is buffered."""
        if self._refused:
            return
        if self._deadline is None:
            self._arm()
        if self._in_head:
            room = self.max_head - self._head_bytes
            if len(data) > room and (self._tail + data).find(HEAD_END, 0, len(self._tail) + room + 4) == -1:
                self._refuse(431, "Request Header Fields Too Large", f"the request head exceeds {self.max_head} bytes")
                return
            self._head_bytes += len(data)
            self._tail = data[-3:]
        super().data_received(data)

    def on_message_begin(self) -> None:
        """Count a new request's head from zero."""
        super().on_message_begin()
        self._headers = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header lines."""
        self._headers += 1
        if self._headers > self.max_headers:
            self._refused_status = (431, "Request Header Fields Too Large",
                                    f"the request has more than {self.max_headers} header lines")  # fmt: skip
            raise _HeadRefusedError
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """End the head's count: the body is bounded by the app (HELSEGRAF_MAX_BODY_BYTES)."""
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """Stop the deadline of a whole request; the next bytes are the next request's head."""
        self._disarm()
        self._in_head, self._head_bytes, self._tail = True, 0, b""
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:  # noqa: ARG002 - uvicorn's text is not for the client
        """Answer a parse error (as every error: JSON with a request id), or the refusal a parser callback raised."""
        if self._refused_status is not None:
            self._refuse(*self._refused_status)
            return
        self._refuse(400, "Bad Request", "the request is not valid HTTP/1.1")

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.more_body:
            return  # the request arrived whole; the app is answering it
        if cycle is not None:
            cycle.disconnected = True  # the app (waiting for the body) sees a disconnect
            cycle.message_event.set()
        if cycle is not None and cycle.response_started:
            self.transport.close()
            return
        self._refuse(408, "Request Timeout", f"the request did not arrive within {self.read_timeout:g} s")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_reply(status, reason, message))
            self.transport.close()

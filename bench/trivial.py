"""A trivial HTTP endpoint: the ceiling of the load generator, so that it is never mistaken for a server's.

Every request, whatever its path, gets the same small 200 JSON answer at once, over keep-alive
connections. It is written on asyncio's transport layer without a framework because it has to be
far faster than any server under test: whatever rate wrk reaches against it is the most the
generator can drive on this machine, with the same script, bodies and headers.

Run: `python -m bench.trivial --port 8803`.
"""

from __future__ import annotations

import argparse
import asyncio

ANSWER = b'{"data":{"persons":[]}}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(ANSWER)).encode()
    + b"\r\n\r\n"
    + ANSWER
)


class _Http(asyncio.Protocol):
    """Answer each complete request (headers and Content-Length body) on a connection in turn."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(RESPONSE)


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:port until cancelled."""
    server = await asyncio.get_running_loop().create_server(_Http, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse the port and serve."""
    parser = argparse.ArgumentParser(prog="python -m bench.trivial", description=__doc__)
    parser.add_argument("--port", type=int, default=8803, help="port on 127.0.0.1 (default 8803)")
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()

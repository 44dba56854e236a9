"""Faults a fake can be told to produce, for tests and operators' rehearsals of bad days.

Each is consumed as it fires (`fail_next=2` fails the next two calls), so a test says exactly what
goes wrong and when. Nothing here is reachable from outside the process: a fake's HTTP API is the
register's contract and nothing else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Faults:
    """What the fake does wrong next."""

    fail_next: int = 0  # answer the next N calls with 500
    throttle_next: int = 0  # answer the next N calls with 429 and Retry-After
    retry_after_s: float = 1  # whole seconds, as the header carries them
    delay_next: int = 0  # hold the next N calls for `delay_s` (a client timeout)
    delay_s: float = 5.0
    down: bool = False  # refuse every call with 503 until cleared
    calls: int = 0  # calls seen (after faults), for tests that count
    malformed: set[str] = field(default_factory=set)  # keys whose documents come back malformed
    withheld: set[str] = field(default_factory=set)  # keys a bulk call silently leaves out

    async def before(self, request: Request) -> Response | None:
        """Return the response a fault produces for this call, or None to answer normally."""
        del request
        if self.down:
            return JSONResponse({"title": "Service Unavailable", "status": 503}, status_code=503)
        if self.delay_next > 0:
            self.delay_next -= 1
            await asyncio.sleep(self.delay_s)
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return JSONResponse(
                {"title": "Too Many Requests", "status": 429},
                status_code=429,
                headers={"Retry-After": str(max(0, round(self.retry_after_s)))},
            )
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"title": "Internal Server Error", "status": 500}, status_code=500)
        self.calls += 1
        return None

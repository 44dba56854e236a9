"""The physical-limit baseline: the integrator answer with one hand-written SQL statement.

A minimal Starlette endpoint that answers scenarios (a) and (b), patient → GP → office HER-id
for one or many patients, with the same JSON as helsegraf's integrator query, from a single
round trip (every register joined in one statement, which only works because the benchmark
keeps every register in one database) through psycopg and orjson. No GraphQL, no
authorisation, no access log: the fastest way this answer can be produced here.

Run: `python -m bench.baseline --database-url URL --port 8801 [--workers 2]`; POST /answer with
`{"variables": {"nins": [...]}}`.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SQL = """
SELECT q.nin AS asked, p.nin, m.id AS membership_id, m.gp_her_id, c.id AS contract_id, c.office_org_number,
       o.name AS office_name, h.hpr_number, h.given_name, h.middle_name, h.family_name, op.her_id AS office_her_id,
       (SELECT coalesce(array_agg(a.address ORDER BY a.id), '{}') FROM ar_electronic_address a
         WHERE a.her_id = op.her_id AND a.type = 'E_EDI') AS edi
FROM unnest(%(nins)s::varchar[]) WITH ORDINALITY AS q(nin, ord)
LEFT JOIN preg_person p ON p.nin = q.nin
LEFT JOIN LATERAL (SELECT * FROM flr_list_membership m WHERE m.nin = q.nin AND m.valid_from <= %(on)s
                   AND (m.valid_to IS NULL OR m.valid_to > %(on)s) ORDER BY m.valid_from DESC LIMIT 1) m
       ON p.nin IS NOT NULL
LEFT JOIN flr_gp_contract c ON c.id = m.contract_id
LEFT JOIN LATERAL (SELECT g.hpr_number FROM flr_gp_period g WHERE g.contract_id = c.id AND g.valid_from <= %(on)s
                   AND (g.valid_to IS NULL OR g.valid_to > %(on)s)
                   ORDER BY CASE g.relationship WHEN 'LPFL' THEN 0 WHEN 'LPVI' THEN 1 ELSE 2 END, g.valid_from, g.id
                   LIMIT 1) g ON true
LEFT JOIN hpr_person h ON h.hpr_number = g.hpr_number
LEFT JOIN bed_organization o ON o.org_number = c.office_org_number
LEFT JOIN ar_communication_party gp ON gp.her_id = m.gp_her_id
LEFT JOIN ar_communication_party op ON op.her_id = gp.parent_her_id
ORDER BY q.ord
"""


def _person(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["nin"] is None:
        return None
    if row["membership_id"] is None:
        return {"nin": row["nin"], "gp": None}
    name = " ".join(p for p in (row["given_name"], row["middle_name"], row["family_name"]) if p)
    return {
        "nin": row["nin"],
        "gp": {
            "gp": {"hprNumber": row["hpr_number"], "name": {"full": name}} if row["hpr_number"] is not None else None,
            "gpHerId": row["gp_her_id"],
            "contract": {"id": str(row["contract_id"]),
                         "office": {"orgNumber": row["office_org_number"], "name": row["office_name"]}},
            "officeCommunicationParty": {"herId": row["office_her_id"], "electronicAddresses": row["edi"]}
            if row["office_her_id"] is not None else None,
        },
    }  # fmt: skip


def create_app(database_url: str) -> Starlette:
    """Build the baseline app."""
    connection = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0}
    pool = AsyncConnectionPool(database_url, min_size=2, max_size=10, open=False, kwargs=connection)

    async def answer(request: Request) -> Response:
        if pool.closed:
            await pool.open()
        nins = orjson.loads(await request.body())["variables"]["nins"]
        today = datetime.now(ZoneInfo("Europe/Oslo")).date()
        async with pool.connection() as conn:
            rows = await (await conn.execute(SQL, {"nins": nins, "on": today})).fetchall()
        return Response(orjson.dumps({"data": {"persons": [_person(r) for r in rows]}}), media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/answer", answer, methods=["POST"]), Route("/healthz", healthz)])


def app_from_env() -> Starlette:
    """uvicorn factory."""
    return create_app(os.environ["BASELINE_DATABASE_URL"])


def main() -> None:
    """Serve the baseline with uvicorn."""
    import uvicorn  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ["BASELINE_DATABASE_URL"] = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    uvicorn.run("bench.baseline:app_from_env", factory=True, host="127.0.0.1", port=args.port, workers=args.workers,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()

"""Following each register's published change feed into its database (one adapter per register).

`sources_from_env` reads where each register's source is and its credentials; `adapters` builds
the adapters; `run` drives them (engine.py). Adding a register: write `sync/<register>.py` with an
`Adapter` subclass and add it to `adapters` and `SYNCABLE`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helsegraf.sync.engine import BATCH_SIZE, BULK_FROM, Adapter

if TYPE_CHECKING:  # the adapters are imported where they are made: a PREG worker process needs only PREG's
    from helsegraf.sync.ar import ArSource
    from helsegraf.sync.bed import BedSource
    from helsegraf.sync.flr import FlrSource
    from helsegraf.sync.hpr import HprSource
    from helsegraf.sync.kodeverk import KodeverkSource
    from helsegraf.sync.preg import PregSource
    from helsegraf.sync.resh import ReshSourceAddress

MAX_DEFAULT_WORKERS = 8  # each worker keeps one bulk call in flight: more would press the source, not the cores


def default_workers() -> int:
    """Return PREG's worker processes when HELSEGRAF_SYNC_WORKERS is not set: one per core, none on one core.

    A worker makes bulk-by-id calls, validates and maps the answers; the sync's own process reads
    the event log and writes the rows. On one core a worker only adds the cost of handing rows
    between processes, so there are none; on two, two workers bootstrapped fastest (`bench sync`:
    1.5 to 1.8 times as fast as none). The cores counted are those this process may run on
    (a container's CPU set), at most `MAX_DEFAULT_WORKERS`.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(cores, MAX_DEFAULT_WORKERS)  # noqa: PLR2004 - one core: no workers


SYNCABLE = ("preg", "bed", "hpr", "ar", "kodeverk", "resh", "flr")
DEFAULT_UPSTREAM = "http://127.0.0.1:8700"


@dataclass(frozen=True)
class Sources:
    """Where each register's source is, with its credentials (repr never shows a secret)."""

    preg: PregSource
    bed: BedSource
    hpr: HprSource | None = None
    ar: ArSource | None = None
    kodeverk: KodeverkSource | None = None
    resh: ReshSourceAddress | None = None
    flr: FlrSource | None = None
    interval_s: float = 5.0
    timeout_s: float = 30.0
    concurrency: int = 4
    batch: int = BATCH_SIZE  # entries per transaction
    workers: int = 0  # worker processes for PREG's bulk calls, validation and mapping (0: in the engine's)
    bulk_from: int = BULK_FROM  # entries behind from which a bootstrap into empty tables builds indexes after it
    extra: Mapping[str, str] = field(default_factory=dict)


def sources_from_env(env: Mapping[str, str]) -> Sources:
    """Read HELSEGRAF_SYNC_* (defaults: the fakes of `helsegraf upstream` on 127.0.0.1:8700)."""
    from helsegraf.sync.ar import ArSource  # noqa: PLC0415 - see the imports above
    from helsegraf.sync.bed import BedSource  # noqa: PLC0415
    from helsegraf.sync.credentials import ClientKey, DPoPKey, env_flag, key_from_env, load_private_key  # noqa: PLC0415
    from helsegraf.sync.flr import FlrSource  # noqa: PLC0415
    from helsegraf.sync.hpr import HprSource  # noqa: PLC0415
    from helsegraf.sync.kodeverk import KodeverkSource  # noqa: PLC0415
    from helsegraf.sync.preg import PregSource  # noqa: PLC0415
    from helsegraf.sync.resh import ReshSourceAddress  # noqa: PLC0415

    upstream = env.get("HELSEGRAF_UPSTREAM_URL", DEFAULT_UPSTREAM).rstrip("/")
    preg_url = env.get("HELSEGRAF_SYNC_PREG_URL") or f"{upstream}/persontjenesten"
    token_url = env.get("HELSEGRAF_SYNC_PREG_TOKEN_URL")
    client_id = env.get("HELSEGRAF_SYNC_PREG_CLIENT_ID")
    secret = env.get("HELSEGRAF_SYNC_PREG_CLIENT_SECRET")
    key = key_from_env(env, "HELSEGRAF_SYNC_PREG_CLIENT_KEY")
    if "HELSEGRAF_SYNC_PREG_URL" not in env:  # the fake: its own token endpoint and rehearsal client
        token_url = token_url or f"{preg_url}/connect/token"
        client_id = client_id or "helsegraf-sync"
        secret = secret or (None if key else "rehearsal-secret")
    dpop_key = key_from_env(env, "HELSEGRAF_SYNC_PREG_DPOP_KEY")
    dpop = env_flag(env, "HELSEGRAF_SYNC_PREG_DPOP") or dpop_key is not None
    return Sources(
        preg=PregSource(
            preg_url,
            token_url,
            client_id,
            secret,
            scope=env.get("HELSEGRAF_SYNC_PREG_SCOPE", "nhn:hgd-persontjenesten-api/read-with-legal-basis"),
            client_key=ClientKey(load_private_key(key), env.get("HELSEGRAF_SYNC_PREG_KEY_ID")) if key else None,
            dpop=(DPoPKey(load_private_key(dpop_key, "the DPoP key")) if dpop_key else DPoPKey()) if dpop else None,
            audience=env.get("HELSEGRAF_SYNC_PREG_AUDIENCE"),
        ),
        bed=BedSource(env.get("HELSEGRAF_SYNC_BED_URL") or f"{upstream}/enhetsregisteret/api"),
        hpr=HprSource(
            env.get("HELSEGRAF_SYNC_HPR_URL") or f"{upstream}/hpr/",
            env.get("HELSEGRAF_SYNC_HPR_USERNAME"),
            env.get("HELSEGRAF_SYNC_HPR_PASSWORD"),
        ),
        ar=ArSource(env.get("HELSEGRAF_SYNC_AR_URL") or f"{upstream}/ar", env.get("HELSEGRAF_SYNC_AR_TOKEN")),
        kodeverk=KodeverkSource(env.get("HELSEGRAF_SYNC_KODEVERK_URL") or f"{upstream}/kodeverk"),
        resh=ReshSourceAddress(env.get("HELSEGRAF_SYNC_RESH_URL") or f"{upstream}/resh/"),
        flr=FlrSource(
            env.get("HELSEGRAF_SYNC_FLR_URL") or f"{upstream}/flr/",
            env.get("HELSEGRAF_SYNC_FLR_EXPORT_URL") or f"{upstream}/flr/export/",
            env.get("HELSEGRAF_SYNC_FLR_USERNAME"),
            env.get("HELSEGRAF_SYNC_FLR_PASSWORD"),
        ),
        interval_s=float(env.get("HELSEGRAF_SYNC_INTERVAL_S") or 5.0),
        timeout_s=float(env.get("HELSEGRAF_SYNC_TIMEOUT_S") or 30.0),
        concurrency=int(env.get("HELSEGRAF_SYNC_CONCURRENCY") or 4),
        batch=int(env.get("HELSEGRAF_SYNC_BATCH") or BATCH_SIZE),
        workers=int(env["HELSEGRAF_SYNC_WORKERS"]) if env.get("HELSEGRAF_SYNC_WORKERS") else default_workers(),
        bulk_from=int(env.get("HELSEGRAF_SYNC_BULK_FROM") or BULK_FROM),
    )


def adapters(sources: Sources, registers: frozenset[str] | set[str]) -> list[Adapter]:
    """Return the adapters of the chosen registers, in a stable order."""
    from helsegraf.sync.ar import ArAdapter  # noqa: PLC0415 - see the imports above
    from helsegraf.sync.bed import BedAdapter  # noqa: PLC0415
    from helsegraf.sync.flr import FlrAdapter  # noqa: PLC0415
    from helsegraf.sync.hpr import HprAdapter  # noqa: PLC0415
    from helsegraf.sync.kodeverk import KodeverkAdapter  # noqa: PLC0415
    from helsegraf.sync.preg import PregAdapter  # noqa: PLC0415
    from helsegraf.sync.resh import ReshAdapter  # noqa: PLC0415

    made: list[Adapter] = []
    if "preg" in registers:
        made.append(PregAdapter(sources.preg, concurrency=sources.concurrency, workers=sources.workers))
    if "bed" in registers:
        made.append(BedAdapter(sources.bed, concurrency=sources.concurrency))
    if "hpr" in registers and sources.hpr is not None:
        made.append(HprAdapter(sources.hpr, concurrency=sources.concurrency))
    if "ar" in registers and sources.ar is not None:
        made.append(ArAdapter(sources.ar, concurrency=sources.concurrency))
    if "kodeverk" in registers and sources.kodeverk is not None:
        made.append(KodeverkAdapter(sources.kodeverk, concurrency=sources.concurrency))
    if "resh" in registers and sources.resh is not None:
        made.append(ReshAdapter(sources.resh, concurrency=sources.concurrency))
    if "flr" in registers and sources.flr is not None:
        made.append(FlrAdapter(sources.flr, concurrency=sources.concurrency))
    return made

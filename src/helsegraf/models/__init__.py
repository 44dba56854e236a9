"""Typed SQLAlchemy models, one module per register; `METADATA` maps each register to its tables."""

from __future__ import annotations

from sqlalchemy import MetaData

from helsegraf import registers
from helsegraf.models import ar, audit, bed, flr, hpr, kodeverk, preg, resh

METADATA: dict[str, MetaData] = {
    registers.PREG: preg.PregBase.metadata,
    registers.FLR: flr.FlrBase.metadata,
    registers.HPR: hpr.HprBase.metadata,
    registers.RESH: resh.ReshBase.metadata,
    registers.AR: ar.ArBase.metadata,
    registers.BED: bed.BedBase.metadata,
    registers.KODEVERK: kodeverk.KodeverkBase.metadata,
    registers.AUDIT: audit.AuditBase.metadata,
}

"""Root resolvers' helpers and the per-request loaders, one module per register.

`Loaders` gathers every register's loaders into one per-request container: loaders are
created on first use, so a request pays only for the edges it walks.
"""

from __future__ import annotations

from helsegraf.db import Database
from helsegraf.loaders.ar import ArLoaders
from helsegraf.loaders.audit import AuditLoaders
from helsegraf.loaders.bed import BedLoaders
from helsegraf.loaders.flr import FlrLoaders
from helsegraf.loaders.hpr import HprLoaders
from helsegraf.loaders.kodeverk import KodeverkLoaders
from helsegraf.loaders.preg import PregLoaders
from helsegraf.loaders.resh import ReshLoaders


class Loaders(PregLoaders, FlrLoaders, HprLoaders, ReshLoaders, ArLoaders, BedLoaders, KodeverkLoaders, AuditLoaders):
    """Every loader of one request."""

    def __init__(self, db: Database) -> None:
        self.db = db

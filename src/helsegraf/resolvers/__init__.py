"""Root resolvers' helpers and the per-request loaders, one module per register.

`Loaders` gathers every register's loaders into one per-request container: loaders are
created on first use, so a request pays only for the edges it walks.
"""

from __future__ import annotations

from helsegraf.db import Database
from helsegraf.resolvers.ar import ArLoaders
from helsegraf.resolvers.audit import AuditLoaders
from helsegraf.resolvers.bed import BedLoaders
from helsegraf.resolvers.flr import FlrLoaders
from helsegraf.resolvers.hpr import HprLoaders
from helsegraf.resolvers.kodeverk import KodeverkLoaders
from helsegraf.resolvers.preg import PregLoaders
from helsegraf.resolvers.resh import ReshLoaders


class Loaders(PregLoaders, FlrLoaders, HprLoaders, ReshLoaders, ArLoaders, BedLoaders, KodeverkLoaders, AuditLoaders):
    """Every loader of one request."""

    def __init__(self, db: Database) -> None:
        self.db = db

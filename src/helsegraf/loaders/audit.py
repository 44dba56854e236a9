"""Access-log loaders: pages of a person's log and its length."""

from __future__ import annotations

from functools import cached_property

from helsegraf.authz.access_log import AccessLogCountLoader, AccessLogLoader
from helsegraf.db import Database


class AuditLoaders:
    """The access log's loaders of one request."""

    db: Database

    @cached_property
    def access_log(self) -> AccessLogLoader:
        """AccessLogByNinLoader."""
        return AccessLogLoader(self.db)

    @cached_property
    def access_log_count(self) -> AccessLogCountLoader:
        """AccessLogCountByNinLoader."""
        return AccessLogCountLoader(self.db)

"""Feeds named by change times rather than sequence numbers (HPR, RESH, FLR): a window since a moment.

HPR's `HentRegisterEndringer(fra, til)`, RESH's `GetModifiedReshIds(date)` and FLR's contract list
(`QueryGPContracts`, each contract with its `UpdatedOn`) name what changed since a moment. Their
position is a time, in whole seconds since 1970: position P means every change stamped before
second P has been applied, and a record changed at moment t has the position `floor(t) + 1`.
`head` reads the whole window since the stored position once (the records, each with its change
time); `page` hands it out in position order, cut only between seconds, so every record stamped in
one second is applied in the same batch as the others of that second.

**Overlap.** A change can become visible after a window that should have held it was read (stamped
at second S, committed after the read that moved the cursor past S): reading strictly from the
cursor would lose it. So the window starts `overlap_s` before the cursor, and a record found there
that this follower has not handed out with that stamp is applied again (`Entry.reread`, which the
engine applies without moving the cursor back). What was handed out is remembered in memory, so a
quiet source costs one window read per poll and no rewrites; after a restart the overlap is applied
once more (idempotently).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx

from helsegraf.sync.engine import Adapter, Entry

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def position_of(moment: datetime) -> int:
    """Return a change's position: the second after the one it was stamped in."""
    return int((moment - EPOCH).total_seconds()) + 1


def moment_of(position: int) -> datetime:
    """Return the moment a position begins at (the `since` of the window after it)."""
    return EPOCH + timedelta(seconds=max(position, 0))


class WindowAdapter(Adapter):
    """An adapter whose feed is a window of changes since a moment."""

    page_size = 500
    overlap_s = 0  # seconds before the cursor read again (HPR and RESH: see the module's notes)

    _window: tuple[int, list[Entry]] | None = None
    _rereads: list[Entry] | None = None
    _seen: set[tuple[str, int]] | None = None
    last_position: int | None = None  # the last position of the window's final page, once handed out

    def contiguous(self, feed: str, after: int) -> bool:
        """Positions are seconds: holes between them are quiet seconds, not lost changes."""
        del feed, after
        return False

    @abstractmethod
    async def changed(self, client: httpx.AsyncClient, feed: str, since: datetime, after: int) -> list[Entry]:
        """Return an entry per record changed at or after `since` (positions from `position_of`)."""

    async def head(self, client: httpx.AsyncClient, feed: str, after: int) -> int:
        """Read the window since the position; return the position after its newest change."""
        since = moment_of(after - self.overlap_s if after > 0 else 0)
        found = sorted(await self.changed(client, feed, since, after), key=lambda e: (e.position, e.key))
        seen = {s for s in (self._seen or set()) if s[1] > after - self.overlap_s}
        self._seen = seen
        self._rereads = [
            replace(e, reread=True) for e in found if e.position <= after and (e.key, e.position) not in seen
        ]
        entries = [e for e in found if e.position > after]
        self._window = (after, entries)
        self.last_position = None
        return max((e.position for e in entries), default=after)

    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return the next changes after the position, cut between seconds."""
        if self._window is None or after < self._window[0]:
            await self.head(client, feed, after)
        assert self._window is not None  # noqa: S101 - set by head
        entries = [e for e in self._window[1] if e.position > after]
        if len(entries) > self.page_size:
            boundary = entries[self.page_size - 1].position
            entries = [e for e in entries if e.position <= boundary]
        elif entries:
            self.last_position = entries[-1].position
        rereads, self._rereads = self._rereads or [], None  # the window's first page takes them
        if rereads and not entries:
            self.last_position = rereads[-1].position
        chosen = rereads + entries
        if self._seen is not None:
            self._seen.update((e.key, e.position) for e in chosen)
        return chosen

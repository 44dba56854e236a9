"""Opaque ids and cursors: internal serial numbers sealed so they can be neither read nor guessed.

List memberships, access-log entries and list positions have serial ids in the registers. Handed
out as they are, a caller could enumerate them (`_entities` with id 1, 2, 3 ...) or read them out of
a cursor. Every such id leaves as one AES block holding a tag for its kind and the number,
encrypted with the server's secret: a pseudo-random permutation, so the same number always gives the
same id (clients may cache by id), different numbers never collide, and a forged id matches a kind's
tag with probability 2^-64. The `cryptography` package has no format-preserving or single-block
authenticated primitive for this; one block of AES under a secret key is the standard construction.

The secret is `HELSEGRAF_ID_SECRET` (any string; every replica and subgraph of a deployment needs the
same one), else a random one kept in `HELSEGRAF_HOME/id-secret` (mode 0600, created on first use).
Rotating it invalidates every id and cursor handed out before.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECRET_FILE: Final = "id-secret"  # noqa: S105 - the name of the file, not a secret
_BLOCK: Final = 16
_TAG: Final = 8


class InvalidOpaqueIdError(ValueError):
    """An id or cursor that this server did not hand out (or handed out for another kind of thing)."""


def load_secret(home: Path, configured: str | None, file_name: str = SECRET_FILE) -> bytes:
    """Return a deployment secret: the configured one, else `home/file_name` (random on first use, mode 0600)."""
    if configured:
        return configured.encode()
    path = home / file_name
    if path.exists():
        return path.read_bytes().strip()
    home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(value)
    return value


@functools.cache
def _tag(kind: str) -> bytes:
    return hashlib.sha256(kind.encode()).digest()[:_TAG]


class Sealer:
    """Seals and opens the numbers of one deployment."""

    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(b"helsegraf opaque ids\0" + secret).digest()[:_BLOCK]
        # One block at a time: ECB of a single block is the block cipher itself (a keyed permutation).
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - a single block, see the module docstring
        # ECB carries nothing from one block to the next, so one context per thread seals every block
        # (`update` of a whole block returns its ciphertext at once): no context to make per id.
        self._contexts = threading.local()

    @staticmethod
    def _tag(kind: str) -> bytes:
        return _tag(kind)

    def seal(self, kind: str, number: int) -> str:
        """Return the opaque id of `number` as a thing of `kind` (22 URL-safe characters)."""
        block = _tag(kind) + number.to_bytes(_BLOCK - _TAG, "big", signed=True)
        encryptor = getattr(self._contexts, "encryptor", None)
        if encryptor is None:
            encryptor = self._contexts.encryptor = self._cipher.encryptor()
        sealed = encryptor.update(block)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, kind: str, opaque: str) -> int:
        """Return the number an opaque id of `kind` stands for; raise InvalidOpaqueIdError for anything else."""
        if len(opaque) != 22:  # noqa: PLR2004 - 16 bytes in unpadded base64
            raise InvalidOpaqueIdError(kind)
        try:
            sealed = base64.urlsafe_b64decode(opaque + "==")
        except (binascii.Error, ValueError):
            raise InvalidOpaqueIdError(kind) from None
        if len(sealed) != _BLOCK:
            raise InvalidOpaqueIdError(kind)
        decryptor = self._cipher.decryptor()
        block = decryptor.update(sealed) + decryptor.finalize()
        if block[:_TAG] != self._tag(kind):
            raise InvalidOpaqueIdError(kind)
        return int.from_bytes(block[_TAG:], "big", signed=True)

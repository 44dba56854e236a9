"""Opaque ids: one AES block per id, the same id for the same number, whatever was sealed before."""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from helsegraf.authz.opaque import InvalidOpaqueIdError, Sealer


def _one_shot(secret: bytes, kind: str, number: int) -> str:
    """The id as a fresh single-block encryption gives it (the construction the module docstring names)."""
    key = hashlib.sha256(b"helsegraf opaque ids\0" + secret).digest()[:16]
    block = hashlib.sha256(kind.encode()).digest()[:8] + number.to_bytes(8, "big", signed=True)
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block, as the module does
    return base64.urlsafe_b64encode(encryptor.update(block) + encryptor.finalize()).rstrip(b"=").decode()


def test_every_id_is_its_own_single_block_encryption() -> None:
    sealer = Sealer(b"secret")
    numbers = [0, 1, -1, 2**63 - 1, -(2**63), *range(2, 500)]
    for kind in ("membership", "log-entry"):
        ids = [sealer.seal(kind, n) for n in numbers]
        assert ids == [_one_shot(b"secret", kind, n) for n in numbers]
        assert len(set(ids)) == len(numbers)
        assert [sealer.open(kind, i) for i in ids] == numbers
    assert sealer.seal("membership", 7) == sealer.seal("membership", 7)
    with pytest.raises(InvalidOpaqueIdError):
        sealer.open("log-entry", sealer.seal("membership", 7))


def test_ids_sealed_in_other_threads_are_the_same() -> None:
    sealer = Sealer(b"secret")
    expected = [_one_shot(b"secret", "membership", n) for n in range(200)]
    found: list[list[str]] = []

    def work() -> None:
        found.append([sealer.seal("membership", n) for n in range(200)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [expected] * 4

"""The loaders' `load_many`: the values, batching, caching and errors of aiodataloader's, one wake-up per batch."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from aiodataloader import DataLoader

from helsegraf.loaders.base import Loader


class Doubling(Loader):
    """Doubles its keys, one call per batch; a negative key fails its batch's keys."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []

    async def batch_load_fn(self, keys: list[int]) -> list[Any]:
        self.batches.append(list(keys))
        if any(k < 0 for k in keys):
            raise ValueError("negative")
        return [2 * k for k in keys]


class Stock(DataLoader):  # type: ignore[type-arg]
    async def batch_load_fn(self, keys: list[int]) -> list[int]:
        return [2 * k for k in keys]


async def test_load_many_answers_as_aiodataloaders_own() -> None:
    ours, stock = Doubling(), Stock()
    keys = [3, 1, 3, 2, 1000, 0]

    assert await ours.load_many(keys) == await stock.load_many(keys) == [6, 2, 6, 4, 2000, 0]
    assert await ours.load_many([]) == []
    assert ours.batches == [[3, 1, 2, 1000, 0]]  # one batch, each key once
    assert await ours.load_many([1, 7]) == [2, 14]
    assert ours.batches[1:] == [[7]]  # 1 came from the cache


async def test_concurrent_load_many_and_load_share_one_batch() -> None:
    loader = Doubling()

    found = await asyncio.gather(loader.load_many([1, 2]), loader.load(5), loader.load_many([2, 9]))

    assert found == [[2, 4], 10, [4, 18]]
    assert loader.batches == [[1, 2, 5, 9]]


async def test_a_failed_batch_fails_its_caller_and_leaves_no_unretrieved_error() -> None:
    loader = Doubling()
    handler_calls: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: handler_calls.append(context))

    with pytest.raises(ValueError, match="negative"):
        await loader.load_many([4, -1, 6])
    assert await loader.load(6) == 12  # a failed batch's keys are not cached: asked again
    assert loader.batches == [[4, -1, 6], [6]]
    gc.collect()
    await asyncio.sleep(0)

    assert handler_calls == []  # no "Future exception was never retrieved"
    with pytest.raises(TypeError, match="Iterable"):
        loader.load_many(5)  # type: ignore[arg-type]


async def test_keys_asked_one_by_one_then_many_share_one_batch() -> None:
    loader = Doubling()

    one = loader.load(4)
    many = loader.load_many([4, 3, 3])

    assert await many == [8, 6, 6]
    assert await one == 8
    assert loader.batches == [[4, 3]]


async def test_a_none_key_is_refused_as_by_load_and_the_keys_before_it_are_still_answered() -> None:
    loader, stock = Doubling(), Stock()

    with pytest.raises(TypeError) as ours:
        loader.load_many([1, None, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError) as theirs:
        stock.load_many([1, None, 2])  # type: ignore[list-item]

    assert str(ours.value) == str(theirs.value)
    assert await asyncio.wait_for(loader.load_many([1, 2]), timeout=5) == [2, 4]  # the batch still ran
    assert loader.batches == [[1, 2]]  # 1 stayed queued, and 2 joined it

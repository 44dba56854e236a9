"""Metrics the data layer records (the HTTP layer's own are in http/observability.py)."""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import Histogram

BATCHES: Final = Histogram(
    "helsegraf_dataloader_batch_size", "Keys per dataloader batch", ["loader"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000),
)  # fmt: skip


_children: dict[str, Any] = {}


def observe_batch(loader: str, size: int) -> None:
    """Record a dataloader batch's size."""
    child = _children.get(loader)
    if child is None:
        child = _children[loader] = BATCHES.labels(loader)
    child.observe(size)

"""A least-recently-used cache bounded by the total size of what it holds."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """Keeps values while their summed sizes fit in `budget` bytes.

    Values larger than `max_item` are refused, so one huge document cannot
    flush everything else out (default: 1/8 of the budget).
    """

    def __init__(self, *, budget: int, max_item: int | None = None) -> None:
        if budget < 0:
            raise ValueError("cache budget must be >= 0")
        self.budget = budget
        self.max_item = budget // 8 if max_item is None else min(max_item, budget)
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: K, value: V, size: int) -> bool:
        """Store `value`; False when it is too large to be cached at all."""
        if size > self.max_item:
            return False
        old = self._items.pop(key, None)
        if old is not None:
            self._total -= old[1]
        self._items[key] = (value, size)
        self._total += size
        while self._total > self.budget:
            _, (_, evicted) = self._items.popitem(last=False)
            self._total -= evicted
        return True

    @property
    def total_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

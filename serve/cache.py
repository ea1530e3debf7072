"""A scan-resistant cache bounded by the total size of what it holds (W-TinyLFU, by bytes).

Plain LRU drops to no hits at all when a cyclic working set is just over its budget:
every entry is evicted just before it is asked for again. Here a new entry first
lands in a small LRU window; when the window overflows, its oldest entry may only
enter the main segment by evicting entries that were asked for less often, as
judged by a frequency sketch of recent requests. Ties keep the incumbent, so a
cycle bigger than the cache keeps a stable part of itself cached, and a one-time
scan cannot flush documents that are asked for again and again.

The main segment is segmented LRU: entries hit while on probation move to the
protected segment (80% of main), whose overflow goes back to probation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from serve.sketch import FrequencySketch

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WINDOW_SHARE = 0.01
PROTECTED_SHARE = 0.8
# Sizing the sketch needs an entry count; budgets are in bytes. A guess at a small
# document only makes the sketch bigger than it needs to be (at most 256 KiB).
TYPICAL_ENTRY_BYTES = 2048

_Entry = tuple[V, int]  # (value, size in bytes)


class ByteCache(Generic[K, V]):
    """Keeps values while their summed sizes fit in `budget` bytes.

    Values larger than `max_item` are refused, so one huge document cannot
    flush everything else out (default: 1/8 of the budget). The frequency
    sketch is a fixed few hundred KiB outside the budget.
    """

    def __init__(self, *, budget: int, max_item: int | None = None) -> None:
        if budget < 0:
            raise ValueError("cache budget must be >= 0")
        self.budget = budget
        self.max_item = budget // 8 if max_item is None else min(max_item, budget)
        self._window_budget = int(budget * WINDOW_SHARE)
        self._main_budget = budget - self._window_budget
        self._protected_budget = int(self._main_budget * PROTECTED_SHARE)
        self._window: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._probation: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._protected: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._window_bytes = self._probation_bytes = self._protected_bytes = 0
        self._sketch = FrequencySketch.for_entries(budget // TYPICAL_ENTRY_BYTES)
        self.hits = self.misses = 0

    def get(self, key: K) -> V | None:
        """The cached value, or None; either way the request counts towards `key`'s frequency."""
        self._sketch.increment(key)
        entry = self._protected.get(key)
        if entry is not None:
            self.hits += 1
            self._protected.move_to_end(key)
            return entry[0]
        entry = self._window.get(key)
        if entry is not None:
            self.hits += 1
            self._window.move_to_end(key)
            return entry[0]
        entry = self._probation.pop(key, None)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._probation_bytes -= entry[1]
        self._protect(key, entry)
        return entry[0]

    def put(self, key: K, value: V, size: int) -> bool:
        """Offer `value` (its `get` already counted the request); True if it is cached now."""
        if size > self.max_item:
            return False
        self._discard(key)
        self._window[key] = (value, size)
        self._window_bytes += size
        while self._window_bytes > self._window_budget:
            candidate, entry = self._window.popitem(last=False)
            self._window_bytes -= entry[1]
            self._admit(candidate, entry)
        return key in self

    def stats(self) -> dict[str, int]:
        """What /healthz reports: whether the budget suits the working set shows in the hit count."""
        return {
            "entries": len(self),
            "bytes": self.total_bytes,
            "budget": self.budget,
            "hits": self.hits,
            "misses": self.misses,
        }

    @property
    def total_bytes(self) -> int:
        return self._window_bytes + self._probation_bytes + self._protected_bytes

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)

    def __contains__(self, key: object) -> bool:
        return key in self._window or key in self._probation or key in self._protected

    def _admit(self, candidate: K, entry: _Entry[V]) -> None:
        """Let a window leaver into probation if it is asked for more often than what it would evict."""
        size = entry[1]
        if size > self._main_budget:
            return
        frequency = self._sketch.frequency(candidate)
        while self._probation_bytes + self._protected_bytes + size > self._main_budget:
            segment = self._probation or self._protected
            victim = next(iter(segment))
            if frequency <= self._sketch.frequency(victim):
                return  # the candidate loses; what the cache holds stays
            victim_size = segment.pop(victim)[1]
            if segment is self._probation:
                self._probation_bytes -= victim_size
            else:
                self._protected_bytes -= victim_size
        self._probation[candidate] = entry
        self._probation_bytes += size

    def _protect(self, key: K, entry: _Entry[V]) -> None:
        self._protected[key] = entry
        self._protected_bytes += entry[1]
        while self._protected_bytes > self._protected_budget:
            demoted, demoted_entry = self._protected.popitem(last=False)
            self._protected_bytes -= demoted_entry[1]
            self._probation[demoted] = demoted_entry
            self._probation_bytes += demoted_entry[1]

    def _discard(self, key: K) -> None:
        for segment in (self._window, self._probation, self._protected):
            entry = segment.pop(key, None)
            if entry is not None:
                if segment is self._window:
                    self._window_bytes -= entry[1]
                elif segment is self._probation:
                    self._probation_bytes -= entry[1]
                else:
                    self._protected_bytes -= entry[1]
                return

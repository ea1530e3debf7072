"""A scan-resistant cache bounded by the total size of what it holds (TinyLFU admission, by bytes).

Plain LRU drops to no hits at all when a cyclic working set is just over its budget:
every entry is evicted just before it is asked for again. Here, once the cache is
full, a new entry gets in only by evicting entries asked for no more often than it,
as judged by a frequency sketch of recent requests: a one-time scan cannot flush
documents that are asked for again and again. Between equally popular entries the
incumbent stays unless the newcomer is smaller than what it would evict, so a cycle
bigger than the cache keeps a stable part of itself cached, settling on its smaller
documents (the same bytes serve more requests from memory). A refused entry costs a
few sketch look-ups and is never stored, so a working set far over budget pays
little for the cache.

What is cached is segmented LRU: new entries start on probation; one hit moves an
entry to the protected segment (80% of the budget), whose overflow goes back to
probation. Victims come from probation first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from serve.sketch import FrequencySketch

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

PROTECTED_SHARE = 0.8
ADMISSION_MARGIN = 1
# How many of each segment's oldest entries a tie looks through for a larger victim: enough to
# reach past a run of equally small ones, few enough to keep a refused miss cheap.
LOOKAHEAD = 16
# Sizing the sketch needs an entry count; budgets are in bytes. The app adds 512 bytes of
# overhead to every entry, so a cache holds at most budget / 512 of them (sketch: at most 256 KiB).
TYPICAL_ENTRY_BYTES = 512

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
        self._protected_budget = int(budget * PROTECTED_SHARE)
        self._probation: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._protected: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._probation_bytes = self._protected_bytes = 0
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
        if not self._make_room(key, size):
            return False
        self._probation[key] = (value, size)
        self._probation_bytes += size
        return True

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
        return self._probation_bytes + self._protected_bytes

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def __contains__(self, key: object) -> bool:
        return key in self._protected or key in self._probation

    def _make_room(self, candidate: K, size: int) -> bool:
        """Evict for `candidate` if that trades nothing more popular away; False if it stays out.

        Victims come oldest first from probation, then protected. Any of them asked for
        more often than the candidate keeps it out: a one-time scan cannot flush hot
        documents. A candidate clearly more popular than all of them gets in. Between
        equals, the smaller side wins: the same bytes then serve more requests, so a cycle
        bigger than the budget settles on keeping its smaller documents.
        """
        excess = self._probation_bytes + self._protected_bytes + size - self.budget
        if excess <= 0:
            return True
        frequency = self._sketch.frequency(candidate)
        victims: list[tuple[OrderedDict[K, _Entry[V]], K]] = []
        freed = most_popular = 0
        for segment in (self._probation, self._protected):
            for victim, (_, victim_size) in segment.items():
                victim_frequency = self._sketch.frequency(victim)
                if victim_frequency > frequency:
                    return False
                victims.append((segment, victim))
                freed += victim_size
                most_popular = max(most_popular, victim_frequency)
                if freed >= excess:
                    break
            if freed >= excess:
                break
        # A margin of one: a cycle's next documents have been counted once more than the rest.
        if frequency <= most_popular + ADMISSION_MARGIN and size * len(victims) >= freed:
            # Between equals, the only trade worth making frees more bytes than it takes. The
            # oldest entries may all be as small as the candidate while larger ones sit behind
            # them (often in protected, where hits put them): look a little further for one.
            if self._evict_larger(size, frequency, excess):
                return True
            # The next newcomer meets another victim: ties then settle on the smaller documents
            # in a few passes of a cycle instead of waiting for hits to reorder probation.
            segment, victim = victims[0]
            segment.move_to_end(victim)
            return False
        for _, victim in victims:
            self._discard(victim)
        return True

    def _evict_larger(self, size: int, frequency: int, excess: int) -> bool:
        """Evict one old entry larger than the candidate, no more popular, freeing `excess`."""
        for segment in (self._probation, self._protected):
            for seen, (victim, (_, victim_size)) in enumerate(segment.items()):
                if seen == LOOKAHEAD:
                    break
                larger = victim_size > size and victim_size >= excess
                if larger and self._sketch.frequency(victim) <= frequency:
                    self._discard(victim)  # the loop ends here: the segment changing under it is safe
                    return True
        return False

    def _protect(self, key: K, entry: _Entry[V]) -> None:
        self._protected[key] = entry
        self._protected_bytes += entry[1]
        while self._protected_bytes > self._protected_budget:
            demoted, demoted_entry = self._protected.popitem(last=False)
            self._protected_bytes -= demoted_entry[1]
            self._probation[demoted] = demoted_entry
            self._probation_bytes += demoted_entry[1]

    def _discard(self, key: K) -> None:
        entry = self._probation.pop(key, None)
        if entry is not None:
            self._probation_bytes -= entry[1]
            return
        entry = self._protected.pop(key, None)
        if entry is not None:
            self._protected_bytes -= entry[1]

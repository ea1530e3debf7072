"""A count-min sketch of recent access frequencies, the admission filter of the body cache."""

from __future__ import annotations

from collections.abc import Hashable

ROWS = 4
ROW_BITS_MAX = 16  # four 16-bit slices of one 64-bit hash pick a counter in each row
COUNTER_MAX = 15
MIN_WIDTH = 4096  # 16 KiB: below that, collisions of a small cache's keys blur every estimate
# Counters halve once this many accesses per counter of a row were recorded, so old
# popularity fades and a document that was hot yesterday cannot squat the cache.
SAMPLES_PER_COUNTER = 10
_MASK64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15  # odd, golden-ratio bits: spreads Python's hash over all 64 bits
_HALVE = bytes(i >> 1 for i in range(256))


class FrequencySketch:
    """Approximate per-key access counts (0-15) in a fixed `4 * width` bytes.

    Estimates never undercount; collisions can only overcount, and taking the
    smallest of four independent counters keeps that rare.
    """

    def __init__(self, *, width: int) -> None:
        if width < 1 or width & (width - 1) or width > 1 << ROW_BITS_MAX:
            raise ValueError(f"sketch width must be a power of two up to {1 << ROW_BITS_MAX}")
        self._shift = width.bit_length() - 1
        self._mask = width - 1
        self._table = bytearray(ROWS * width)
        self._width = width
        self._sample_size = SAMPLES_PER_COUNTER * width
        self._samples = 0

    @classmethod
    def for_entries(cls, entries: int) -> FrequencySketch:
        """A sketch sized for a cache that holds about `entries` items."""
        width = 1 << max(entries - 1, 1).bit_length()
        return cls(width=min(max(width, MIN_WIDTH), 1 << ROW_BITS_MAX))

    @property
    def nbytes(self) -> int:
        return len(self._table)

    # Both methods are on every request's path: the four counters are addressed inline, no loops.
    def increment(self, key: Hashable) -> None:
        table, mask, shift, width = self._table, self._mask, self._shift, self._width
        h = _spread(key)
        i = h & mask
        if table[i] < COUNTER_MAX:
            table[i] += 1
        i = width + ((h >> shift) & mask)
        if table[i] < COUNTER_MAX:
            table[i] += 1
        i = 2 * width + ((h >> 2 * shift) & mask)
        if table[i] < COUNTER_MAX:
            table[i] += 1
        i = 3 * width + ((h >> 3 * shift) & mask)
        if table[i] < COUNTER_MAX:
            table[i] += 1
        self._samples += 1
        if self._samples >= self._sample_size:
            self._age()

    def frequency(self, key: Hashable) -> int:
        table, mask, shift, width = self._table, self._mask, self._shift, self._width
        h = _spread(key)
        return min(
            table[h & mask],
            table[width + ((h >> shift) & mask)],
            table[2 * width + ((h >> 2 * shift) & mask)],
            table[3 * width + ((h >> 3 * shift) & mask)],
        )

    def _age(self) -> None:
        self._table = bytearray(self._table.translate(_HALVE))
        self._samples //= 2


def _spread(key: Hashable) -> int:
    h = (hash(key) * _MIX) & _MASK64
    return h ^ (h >> 29)  # the multiply moves entropy up; fold some back into the low slices

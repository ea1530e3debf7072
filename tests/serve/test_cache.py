"""The body cache's eviction policy: byte budget, scan resistance, frequency over recency."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from serve.cache import ByteCache
from serve.sketch import FrequencySketch

KB = 1000


def cycle(cache: ByteCache[str, int], keys: list[str], size: int, rounds: int) -> float:
    """Request `keys` in order `rounds` times, filling misses; the hit ratio of the last round."""
    hits = 0
    for round_ in range(rounds):
        hits = 0
        for key in keys:
            if cache.get(key) is not None:
                hits += 1
            else:
                cache.put(key, round_, size)
            assert cache.total_bytes <= cache.budget
    return hits / len(keys)


def test_cache_returns_what_was_stored() -> None:
    cache: ByteCache[str, bytes] = ByteCache(budget=800)
    assert cache.put("a", b"alpha", 5)
    assert cache.get("a") == b"alpha"
    assert cache.get("missing") is None


@pytest.mark.parametrize("overflow", [1.05, 2.0, 4.0])
def test_cache_cyclic_scan_over_budget_keeps_a_useful_fraction_cached(overflow: float) -> None:
    # LRU serves none of these from memory: each key is evicted just before it comes round again.
    cache: ByteCache[str, int] = ByteCache(budget=1000 * KB)
    keys = [f"doc{i}" for i in range(int(1000 * overflow))]
    best = 1 / overflow
    assert cycle(cache, keys, KB, rounds=5) >= 0.8 * best


def test_cache_cyclic_scan_that_fits_is_all_hits() -> None:
    cache: ByteCache[str, int] = ByteCache(budget=1000 * KB)
    assert cycle(cache, [f"doc{i}" for i in range(900)], KB, rounds=3) == 1.0


def test_cache_hot_items_survive_a_one_time_scan() -> None:
    cache: ByteCache[str, int] = ByteCache(budget=1000 * KB)
    hot = [f"hot{i}" for i in range(500)]
    cycle(cache, hot, KB, rounds=3)
    scan = [f"scan{i}" for i in range(10_000)]  # ten times the budget, each key once
    cycle(cache, scan, KB, rounds=1)
    assert sum(key in cache for key in hot) >= 0.95 * len(hot)
    assert cache.total_bytes <= cache.budget


def test_cache_cycle_over_budget_settles_on_its_smaller_documents() -> None:
    settle_on_smaller_documents()


@pytest.mark.parametrize("seeds", [range(40), range(40, 80)])
def test_cache_outcomes_hold_whatever_the_hash_seed(seeds: range) -> None:
    # Keys are hashed with Python's per-process random seed, and CI failed twice on unlucky seeds: about
    # one in thirty left up to fifteen small documents out behind equally small victims; about one in
    # fifty let a one-time scan key whose sketch counters all collided with warm keys' (estimate 9
    # against the hot item's 8) evict the hot item, while the sketch was 1,024 counters wide. Each seed
    # is a fresh interpreter.
    script = (
        "from tests.serve.test_cache import settle_on_smaller_documents as s, hot_item_survives_a_scan as h"
        "; s(); h()"
    )
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"PYTHONHASHSEED={seed}: {done.stderr[-400:]}"


def settle_on_smaller_documents() -> None:
    # Large documents come first and fill the cache. Keeping them (as frequency alone would, every
    # document being asked for equally often) serves 66 of 400 requests from memory; the small ones
    # fit in half the budget and serve far more.
    cache: ByteCache[str, int] = ByteCache(budget=600 * KB)
    sizes = {**{f"big{i}": 9 * KB for i in range(100)}, **{f"small{i}": KB for i in range(300)}}
    for _ in range(3):
        hits = 0
        for key, size in sizes.items():
            if cache.get(key) is not None:
                hits += 1
            else:
                cache.put(key, 0, size)
            assert cache.total_bytes <= cache.budget
    assert hits >= 0.8 * len(sizes)
    assert all(f"small{i}" in cache for i in range(300))


def test_cache_large_hot_item_survives_a_scan_of_small_ones() -> None:
    hot_item_survives_a_scan()


def hot_item_survives_a_scan() -> None:
    cache: ByteCache[str, int] = ByteCache(budget=100 * KB)
    for _ in range(8):
        if cache.get("hot") is None:
            cache.put("hot", 1, 12 * KB)
        cycle(cache, [f"warm{i}" for i in range(80)], KB, rounds=1)
    cycle(cache, [f"scan{i}" for i in range(1000)], 600, rounds=1)  # six budgets of small documents, once
    assert "hot" in cache


def test_cache_lets_in_a_newly_popular_item() -> None:
    cache: ByteCache[str, int] = ByteCache(budget=100 * KB)
    cycle(cache, [f"old{i}" for i in range(300)], KB, rounds=2)  # full of items asked for twice
    for _ in range(5):
        if cache.get("new") is None:
            cache.put("new", 1, KB)
        cycle(cache, [f"filler{i}" for i in range(5)], KB, rounds=1)  # pushes "new" out of the window
    assert "new" in cache


def test_cache_byte_budget_is_never_exceeded() -> None:
    rng = random.Random(7)
    budget = 200 * KB
    cache: ByteCache[int, int] = ByteCache(budget=budget)
    sizes = {key: rng.choice([1, 100, 3 * KB, 20 * KB, budget // 8]) for key in range(2000)}
    for _ in range(20_000):
        key = int(rng.paretovariate(0.8)) % 2000 if rng.random() < 0.7 else rng.randrange(2000)
        if cache.get(key) is None:
            cache.put(key, key, sizes[key])
        assert cache.total_bytes <= budget
    assert cache.total_bytes == sum(sizes[key] for key in sizes if key in cache)
    assert len(cache) == sum(key in cache for key in sizes)


def test_cache_refuses_items_over_an_eighth_of_budget() -> None:
    cache: ByteCache[str, str] = ByteCache(budget=800)
    cache.put("small", "s", 100)
    assert not cache.put("big", "b", 101)
    assert "big" not in cache
    assert "small" in cache
    assert cache.total_bytes == 100


def test_cache_replacing_a_key_recounts_its_size() -> None:
    cache: ByteCache[str, str] = ByteCache(budget=800)
    cache.put("a", "x", 100)
    cache.put("a", "y", 40)
    assert (cache.get("a"), cache.total_bytes, len(cache)) == ("y", 40, 1)


def test_cache_with_zero_budget_stores_nothing() -> None:
    cache: ByteCache[str, str] = ByteCache(budget=0)
    assert not cache.put("a", "a", 1)
    assert len(cache) == 0


def test_cache_rejects_negative_budget() -> None:
    with pytest.raises(ValueError):
        ByteCache(budget=-1)


def test_sketch_never_undercounts() -> None:
    # Integer keys hash the same in every process, so the collisions are the same on every run.
    sketch = FrequencySketch(width=256)
    counts = {key * 7919: key % 9 for key in range(400)}  # more keys than counters per row
    for key, count in counts.items():
        for _ in range(count):
            sketch.increment(key)
    assert all(sketch.frequency(key) >= count for key, count in counts.items())
    assert sum(sketch.frequency(key) == count for key, count in counts.items()) > len(counts) // 2


def test_sketch_halves_counts_as_requests_age() -> None:
    sketch = FrequencySketch(width=64)
    old, other = 123_456_789, 1
    for _ in range(12):
        sketch.increment(old)
    assert sketch.frequency(old) == 12
    for _ in range(64 * 10 - 12):  # the rest of one sample period
        sketch.increment(other)
    assert (sketch.frequency(old), sketch.frequency(other)) == (6, 7)


def test_sketch_saturates_at_fifteen() -> None:
    sketch = FrequencySketch(width=64)
    for _ in range(40):
        sketch.increment("hot")
    assert sketch.frequency("hot") == 15


@pytest.mark.parametrize("width", [0, 3, 1 << 17])
def test_sketch_rejects_a_width_that_is_not_a_small_power_of_two(width: int) -> None:
    with pytest.raises(ValueError):
        FrequencySketch(width=width)

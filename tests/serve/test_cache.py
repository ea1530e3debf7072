from __future__ import annotations

import pytest

from serve.cache import ByteLRU


def test_cache_returns_what_was_stored() -> None:
    cache: ByteLRU[str, bytes] = ByteLRU(budget=800)
    assert cache.put("a", b"alpha", 5)
    assert cache.get("a") == b"alpha"
    assert cache.get("missing") is None


def test_cache_evicts_by_byte_budget() -> None:
    cache: ByteLRU[str, str] = ByteLRU(budget=800)
    for key in "abcde":
        cache.put(key, key, 100)
    assert cache.total_bytes == 500
    for key in "fghij":
        cache.put(key, key, 100)
    assert cache.total_bytes == 800
    assert [k for k in "abcdefghij" if k in cache] == list("cdefghij")


def test_cache_evicts_least_recently_used_first() -> None:
    cache: ByteLRU[str, str] = ByteLRU(budget=300, max_item=100)
    for key in "abc":
        cache.put(key, key, 100)
    assert cache.get("a") == "a"  # a is now the most recent
    cache.put("d", "d", 100)
    assert "b" not in cache
    assert all(key in cache for key in "acd")


def test_cache_refuses_items_over_an_eighth_of_budget() -> None:
    cache: ByteLRU[str, str] = ByteLRU(budget=800)
    cache.put("small", "s", 100)
    assert not cache.put("big", "b", 101)
    assert "big" not in cache
    assert "small" in cache
    assert cache.total_bytes == 100


def test_cache_replacing_a_key_recounts_its_size() -> None:
    cache: ByteLRU[str, str] = ByteLRU(budget=800)
    cache.put("a", "x", 100)
    cache.put("a", "y", 40)
    assert (cache.get("a"), cache.total_bytes, len(cache)) == ("y", 40, 1)


def test_cache_with_zero_budget_stores_nothing() -> None:
    cache: ByteLRU[str, str] = ByteLRU(budget=0)
    assert not cache.put("a", "a", 1)
    assert len(cache) == 0


def test_cache_rejects_negative_budget() -> None:
    with pytest.raises(ValueError):
        ByteLRU(budget=-1)

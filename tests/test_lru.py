"""LRUCache: bounded, least recently used goes first."""

from __future__ import annotations

import pytest

from mattetrack.lru import LRUCache


def test_lru_order_and_bound() -> None:
    cache: LRUCache[int, str] = LRUCache(2)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) == "a"  # 1 is now the most recent
    cache.put(3, "c")
    assert 2 not in cache and 1 in cache and 3 in cache
    assert len(cache) == 2
    cache.put(1, "A")
    cache.put(4, "d")
    assert cache.get(1) == "A" and cache.get(3) is None
    cache.clear()
    assert len(cache) == 0


def test_size_zero_caches_nothing() -> None:
    cache: LRUCache[int, int] = LRUCache(0)
    cache.put(1, 1)
    assert cache.get(1) is None and len(cache) == 0


def test_negative_size() -> None:
    with pytest.raises(ValueError):
        LRUCache(-1)

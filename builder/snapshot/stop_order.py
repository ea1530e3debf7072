"""The stops down the side of a timetable: one sequence into which every trip's stop visits embed in order.

A printed timetable reads a trip's times from top to bottom, so its stops must be one sequence in which
every trip's stops appear in their stop_sequence order, each visit in its own row (a loop's repeated stop
twice), and as short as possible: branches and short turns interleave with the main line instead of
repeating it. The shortest such sequence (a shortest common supersequence) is NP-hard in general, so:

1. When every trip's stops are a subsequence of the longest trip's (most routes), that trip's stops are
   the answer, exactly.
2. Otherwise the distinct stop patterns are merged one by one, longest (then most used) first, each
   into the sequence so far along a longest common subsequence: the stops they share line up, the
   others are inserted between them. Exact by construction, and it handles loops and trips that order
   two stops differently (a stop then appears twice). It can place a stop twice where one order exists.
3. So when no pattern repeats a stop and their "a before b" edges have no cycle (an order with each stop
   once exists), that order is taken: a topological sort (as gtfs-to-html does) that picks, among the
   stops it may place next, the one step 2 placed first, so branches stay where step 2 interleaved them.

Each pattern's visits are mapped to columns as the merge placed them, so no column goes unused.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from itertools import pairwise

Pattern = tuple[str, ...]
Columns = list[int]  # a pattern's visits -> their column numbers, increasing


def stop_columns(patterns: Sequence[Pattern]) -> tuple[list[str], list[Columns]]:
    """The stop sequence for the given distinct, non-empty patterns (most used first), and for each
    pattern the column of each of its visits."""
    if not patterns:
        return [], []
    order = sorted(range(len(patterns)), key=lambda i: (-len(patterns[i]), i))
    longest = list(patterns[order[0]])
    fits = [_embed(p, longest) for p in patterns]
    if all(cols is not None for cols in fits):
        return longest, [c for c in fits if c is not None]
    merged, columns = _merge_all(patterns, order)
    if len(set(merged)) < len(merged) and all(len(set(p)) == len(p) for p in patterns):
        ordered = _topological(patterns, merged)
        if ordered is not None:
            at = {stop: i for i, stop in enumerate(ordered)}
            return ordered, [[at[s] for s in p] for p in patterns]
    return merged, columns


def _embed(pattern: Pattern, sequence: Sequence[str]) -> Columns | None:
    """The leftmost columns of `sequence` spelling `pattern`, or None when it is not a subsequence."""
    cols, j = [], 0
    for stop in pattern:
        while j < len(sequence) and sequence[j] != stop:
            j += 1
        if j == len(sequence):
            return None
        cols.append(j)
        j += 1
    return cols


def _merge_all(patterns: Sequence[Pattern], order: list[int]) -> tuple[list[str], list[Columns]]:
    merged = list(patterns[order[0]])
    columns: list[Columns] = [[] for _ in patterns]
    columns[order[0]] = list(range(len(merged)))
    for i in order[1:]:
        fit = _embed(patterns[i], merged)
        if fit is not None:
            columns[i] = fit
            continue
        merged, moved, columns[i] = _merge(merged, patterns[i])
        for k in order:
            if k != i and columns[k]:
                columns[k] = [moved[c] for c in columns[k]]
    return merged, columns


def _merge(sequence: list[str], pattern: Pattern) -> tuple[list[str], list[int], Columns]:
    """`pattern` merged into `sequence` along a longest common subsequence: the new sequence, where each
    old column went, and the pattern's columns."""
    pairs = _common(sequence, pattern)
    out: list[str] = []
    moved: list[int] = []
    cols: Columns = []
    j = i = 0
    for sj, pi in [*pairs, (len(sequence), len(pattern))]:
        for stop in sequence[j:sj]:  # the sequence's own stops first, then the pattern's new ones
            moved.append(len(out))
            out.append(stop)
        for stop in pattern[i:pi]:
            cols.append(len(out))
            out.append(stop)
        if sj < len(sequence):
            moved.append(len(out))
            cols.append(len(out))
            out.append(sequence[sj])
        j, i = sj + 1, pi + 1
    return out, moved, cols


def _common(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of a and b (dynamic programming, O(len a * len b))."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for x in range(n - 1, -1, -1):
        row, below = table[x], table[x + 1]
        ax = a[x]
        for y in range(m - 1, -1, -1):
            row[y] = below[y + 1] + 1 if ax == b[y] else max(below[y], row[y + 1])
    pairs, x, y = [], 0, 0
    while x < n and y < m:
        if a[x] == b[y]:
            pairs.append((x, y))
            x, y = x + 1, y + 1
        elif table[x + 1][y] >= table[x][y + 1]:
            x += 1
        else:
            y += 1
    return pairs


def _topological(patterns: Sequence[Pattern], merged: list[str]) -> list[str] | None:
    """Every stop once, keeping each pattern's order, preferring `merged`'s first placement; None when
    the patterns order two stops both ways."""
    rank: dict[str, int] = {}
    for i, stop in enumerate(merged):
        rank.setdefault(stop, i)
    after: dict[str, set[str]] = {s: set() for s in rank}
    for p in patterns:
        for a, b in pairwise(p):
            after[a].add(b)
    waiting = dict.fromkeys(rank, 0)
    for nexts in after.values():
        for b in nexts:
            waiting[b] += 1
    ready = [(rank[s], s) for s, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, stop = heapq.heappop(ready)
        out.append(stop)
        for b in after[stop]:
            waiting[b] -= 1
            if waiting[b] == 0:
                heapq.heappush(ready, (rank[b], b))
    return out if len(out) == len(rank) else None

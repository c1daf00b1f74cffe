"""Bounded memos: what the reader learns from one workbook and reuses for the next.

Workbooks of one template repeat most of their bytes (the workbook part and its names, where
each cell lies, the labels), so the reader keeps what it parsed from them, keyed by those bytes
(content, never object identity: an identity key would either pin its object forever or, once the
object is gone, answer for another). Each memo is bounded by entries and by an estimate of the
bytes it holds, least recently used out first, so a process that checks thousands of different
workbooks (a collect worker, the add-in's function server) stays within a few MB.

What is worked out from a spec (where its fields lie, the formulas its template holds) is keyed
by the spec's content, `spec_key(spec)`: two specs of one text share it, and a spec with another
text (another year, more rows for a long text) never answers for the first.

`stats()` lists every memo (bench/memory.py prints it); `clear()` empties them all.
"""
from __future__ import annotations

from collections import OrderedDict

_ALL: list[Memo] = []
_OTHERS: list = []       # (name, sizes, clear) of caches that are not a Memo (see register)


class Memo:
    """A least-recently-used map holding at most `max_entries` entries and about `max_bytes`
    bytes, as weighed by the caller at put(). Values are shared between callers: read only."""

    __slots__ = ("name", "max_entries", "max_bytes", "_data", "_bytes")

    def __init__(self, name: str, max_entries: int, max_bytes: int):
        self.name, self.max_entries, self.max_bytes = name, max_entries, max_bytes
        self._data: OrderedDict = OrderedDict()
        self._bytes = 0
        _ALL.append(self)

    def get(self, key, default=None):
        hit = self._data.get(key)
        if hit is None:
            return default
        self._data.move_to_end(key)
        return hit[0]

    def put(self, key, value, weight: int = 0):
        """Store (or re-weigh) `key`; returns `value`. An entry heavier than the whole budget is
        not kept."""
        old = self._data.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if weight > self.max_bytes:
            return value
        self._data[key] = (value, weight)
        self._bytes += weight
        while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, w) = self._data.popitem(last=False)
            self._bytes -= w
        return value

    def clear(self) -> None:
        self._data.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def weight(self) -> int:
        return self._bytes


def spec_key(spec) -> tuple:
    """A spec by its content: its fingerprint (region, year, form version) and the hash of its
    text. A spec built in code, without a text to hash, is known by the object: an entry so keyed
    must hold the spec, so that its id is not reused for another while the entry lives."""
    return (spec.fingerprint, spec.digest) if spec.digest else ("object", id(spec))


def register(name: str, sizes, clear) -> None:
    """List another bounded cache in stats() and clear(): `sizes()` gives (entries, estimated
    bytes or None), `clear()` empties it."""
    _OTHERS.append((name, sizes, clear))


def stats() -> list[tuple[str, int, int | None]]:
    """(name, entries, estimated bytes or None) of every memo and registered cache."""
    return [(m.name, len(m), m.weight) for m in _ALL] + [(name, *sizes()) for name, sizes, _ in _OTHERS]


def clear() -> None:
    for m in _ALL:
        m.clear()
    for _, _, empty in _OTHERS:
        empty()

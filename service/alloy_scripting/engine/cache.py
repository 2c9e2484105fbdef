"""`CompileCache`: a bounded, thread-safe cache of compiled scripts with hit/miss/eviction counters.

Entries are identified by `sha256(POLICY_VERSION + source)` (`CompiledScript.digest`) but
looked up by the source text itself: CPython caches a str's hash on the object, so a
lookup costs one dict probe and a string comparison, where hashing with sha256 on every
run would cost more than the whole sandboxed run of a small script. A cache belongs to one
engine (one policy version, one config), so the source decides the entry: a changed
source is a miss.

Eviction is least-recently-used in the CLOCK (second chance) approximation: a hit only
sets the entry's `referenced` flag (no lock, no reordering on the hot path); when the
cache is over capacity, entries are examined oldest first, a referenced one loses its
flag and moves to the young end, an unreferenced one is evicted. Insertions and evictions
are serialised by a lock; the hit counter is incremented without one (it may undercount
slightly under heavy thread contention, misses and evictions are exact).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from alloy_scripting.engine.compiler import CompiledScript


class CompileCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._entries: dict[str, CompiledScript] = {}
        self._lock = threading.Lock()
        #: The engine's hot path probes this directly (then sets `referenced`, counts a hit).
        self.lookup = self._entries.get

    def get_or_compile(
        self, source: str, compile_: Callable[[str], CompiledScript]
    ) -> CompiledScript:
        entry = self._entries.get(source)
        if entry is not None:
            entry.referenced = True
            self.hits += 1
            return entry
        compiled = compile_(source)
        with self._lock:
            self.misses += 1
            entries = self._entries
            if source not in entries:
                entries[source] = compiled
                while len(entries) > self.capacity:
                    oldest = next(iter(entries))
                    candidate = entries.pop(oldest)
                    if candidate.referenced and candidate is not compiled:
                        candidate.referenced = False
                        entries[oldest] = candidate
                    else:
                        self.evictions += 1
        return compiled

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, source: object) -> bool:
        return source in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, int]:
        return {
            "size": len(self._entries),
            "capacity": self.capacity,
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
        }

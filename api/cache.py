"""Answers to reads, kept until the ledger or the config changes.

Dashboards and ERPs ask the same few questions again and again (this quarter by
team, the run list); between two writes the answer cannot change, so it is
computed once. Every entry is tagged with the ledger's commit count and the config
it was computed under, read *before* computing: an answer that raced a write is
tagged with the older count and never served after it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class ReadCache:
    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer for ``key`` at ``version``, computed (outside the lock) when missing."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

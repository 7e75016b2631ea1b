"""Each event handled once: a bounded memory of recent event ids and their answers. No I/O.

The plugin sends an event again, with the same ``proxy.event_id``, when its acknowledgement did
not arrive (lost with a connection, late, or the bot restarted). A repeat must be acknowledged
again — with the answer the handler gave the first time — but not handled again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional


class Record:
    """One event seen: running until ``done``; then ``answer`` is what it was acked with."""

    __slots__ = ("done", "answer")

    def __init__(self) -> None:
        self.done = False
        self.answer: Any = None

    def finish(self, answer: Any) -> None:
        """The handler answered (or failed: ``None``)."""
        self.answer = answer
        self.done = True


class Seen:
    """The last ``size`` event ids, oldest forgotten first.

    Repeats come soon after the first sending (within the answer window, or on the next
    subscription's replay), so a few thousand ids is plenty; an id forgotten and then sent
    again is handled again.
    """

    def __init__(self, size: int = 10_000):
        if size < 1:
            raise ValueError("remember at least one event")
        self.size = size
        self._records: "OrderedDict[str, Record]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def get(self, event_id: str) -> Optional[Record]:
        """The record of an event seen before, or None."""
        return self._records.get(event_id)

    def add(self, event_id: str) -> Record:
        """Remembers a new event (running)."""
        rec = self._records[event_id] = Record()
        while len(self._records) > self.size:
            self._records.popitem(last=False)
        return rec

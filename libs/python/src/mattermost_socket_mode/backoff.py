"""How long to wait before reconnecting: jittered exponential backoff. No I/O here."""

from __future__ import annotations

import random
from typing import Callable


class Backoff:
    """Delays that double from ``base`` up to ``cap``, each drawn at random in its upper half.

    Jitter spreads the reconnections of many bots (or replicas) after a server restart, so they
    do not all knock at once; half the delay stays fixed so a bot never retries in a tight loop.
    :meth:`reset` after a connection that worked (a subscription taken).
    """

    def __init__(self, base: float = 0.5, cap: float = 30.0, rand: Callable[[], float] = random.random):
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self._rand = rand
        self.failures = 0

    def next(self) -> float:
        """The delay before the next attempt, in seconds; counts one more failure."""
        ceiling = min(self.cap, self.base * (2 ** min(self.failures, 32)))
        self.failures += 1
        return ceiling / 2 + self._rand() * ceiling / 2

    def reset(self) -> None:
        """Back to the shortest delay."""
        self.failures = 0

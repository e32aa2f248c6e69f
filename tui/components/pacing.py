"""How a run view paces its redraws: it remembers what it last drew and when, and draws again only
when that changed and its own minimum interval has passed.

A view's `show(snapshot, run)` names what it would draw (a key made from the snapshot) and asks
`due(key)`; `run` is a `Run`, what a view may need beyond the snapshot.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Hashable


@dataclass(frozen=True)
class Run:
    """The run being shown: its training session and its dataset."""

    session: Any
    dataset: Any


class Paced:
    """Mixin for a view: `due(key)` says whether to draw `key` now; `forget()` and `restart()` reset."""

    #: Seconds between two redraws while data keeps coming, at least (0: as often as it changes).
    INTERVAL = 0.0

    _shown_key: Hashable = None  # what the view last drew
    _shown_at = -math.inf  # when, by time.monotonic()

    def due(self, key: Hashable, force: bool = False, interval: float | None = None) -> bool:
        """Whether to draw `key` now (and if so, remember it): when it differs from what was last
        drawn and `interval` (default INTERVAL) has passed since; always when forced."""
        interval = self.INTERVAL if interval is None else interval
        now = time.monotonic()
        if not force and (key == self._shown_key or now - self._shown_at < interval):
            return False
        self._shown_key, self._shown_at = key, now
        return True

    def forget(self) -> None:
        """Draw on the next show whatever it brings (the interval still holds)."""
        self._shown_key = None

    def restart(self) -> None:
        """A fresh run: draw on the next show, interval or not."""
        self._shown_key, self._shown_at = None, -math.inf

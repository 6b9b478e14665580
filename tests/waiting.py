"""Wait for a condition, not for a time: the suite runs on busy machines.

A test that needs something to have happened polls for it with `wait_until`. The guard only
ends a wait that would otherwise hang; it is never what a test asserts, so it is generous.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

HANG_GUARD = 60.0  # seconds


def wait_until(condition: Callable[[], T], what: str, guard: float = HANG_GUARD) -> T:
    """Return the first truthy value of `condition()`; fail naming `what` if it never comes."""
    give_up = time.monotonic() + guard
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"Gave up after {guard:.0f} s waiting for {what}")
        time.sleep(0.005)

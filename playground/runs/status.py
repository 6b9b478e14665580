"""The statuses of runs and segments, and everything the site says about each: the one mapping.

The model fields store these choices (playground/runs/models.py re-exports them); a finished
column's outcome becomes one here (`SegmentStatus.of_outcome`, so the relay never names a
status); the column and run summaries (summary.py) read `state` and `tone`; the templates ask
`Run.state` and `Segment.state` instead of comparing strings; `ERROR_TITLES` heads a failed
segment, keyed by the provider layer's ErrorKind itself.
"""

from __future__ import annotations

from typing import Protocol

from django.db import models

from playground.providers import ErrorKind, Finish, ProviderError


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    STOPPED = "stopped", "Stopped"
    INTERRUPTED = "interrupted", "Interrupted"

    @property
    def is_running(self) -> bool:
        """Return whether the run still has columns waiting or streaming."""
        return self is RunStatus.RUNNING


class Outcome(Protocol):
    """What the relay knows about a column when it ends."""

    @property
    def stopped(self) -> bool: ...

    @property
    def error(self) -> ProviderError | None: ...

    @property
    def finish(self) -> Finish | None: ...


class SegmentStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Streaming"
    DONE = "done", "Done"
    ERROR = "error", "Error"
    STOPPED = "stopped", "Stopped"
    SKIPPED = "skipped", "Not sent"
    INTERRUPTED = "interrupted", "Interrupted"

    @classmethod
    def of_outcome(cls, outcome: Outcome) -> SegmentStatus:
        """Return the status a column's outcome is saved with."""
        if outcome.stopped:
            return cls.STOPPED
        if outcome.error is not None:
            return cls.SKIPPED if outcome.error.kind == ErrorKind.UNSUPPORTED else cls.ERROR
        return cls.DONE if outcome.finish is not None else cls.RUNNING

    @property
    def state(self) -> str:
        """Return what the column is, in the words the pages use ("failed", "not sent")."""
        return STATES[self]

    @property
    def tone(self) -> str:
        """Return the badge colour of that state: ok, warn, danger, accent or "" (neutral)."""
        return TONES[STATES[self]]

    @property
    def is_final(self) -> bool:
        """Return whether the segment has ended (nothing more will stream into it)."""
        return self not in (SegmentStatus.PENDING, SegmentStatus.RUNNING)

    @property
    def was_sent(self) -> bool:
        """Return whether the request went out (a refused one is "not sent")."""
        return self is not SegmentStatus.SKIPPED

    @property
    def is_done(self) -> bool:
        return self is SegmentStatus.DONE

    @property
    def was_stopped(self) -> bool:
        return self is SegmentStatus.STOPPED

    @property
    def was_interrupted(self) -> bool:
        return self is SegmentStatus.INTERRUPTED


# Segment status -> what the column is, in the words the pages use.
STATES = {
    SegmentStatus.PENDING: "streaming",
    SegmentStatus.RUNNING: "streaming",
    SegmentStatus.DONE: "done",
    SegmentStatus.ERROR: "failed",
    SegmentStatus.SKIPPED: "not sent",
    SegmentStatus.STOPPED: "stopped",
    SegmentStatus.INTERRUPTED: "interrupted",
}
# Those words in the order a run's summary lists them, and the colour of each.
STATE_ORDER = ("done", "failed", "not sent", "stopped", "interrupted", "streaming")
TONES = {
    "done": "ok",
    "failed": "danger",
    "not sent": "warn",
    "stopped": "",
    "interrupted": "warn",
    "streaming": "accent",
}

FINAL_SEGMENT_STATUSES = tuple(status for status in SegmentStatus if status.is_final)

# The heading of a failed segment's message, by the kind of failure.
ERROR_TITLES = {
    ErrorKind.AUTH: "Key rejected.",
    ErrorKind.BALANCE: "Out of credit.",
    ErrorKind.RATE_LIMIT: "Rate limited.",
    ErrorKind.OVERLOADED: "Provider overloaded.",
    ErrorKind.BAD_REQUEST: "Request refused.",
    ErrorKind.NOT_FOUND: "Not found.",
    ErrorKind.SERVER: "Provider error.",
    ErrorKind.FIRST_TOKEN_TIMEOUT: "No answer in time.",
    ErrorKind.STALLED: "Stream stalled.",
    ErrorKind.CONNECTION: "Connection cut.",
    ErrorKind.PROTOCOL: "Unreadable stream.",
    ErrorKind.UNSUPPORTED: "Not sent.",
    ErrorKind.UNSAFE_URL: "Base URL refused.",
}


def error_title(kind: str) -> str:
    """Return the heading for a saved error kind ("" or unknown: a plain "Error.")."""
    try:
        return ERROR_TITLES[ErrorKind(kind)]
    except ValueError:
        return "Error."

"""Per-user serialisation inside a transaction, the same code path on PostgreSQL and SQLite.

A cap ("at most N live runs") is only a cap when counting and inserting cannot interleave
between two requests. `hold_user_lock` makes them: call it first thing inside
`transaction.atomic()`, then count, then insert; a second transaction for the same user and
purpose waits at the lock until the first commits and then counts what it inserted.

- PostgreSQL: a transaction-scoped advisory lock on (purpose, user id). It touches no row, so
  nothing else that locks the user's row (inserting rows that reference it) ever waits on it.
- SQLite: a statement that writes nothing still takes the database's write lock (BEGIN
  IMMEDIATE semantics); SQLite serialises writers, so the second transaction waits there (up
  to the connection's busy timeout) and then sees the first one's rows.
"""

from __future__ import annotations

from enum import IntEnum

from django.db import connection


class Purpose(IntEnum):
    """What a lock serialises; each purpose locks independently of the others."""

    RUNS = 1
    PROBES = 2
    # Team credential budgets (playground/runs/team_keys.py): the id is a membership's or a
    # credential's, not a user's; the lock works the same for any id below 2**48.
    TEAM_MEMBER = 3
    TEAM_CREDENTIAL = 4
    BATCHES = 5


def hold_user_lock(purpose: Purpose, user_id: int) -> None:
    """Take the lock for (`purpose`, user) until the current transaction ends."""
    if not connection.in_atomic_block:
        raise RuntimeError("hold_user_lock() needs a transaction: call it inside atomic().")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One bigint key: the purpose in the high bits, the user id below (ids < 2**48).
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [(int(purpose) << 48) | user_id])
        else:
            cursor.execute("UPDATE django_migrations SET id = id WHERE 1 = 0")

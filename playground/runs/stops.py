"""Stop reaches a run wherever it streams: in this process, or in any other one.

PostgreSQL (every deploy has it; app.json provisions nothing else): the Stop view sends
`NOTIFY` on one channel, and every web process keeps one connection that `LISTEN`s to it
(`listen`, started by playground/runs/background.py) and stops the relays it holds. A
notification goes out when the Stop's statement commits and reaches every listener in a few
milliseconds, with no polling. SQLite (development) serves from one process: the in-process
registry (playground/runs/live.py) is all it needs. docs/streaming.md explains the choice.

A process that streams runs but listens to neither (the batch worker, on either database)
learns of a Stop from the database: `stop_requested` is sent with every Stop, and the batches
app records it on the cell, which its worker looks at every fraction of a second
(docs/batches.md). The runs app knows nothing of batches; it only sends the signal.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.dispatch import Signal

from . import live

logger = logging.getLogger(__name__)

CHANNEL = "playground_run_stop"
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)

# Sent (sync) with every Stop after the notification: code=<run code>, positions=<set or None>.
stop_requested = Signal()


def request_stop(code: str, positions: set[int] | None = None) -> None:
    """Stop the given columns of run `code` (all when None), wherever it streams (sync)."""
    live.stop_here(code, positions)
    notify(code, positions)


def notify(code: str, positions: set[int] | None = None) -> None:
    """Tell the other processes to stop those columns (sync).

    On PostgreSQL a notification reaches every web process's listener; on any database the
    `stop_requested` signal lets an app record the Stop for processes that poll for it.
    """
    if connection.vendor == "postgresql":
        columns = None if positions is None else sorted(positions)
        payload = json.dumps({"run": code, "columns": columns})
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
    stop_requested.send(sender=None, code=code, positions=positions)


def handle(payload: str) -> None:
    """Apply one notification from the channel to this process's relays."""
    try:
        message = json.loads(payload)
        code = str(message["run"])
        columns = message.get("columns")
        positions = None if columns is None else {int(column) for column in columns}
    except (ValueError, KeyError, TypeError):
        logger.warning("Ignored a malformed stop notification.")
        return
    live.stop_here(code, positions)


def _connection_params() -> dict[str, Any]:
    """Return psycopg connection parameters for the site's PostgreSQL database."""
    database = settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": database["NAME"],
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "application_name": "playground-stop-listener",
    }
    options = database.get("OPTIONS") or {}
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
        if name in options:
            params[name] = options[name]
    return {name: value for name, value in params.items() if value is not None}


async def listen(ready: asyncio.Event) -> None:
    """Listen on the stop channel forever, reconnecting when the connection drops.

    `ready` is set while the LISTEN is in place. A Stop sent while this process is
    reconnecting (seconds, after a database restart) is not seen; pressing Stop again is.
    """
    import psycopg

    failures = 0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                autocommit=True, **_connection_params()
            ) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                ready.set()
                failures = 0
                async for notify in conn.notifies():
                    handle(notify.payload)
            ready.clear()  # the server closed the connection: listen again
        except Exception as error:  # psycopg.Error, OSError: keep listening whatever it was
            ready.clear()
            delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
            failures += 1
            logger.warning(
                "Stop listener lost its database connection (%s); retrying in %.1f s.",
                error.__class__.__name__,
                delay,
            )
            await asyncio.sleep(delay)

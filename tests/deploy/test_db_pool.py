"""Database connections come from a per-process pool on PostgreSQL, so bursts queue.

A burst of requests each needing the database used to open one connection apiece; 100 run
starts together hit PostgreSQL's "too many clients". With the pool, three times as many
concurrent users as the pool holds all succeed, sharing at most `max_size` connections.
On SQLite (development, one process) there is no pool and none is configured.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection


@pytest.mark.django_db(transaction=True)
def test_a_burst_larger_than_the_pool_waits_for_connections_instead_of_failing(
    settings: Any,
) -> None:
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor != "postgresql":
        assert "pool" not in options
        return
    size = options["pool"]["max_size"]
    pids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def use_the_database() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.2)")
                pid = cursor.fetchone()[0]
            with lock:
                pids.append(pid)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()  # back to the pool

    threads = [threading.Thread(target=use_the_database) for _ in range(size * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(pids) == size * 3
    assert len(set(pids)) <= size

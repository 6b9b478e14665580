"""The rate-limit cache without Redis: a database table every process shares, whose `incr`
does not lose counts when requests arrive together (playground/accounts/cache.py)."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import caches
from django.db import connection

from playground.accounts.cache import AtomicDatabaseCache


def test_rate_limits_use_the_shared_database_table_without_redis() -> None:
    assert isinstance(caches["ratelimit"], AtomicDatabaseCache)


@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_all_count() -> None:
    cache = caches["ratelimit"]
    cache.add("together", 0, 60)
    errors: list[BaseException] = []

    def count() -> None:
        try:
            for _ in range(10):
                caches["ratelimit"].incr("together")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=count) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert cache.get("together") == 60


@pytest.mark.django_db
def test_incr_of_a_missing_key_raises_as_django_documents() -> None:
    with pytest.raises(ValueError):
        caches["ratelimit"].incr("never-added")

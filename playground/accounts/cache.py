"""The database cache with an atomic `incr`, for rate-limit counters shared by every process.

Django's DatabaseCache increments by reading the value and writing it back, so two processes
counting the same request at once could both write the same number. Here the row is written
first (an UPDATE that changes nothing), which takes its lock until the transaction ends: a
second `incr` of the same key waits for the first, then reads the value the first wrote.
"""

from __future__ import annotations

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


class AtomicDatabaseCache(DatabaseCache):
    # Set by BaseDatabaseCache.__init__ (the LOCATION); django-stubs leaves it undeclared.
    _table: str

    def incr(self, key: object, delta: int = 1, version: int | None = None) -> int:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        stored_key = self.make_and_validate_key(key, version=version)
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET expires = expires WHERE cache_key = %s",  # noqa: S608
                [stored_key],
            )
            return super().incr(key, delta, version)

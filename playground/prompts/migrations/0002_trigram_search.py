"""Trigram indexes for the library search, on PostgreSQL only.

The library filters with `search_text LIKE '%word%'` and `tag_index LIKE '%|tag|%'` (both
columns are stored lower-cased). On PostgreSQL a pg_trgm GIN index answers such patterns without
reading the whole table; SQLite has no equivalent and simply scans, which is fine at its scale.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = {
    "prompts_search_trgm": "search_text",
    "prompts_tags_trgm": "tag_index",
}


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON prompts_prefixtemplate "
            f"USING gin ({column} gin_trgm_ops)"
        )


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("prompts", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]

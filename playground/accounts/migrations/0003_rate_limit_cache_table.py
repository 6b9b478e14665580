"""Create the database cache table that rate-limit counters use when REDIS_URL is unset.

`createcachetable` only creates tables of database-cache backends and skips existing ones, so
this does nothing with Redis configured, and running it again is harmless.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_invite"),
    ]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
    ]

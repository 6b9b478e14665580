"""The system prompt column takes the name every other place gives it: `system`."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("prompts", "0004_template_speaker_name")]

    operations = [
        migrations.RenameField(
            model_name="prefixtemplate", old_name="system_prompt", new_name="system"
        ),
    ]

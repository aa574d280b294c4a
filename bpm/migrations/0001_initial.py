import secrets

from django.db import migrations, models


def first_token(apps, schema_editor):
    apps.get_model("bpm", "ConfigVersion").objects.create(pk=1, token=secrets.randbits(62))


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ConfigVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.BigIntegerField()),
            ],
            options={"db_table": "bpm_configversion"},
        ),
        migrations.RunPython(first_token, migrations.RunPython.noop),
    ]

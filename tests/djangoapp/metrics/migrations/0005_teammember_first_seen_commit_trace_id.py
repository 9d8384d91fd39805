import datetime

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("metrics", "pullrequest_public_id")]

    operations = [
        migrations.AddField(
            model_name="teammember",
            name="first_seen",
            field=models.DateField(default=datetime.date.today),
        ),
        migrations.AddField(
            model_name="commit",
            name="trace_id",
            field=models.UUIDField(null=True),
        ),
    ]

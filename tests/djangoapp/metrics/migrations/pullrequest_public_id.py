# An un-numbered migration, as apps sometimes name a hand-written one: it sorts after 0005 by name, not in the graph.
import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("metrics", "0004_rename_jiraissue_sprint_name")]

    operations = [
        migrations.AddField(
            model_name="pullrequest",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
    ]

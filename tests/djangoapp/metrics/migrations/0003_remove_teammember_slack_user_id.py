from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("metrics", "0002_fields_with_defaults")]

    operations = [migrations.RemoveField(model_name="teammember", name="slack_user_id")]

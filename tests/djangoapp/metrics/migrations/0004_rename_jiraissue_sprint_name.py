from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_remove_teammember_slack_user_id")]

    operations = [migrations.RenameField(model_name="jiraissue", old_name="sprint_name", new_name="sprint_title")]

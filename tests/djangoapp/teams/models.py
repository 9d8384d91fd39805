"""The teams app of the test Django project (written for the tests; the same tables as the app demoseed serves)."""

from django.db import models


class Team(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    subscription_id = models.BigIntegerField(null=True)
    customer_id = models.BigIntegerField(null=True)
    billing_details_last_changed = models.DateTimeField()
    last_synced_with_stripe = models.DateTimeField(null=True)
    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=50, unique=True)
    onboarding_complete = models.BooleanField()
    onboarding_pipeline_status = models.CharField(max_length=50)
    onboarding_pipeline_error = models.TextField(null=True)
    onboarding_pipeline_started_at = models.DateTimeField(null=True)
    onboarding_pipeline_completed_at = models.DateTimeField(null=True)
    background_sync_progress = models.IntegerField()
    background_llm_progress = models.IntegerField()
    copilot_status = models.CharField(max_length=30)
    copilot_last_sync_at = models.DateTimeField(null=True)
    copilot_consecutive_failures = models.PositiveIntegerField()
    copilot_price_tier = models.CharField(max_length=20)
    # teams 0002: fields added the way Django adds them (a Python default, none in the database)
    timezone_name = models.CharField(max_length=50, default="")
    is_demo = models.BooleanField(default=False)

    class Meta:
        db_table = "teams_team"

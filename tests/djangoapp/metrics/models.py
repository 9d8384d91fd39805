"""The metrics app of the test Django project (written for the tests; the same tables as the app demoseed serves)."""

import datetime
import uuid

from django.db import models
from django.utils import timezone


class TeamMember(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(max_length=254)
    display_name = models.CharField(max_length=255)
    github_username = models.CharField(max_length=100)
    github_id = models.CharField(max_length=50)
    jira_account_id = models.CharField(max_length=100)
    copilot_last_activity_at = models.DateTimeField(null=True)
    copilot_last_editor = models.CharField(max_length=100, null=True)
    role = models.CharField(max_length=20)
    is_active = models.BooleanField()
    joined_at = models.DateTimeField(default=timezone.now)  # metrics 0002
    first_seen = models.DateField(default=datetime.date.today)  # metrics 0005

    class Meta:
        db_table = "metrics_teammember"


class AIUsageDaily(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey("TeamMember", on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    source = models.CharField(max_length=20)
    active_hours = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    suggestions_shown = models.IntegerField()
    suggestions_accepted = models.IntegerField()
    acceptance_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    synced_at = models.DateTimeField()

    class Meta:
        db_table = "metrics_aiusagedaily"
        constraints = [
            models.UniqueConstraint(fields=["team", "member", "date", "source"], name="unique_team_member_date_source")
        ]


class WeeklyMetrics(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey("TeamMember", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    prs_merged = models.IntegerField()
    avg_cycle_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    avg_review_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    commits_count = models.IntegerField()
    lines_added = models.IntegerField()
    lines_removed = models.IntegerField()
    revert_count = models.IntegerField()
    hotfix_count = models.IntegerField()
    story_points_completed = models.DecimalField(max_digits=10, decimal_places=1)
    issues_resolved = models.IntegerField()
    ai_assisted_prs = models.IntegerField()
    avg_quality_rating = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    surveys_completed = models.IntegerField()
    guess_accuracy = models.DecimalField(max_digits=5, decimal_places=2, null=True)

    class Meta:
        db_table = "metrics_weeklymetrics"
        constraints = [models.UniqueConstraint(fields=["team", "member", "week_start"], name="unique_team_member_week")]


class PullRequest(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    github_pr_id = models.BigIntegerField()
    github_repo = models.CharField(max_length=255)
    title = models.TextField()
    body = models.TextField()
    author = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    state = models.CharField(max_length=20)
    pr_created_at = models.DateTimeField(null=True)
    merged_at = models.DateTimeField(null=True)
    first_review_at = models.DateTimeField(null=True)
    cycle_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    review_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    review_rounds = models.IntegerField(null=True)
    avg_fix_response_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    commits_after_first_review = models.IntegerField(null=True)
    total_comments = models.IntegerField(null=True)
    additions = models.IntegerField()
    deletions = models.IntegerField()
    is_revert = models.BooleanField()
    is_hotfix = models.BooleanField()
    is_draft = models.BooleanField()
    labels = models.JSONField()
    milestone_title = models.CharField(max_length=255)
    assignees = models.JSONField()
    linked_issues = models.JSONField()
    is_ai_assisted = models.BooleanField(null=True)
    ai_tools_detected = models.JSONField()
    ai_detection_version = models.CharField(max_length=10)
    llm_summary = models.JSONField(null=True)
    llm_summary_version = models.CharField(max_length=10)
    has_ai_commits = models.BooleanField()
    has_ai_review = models.BooleanField()
    has_ai_files = models.BooleanField()
    ai_confidence_score = models.DecimalField(max_digits=4, decimal_places=3, null=True)
    ai_signals = models.JSONField()
    jira_key = models.CharField(max_length=50)
    synced_at = models.DateTimeField()
    # metrics 0002: callables as defaults, and one default kept in the database (db_default)
    review_tags = models.JSONField(default=list)
    extra_data = models.JSONField(default=dict)
    risk_level = models.CharField(max_length=20, db_default="low")
    public_id = models.UUIDField(default=uuid.uuid4, editable=False)  # metrics pullrequest_public_id

    class Meta:
        db_table = "metrics_pullrequest"
        constraints = [models.UniqueConstraint(fields=["team", "github_pr_id", "github_repo"], name="unique_team_pr")]


class Deployment(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    github_deployment_id = models.BigIntegerField()
    github_repo = models.CharField(max_length=255)
    environment = models.CharField(max_length=100)
    status = models.CharField(max_length=20)
    creator = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    deployed_at = models.DateTimeField()
    pull_request = models.ForeignKey("PullRequest", on_delete=models.SET_NULL, related_name="+", null=True)
    sha = models.CharField(max_length=40)

    class Meta:
        db_table = "metrics_deployment"
        constraints = [models.UniqueConstraint(fields=["team", "github_deployment_id"], name="unique_team_deployment")]


class PRReview(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    github_review_id = models.BigIntegerField(null=True)
    pull_request = models.ForeignKey("PullRequest", on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    state = models.CharField(max_length=20)
    body = models.TextField()
    submitted_at = models.DateTimeField(null=True)
    is_ai_review = models.BooleanField()
    ai_reviewer_type = models.CharField(max_length=50)

    class Meta:
        db_table = "metrics_prreview"


class PRCheckRun(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    github_check_run_id = models.BigIntegerField()
    pull_request = models.ForeignKey("PullRequest", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=20)
    conclusion = models.CharField(max_length=20, null=True)
    started_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    duration_seconds = models.IntegerField(null=True)

    class Meta:
        db_table = "metrics_prcheckrun"
        constraints = [models.UniqueConstraint(fields=["team", "github_check_run_id"], name="unique_team_check_run")]


class PRFile(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    pull_request = models.ForeignKey("PullRequest", on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=500)
    status = models.CharField(max_length=20)
    additions = models.IntegerField()
    deletions = models.IntegerField()
    changes = models.IntegerField()
    file_category = models.CharField(max_length=50)

    class Meta:
        db_table = "metrics_prfile"
        constraints = [models.UniqueConstraint(fields=["team", "pull_request", "filename"], name="unique_team_pr_file")]


class Commit(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    github_sha = models.CharField(max_length=40)
    github_repo = models.CharField(max_length=255)
    author = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    message = models.TextField()
    committed_at = models.DateTimeField(null=True)
    additions = models.IntegerField()
    deletions = models.IntegerField()
    pull_request = models.ForeignKey("PullRequest", on_delete=models.SET_NULL, related_name="+", null=True)
    is_ai_assisted = models.BooleanField()
    ai_co_authors = models.JSONField()
    trace_id = models.UUIDField(null=True)  # metrics 0005

    class Meta:
        db_table = "metrics_commit"
        constraints = [models.UniqueConstraint(fields=["team", "github_sha"], name="unique_team_commit")]


class JiraIssue(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    jira_key = models.CharField(max_length=50)
    jira_id = models.CharField(max_length=50)
    summary = models.TextField()
    issue_type = models.CharField(max_length=50)
    status = models.CharField(max_length=50)
    description = models.TextField()
    labels = models.JSONField()
    priority = models.CharField(max_length=50)
    parent_issue_key = models.CharField(max_length=50)
    assignee = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    story_points = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    sprint_id = models.CharField(max_length=50)
    sprint_title = models.CharField(max_length=255)  # metrics 0004: renamed from sprint_name
    issue_created_at = models.DateTimeField(null=True)
    resolved_at = models.DateTimeField(null=True)
    cycle_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    synced_at = models.DateTimeField()

    class Meta:
        db_table = "metrics_jiraissue"
        constraints = [models.UniqueConstraint(fields=["team", "jira_id"], name="unique_team_jira_issue")]


class PRSurvey(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    pull_request = models.OneToOneField("PullRequest", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    token = models.CharField(max_length=64, null=True, unique=True)
    token_expires_at = models.DateTimeField(null=True)
    github_comment_id = models.BigIntegerField(null=True)
    author_ai_assisted = models.BooleanField(null=True)
    author_responded_at = models.DateTimeField(null=True)
    author_response_source = models.CharField(max_length=10, null=True)
    ai_modification_effort = models.CharField(max_length=20, null=True)

    class Meta:
        db_table = "metrics_prsurvey"


class PRSurveyReview(models.Model):
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey("PRSurvey", on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey("TeamMember", on_delete=models.SET_NULL, related_name="+", null=True)
    quality_rating = models.IntegerField(null=True)
    ai_guess = models.BooleanField(null=True)
    guess_correct = models.BooleanField(null=True)
    responded_at = models.DateTimeField(null=True)
    response_source = models.CharField(max_length=10, null=True)
    feedback_clarity = models.IntegerField(null=True)
    review_burden = models.IntegerField(null=True)

    class Meta:
        db_table = "metrics_prsurveyreview"
        constraints = [models.UniqueConstraint(fields=["survey", "reviewer"], name="unique_survey_reviewer")]

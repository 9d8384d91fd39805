"""The synthetic team of scenario and legacy runs: teams, PRs, reviews, commits and files, drawn per scenario.

``tables.generate_tables`` runs the steps in order: members (``team``), the PR
skeleton (``pr_skeleton``, its times aimed at the curves by ``aim``), reviews
(``reviews``), the real-share plan (``blend``), the PR table's fields
(``pr_table``), commits and files (``commits_files``); what GitHub cannot give
comes from :mod:`stages.generate.simulated`.
"""

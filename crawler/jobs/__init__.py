"""Scheduled jobs: one named job run again and again (cron, systemd timers, scrapyd)."""

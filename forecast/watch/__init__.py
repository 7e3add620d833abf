"""Spend watch: alert rules and the alerts they raise (see rules.py and alerts.py)."""

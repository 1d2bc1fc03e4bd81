"""Tests of rules/: Prometheus and Alertmanager rules."""

"""Tests of grafana/: the dashboards."""

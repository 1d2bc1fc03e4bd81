"""Tests of collector/incidents/."""

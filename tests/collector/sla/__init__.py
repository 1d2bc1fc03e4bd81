"""Tests of collector/sla/."""

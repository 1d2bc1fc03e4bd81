"""Tests of collector/service/."""

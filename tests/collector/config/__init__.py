"""Tests of collector/config/."""

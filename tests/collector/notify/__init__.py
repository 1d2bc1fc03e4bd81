"""Tests of collector/notify/."""

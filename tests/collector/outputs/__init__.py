"""Tests of collector/outputs/."""

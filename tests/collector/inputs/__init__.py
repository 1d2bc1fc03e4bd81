"""Tests of collector/inputs/."""

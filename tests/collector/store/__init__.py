"""Tests of collector/store/."""

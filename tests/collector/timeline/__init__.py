"""Tests of collector/timeline/."""

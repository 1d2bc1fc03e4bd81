"""Tests of the collector, room by room."""

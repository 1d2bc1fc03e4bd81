"""Tests of ansible/: deployment."""

"""Human durations ("90s", "5m", "1h30m", "7d") used across config files.

The grammar is opsmon.agent.durations' (agent.toml reads durations with it too, and the agent may
not import the collector), re-exported here so collector code keeps one import path.
"""
from opsmon.agent.durations import UNITS, format_duration, parse_duration

__all__ = ["UNITS", "format_duration", "parse_duration"]

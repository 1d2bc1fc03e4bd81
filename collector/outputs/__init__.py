"""Outputs: the API, /metrics and the reports. They only read."""

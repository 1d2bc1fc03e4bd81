"""Incidents: faults opened from state transitions, hardware signals and Prometheus alerts; the
response to them (acknowledge, resolve), on-call escalation and the signed acknowledge links."""

"""Inputs: everything that produces observations and events (checks, SNMP, SSH, agents' reports, security)."""

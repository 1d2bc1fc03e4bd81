"""SNMP polling and traps: network devices, printers and UPSes as observations and events."""

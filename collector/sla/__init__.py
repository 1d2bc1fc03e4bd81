"""The SLA engine: the performance-target table as data, computed from state intervals and incidents."""

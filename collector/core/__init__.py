"""Vocabularies every stage shares: states, errors, durations, field types, typed messages."""

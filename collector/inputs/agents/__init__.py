"""The host agents' door: enrollment, authentication and their reports."""

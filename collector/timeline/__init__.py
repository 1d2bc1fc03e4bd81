"""The timeline: observations in, state intervals and transitions out; maintenance; start-up recovery."""

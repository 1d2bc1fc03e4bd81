"""`opsmon serve`: start/stop order and the routing table of messages."""

"""opsmon's tests, in folders that mirror the code's rooms (tests/collector/<room>/, tests/agent/, ...)."""

"""Site pollers (docs/poller.md): the central side (`share.py`) and the poller process (`runner.py`)."""

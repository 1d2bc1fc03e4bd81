"""The collector's HTTP server: uvicorn on the socket the service took at start, without its own signals."""
from __future__ import annotations

import contextlib
from typing import Any


def http_server(app: Any, config: Any) -> Any:
    """A uvicorn server for `app` with the collector's TLS and keep-alive settings; `serve(sockets=...)` runs it.

    uvicorn's own SIGINT/SIGTERM handling is off: opsmon owns the signals and stops in its own order.
    """
    import uvicorn

    listen = config.listen
    tls = {}
    if listen.tls_cert and listen.tls_key:
        tls = {"ssl_certfile": str(config.resolve(listen.tls_cert)), "ssl_keyfile": str(config.resolve(listen.tls_key))}
    # Agents keep one connection open between reports: keep it alive past their interval, so
    # a report does not pay a TCP (and TLS) handshake every time.
    keep_alive = int(config.agents.interval * 2 + 5)

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def, override]
            yield

    return Server(uvicorn.Config(app, host=listen.host, port=listen.port, log_level="warning", access_log=False,
                                 lifespan="off", timeout_keep_alive=keep_alive, **tls))

"""HTTP(S) push to the collector with the agent's token. TLS is verified; a custom CA may be given."""
from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

from agent.errors import Rejected, TransportError


class Transport:
    def __init__(self, base_url: str, token: str, ca_file: str | None, timeout: float) -> None:
        self.url = f"{base_url}/api/v1/agent/report"
        self._token = token
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file) if base_url.startswith("https") else None

    def send(self, body: bytes) -> dict[str, Any]:
        """POST one report; returns the collector's answer (settings). Raises TransportError or Rejected."""
        # The send time lets the collector measure this host's clock offset (see collector/ingest.py).
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {self._token}",
            "X-Opsmon-Sent-At": f"{time.time():.3f}"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode(errors="replace")
            if exc.code in (400, 401, 403, 413, 422):
                raise Rejected(f"HTTP {exc.code}: {detail}") from None
            raise TransportError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(str(reason)) from None

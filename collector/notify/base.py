"""What every channel shares: the error type, the sender interface, secret scrubbing, HTTP posting.

Robots (WeCom, DingTalk) carry their key in the URL's query string, so any text
that may leave this package (recorded errors, log lines) goes through `scrub`,
which drops query strings from URLs and masks every known secret value.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from opsmon.collector.config.notify import HttpOptions
from opsmon.collector.core.errors import OpsmonError
from opsmon.collector.notify.message import Notice
from opsmon.collector.notify.texts import Lang

_URL_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]*")


class DeliveryError(OpsmonError):
    """A channel could not deliver. `permanent` stops retries when trying again cannot help (e.g. HTTP 400)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without URL query strings and without any of `secrets` (raw or URL-encoded).

    >>> scrub("POST https://x/send?key=abc failed: abc", ["abc"])
    'POST https://x/send?*** failed: ***'
    """
    text = _URL_QUERY.sub(r"\1?***", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


class _ScrubHttpxLog(logging.Filter):
    """httpx logs every request URL at INFO, robot keys included; strip query strings from those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = scrub(record.getMessage())
            record.args = ()
        return True


def _install_log_filter() -> None:
    log = logging.getLogger("httpx")
    if not any(isinstance(f, _ScrubHttpxLog) for f in log.filters):
        log.addFilter(_ScrubHttpxLog())


_install_log_filter()


class Channel(ABC):
    """A configured destination. `send` raises DeliveryError; it never retries (the Dispatcher does)."""

    type_name: str = ""

    def __init__(self, name: str, lang: Lang | None, secrets: Iterable[str] = ()) -> None:
        self.name = name
        self.lang = lang
        self.secrets: tuple[str, ...] = tuple(s for s in secrets if s)

    @abstractmethod
    async def send(self, notice: Notice, now: datetime) -> None: ...

    async def aclose(self) -> None:  # noqa: B027 - most channels hold nothing to release
        """Release connections; called once by Dispatcher.close()."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate and host name verification always on; `ca_file` replaces the system CAs for private PKIs."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def resolve_path(path: str | None, base_dir: Path) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base_dir / p)


def _reason(exc: BaseException) -> str:
    """The innermost OS/TLS reason: httpx's own messages are vague ('All connection attempts failed')."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (OSError, ssl.SSLError)) and str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


class Pace:
    """At most `limit` requests in any `window` seconds, for a peer that refuses more (the group robots).

    A request's time is when it ended (answer or error), which is no earlier than when the peer counted
    it, so the peer never sees `limit` + 1 within its window even when one request took longer than the
    next. The channel's single worker calls `wait` then `done` around each request; what waits meanwhile
    stays in the channel's queue (delivery.py), so a burst is delayed, not lost.
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.limit = limit
        self.window = window
        self._ends: deque[float] = deque(maxlen=limit)
        self._clock = clock
        self._sleep = sleep

    async def wait(self) -> None:
        if len(self._ends) == self.limit:
            delay = self._ends[0] + self.window - self._clock()
            if delay > 0:
                await self._sleep(delay)

    def done(self) -> None:
        self._ends.append(self._clock())


class HttpChannel(Channel):
    """A channel that POSTs JSON; one pooled client per channel, TLS verified, no redirects followed.
    With a `pace`, every request waits its turn under the peer's rate limit."""

    def __init__(self, name: str, options: HttpOptions, secrets: Iterable[str] = (), pace: Pace | None = None) -> None:
        super().__init__(name, options.lang, secrets)
        self.timeout = options.timeout
        self.pace = pace
        self._client = httpx.AsyncClient(
            verify=tls_context(options.ca_file), timeout=options.timeout, proxy=options.proxy,
            trust_env=False, follow_redirects=False)

    async def post(self, url: str, *, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST and return the answer; DeliveryError (URL without its query) on transport errors and non-2xx."""
        return await self.request("POST", url, body=body, headers=headers)

    async def request(self, method: str, url: str, *, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        """One request under the pace; DeliveryError (URL without its query) on transport errors and non-2xx."""
        shown = scrub(url)
        if self.pace is not None:
            await self.pace.wait()
        try:
            resp = await self._client.request(
                method, url, content=body,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer from {shown} within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot {method} {shown}: {_reason(exc)}") from None
        finally:
            if self.pace is not None:
                self.pace.done()
        if not 200 <= resp.status_code < 300:
            snippet = resp.text[:200].strip()
            permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 425, 429)
            raise DeliveryError(f"HTTP {resp.status_code} from {shown}: {snippet}", permanent=permanent)
        return resp

    async def aclose(self) -> None:
        await self._client.aclose()


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def check_errcode(resp: httpx.Response, service: str) -> None:
    """WeCom and DingTalk answer HTTP 200 even on failure; the verdict is `errcode` in the JSON body."""
    try:
        answer = resp.json()
    except ValueError:
        raise DeliveryError(f"{service} answered something that is not JSON: {resp.text[:100]!r}") from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        raise DeliveryError(f"{service} answered errcode {code}: {answer.get('errmsg', '') if code else answer}")

"""HTTP(S): status, optional body match, latency threshold, TLS certificate expiry."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from opsmon.collector.config.checks import HttpSpec
from opsmon.collector.core.errors import ProtocolError
from opsmon.collector.core.states import DEGRADED, DOWN, UP
from opsmon.collector.inputs.checks.base import Check, Outcome, slow

BODY_LIMIT = 1 << 20
# httpx and cryptography are imported at the first probe that needs them, not with the module: a site poller
# imports every check type and runs only its share's (httpx 8 MB, cryptography's x509 9 MB of its RSS;
# docs/poller.md "Cost").


def cert_days_left(der: bytes, now: datetime) -> tuple[float, datetime]:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return (not_after - now).total_seconds() / 86400, not_after


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while seen is not None:
        if isinstance(seen, (OSError, TimeoutError)):
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return ProtocolError(str(exc) or type(exc).__name__)


class HttpCheck(Check):
    type_name = "http"
    Spec = HttpSpec

    async def probe(self) -> Outcome:
        import httpx

        spec: HttpSpec = self.spec
        # A cached context: building one per run would reload the CA bundle every time.
        verify = self.ctx.ssl_context(spec.tls_verify, spec.ca_file)
        t0 = time.perf_counter()
        try:
            async with httpx.AsyncClient(
                verify=verify, timeout=self.timeout, follow_redirects=spec.follow_redirects, trust_env=False
            ) as client:
                async with client.stream(spec.method, spec.url, headers=spec.headers) as resp:
                    body = b""
                    if spec.body_match is not None:
                        async for chunk in resp.aiter_bytes():
                            body += chunk
                            if len(body) >= BODY_LIMIT:
                                break
                    der = None
                    stream = resp.extensions.get("network_stream")
                    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
                    if ssl_object is not None:
                        der = ssl_object.getpeercert(binary_form=True)
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            # httpx wraps socket and TLS errors; hand the base class the original so the reason is exact.
            raise _root_cause(exc) from None
        elapsed = time.perf_counter() - t0
        ok_codes = spec.expect_status
        if (resp.status_code not in ok_codes) if ok_codes else not (200 <= resp.status_code < 400):
            wanted = ",".join(map(str, ok_codes)) if ok_codes else "200-399"
            return Outcome(DOWN, f"HTTP {resp.status_code} (expected {wanted})")
        if spec.body_match is not None:
            text = body.decode(resp.encoding or "utf-8", errors="replace")
            if not re.search(spec.body_match, text):
                return Outcome(DOWN, f"body does not match /{spec.body_match}/")
        problems = []
        if too_slow := slow("slow:", elapsed, spec.latency_warn):
            problems.append(too_slow)
        if der is not None:
            days, not_after = cert_days_left(der, datetime.now(UTC))
            self.ctx.cert_expiry[(self.asset_id, self.check_id)] = not_after.timestamp()
            if days < spec.tls_warn_days:
                problems.append(f"TLS certificate expires in {days:.1f} days ({not_after:%Y-%m-%d})")
        if problems:
            return Outcome(DEGRADED, "; ".join(problems))
        return Outcome(UP)

"""GET /api/v1/poller/checks: a site poller's share of the checks (share.py), behind the agents' token check."""
from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from opsmon.collector.core.http import errors
from opsmon.collector.inputs.agents.route import AGENT_TOKEN, ReportEndpoint
from opsmon.collector.inputs.poller.share import SHARE_PATH, PollerShare


class ShareDoor(Protocol):
    def poller_share(self, poller: str) -> PollerShare | None:
        """The checks the site poller `poller` runs; None when it is no site's poller."""


def share_router(endpoint: ReportEndpoint, door: ShareDoor) -> APIRouter:
    """The route, checking the token as the agents' door does (`endpoint.agent`)."""
    router = APIRouter()

    @router.get(SHARE_PATH, tags=["agents"], response_model=PollerShare, responses=errors(401, 403))
    def poller_checks(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(AGENT_TOKEN)]
                      ) -> PollerShare | JSONResponse:
        """The checks a site poller runs (its token: `opsmon agents enroll NAME --site SITE --poller`): the ICMP,
        TCP, HTTP, SNMP and SSH checks of the assets of its site it runs (all of them, or its share when the site has
        two or more pollers), links excepted but for their far-end checks and the interfaces of its devices
        (`uplinks`); SNMP and SSH credentials by id only (docs/poller.md). It asks again after `refresh`."""
        found = endpoint.agent(request.headers.get("authorization"))
        if found is None:
            status, doc, headers = endpoint.UNAUTHORIZED
            return JSONResponse(doc, status_code=status, headers=dict(headers))
        share = door.poller_share(found[0])
        if share is None:
            return JSONResponse({"detail": f"{found[0]} runs no site's checks: enrolled as an agent, not a poller "
                                           "(--poller), or without a site (--site)"}, status_code=403)
        return share

    return router

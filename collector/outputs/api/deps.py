"""Who is asking: `Authorization: Bearer <token>` (see `opsmon tokens create`), and the shared query parsing.

Reads are open when `api.public_read` is true; writes always need an operator.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from opsmon.collector.core.fields import parse_timestamp
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store import tokens

RANK = {"viewer": 0, "operator": 1, "admin": 2}
BEARER = HTTPBearer(scheme_name="bearer", auto_error=False,
                    description="A person's token with a role: viewer, operator or admin (`opsmon tokens create`)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


class Auth:
    """The dependencies that name the person behind a request, refusing those whose role is too low."""

    def __init__(self, face: CollectorFace) -> None:
        self.face = face
        self.viewer = self.who("viewer")
        self.operator = self.who("operator")

    def who(self, required: str) -> Callable[[Request, HTTPAuthorizationCredentials | None], str]:
        face = self.face

        def dep(request: Request, credentials: Credentials) -> str:
            if not request.headers.get("authorization", ""):
                if required == "viewer" and face.public_read:
                    return "anonymous"
                raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
            # Any other scheme, or an empty token, leaves `credentials` None: refused like a wrong token.
            found = tokens.authenticate(face.store, credentials.credentials) if credentials is not None else None
            if found is None:
                raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
            name, role = found
            if RANK[role] < RANK[required]:
                raise HTTPException(403, f"this needs the {required} role; {name} has {role}")
            return name

        return dep


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise HTTPException(422, f"{name}: {value!r} is not an ISO 8601 timestamp with a UTC offset") from None

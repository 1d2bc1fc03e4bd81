"""Who is asking: `Authorization: Bearer <token>` (see `opsmon tokens create`), and the shared query parsing.

Reads are open when `api.public_read` is true; writes always need an operator.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from opsmon.collector.core.errors import InvalidInput
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


async def refuse_unknown_query(request: Request) -> None:
    """An app-wide dependency: a query parameter the operation does not take is a 422 naming the ones it does.

    FastAPI ignores unknown parameters, so a typo (`?stauts=open`) silently returned everything. Pages outside
    the API (the acknowledge links, which mail gateways may decorate) are left alone.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    known = _query_names(route)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) if known else "none"
        # FastAPI's own form for a parameter it cannot read (the 422 every operation documents)
        raise RequestValidationError([
            {"loc": ("query", name), "type": "extra_forbidden", "input": request.query_params[name],
             "msg": f"unknown query parameter {name!r}; this operation takes: {takes}"} for name in unknown])


def _query_names(route: APIRoute) -> frozenset[str]:
    def walk(dependant: Dependant) -> Iterator[str]:
        yield from (p.alias for p in dependant.query_params)
        for sub in dependant.dependencies:
            yield from walk(sub)

    names: frozenset[str] | None = getattr(route, "_opsmon_query_names", None)  # kept on the route: unhashable
    if names is None:
        names = frozenset(walk(route.dependant))
        route._opsmon_query_names = names  # type: ignore[attr-defined]
    return names


def body_text(body: dict[str, Any] | None, key: str, nullable: bool = False) -> str | None:
    """A text field of a JSON body (None when absent, or null where the schema allows it): 422 naming the key when
    it is not a text of at most 4000 characters (a body read as a dict is not validated by FastAPI field by field)."""
    if body is None or key not in body or (nullable and body[key] is None):
        return None
    value = body[key]
    if not isinstance(value, str) or len(value) > 4000:
        raise InvalidInput(f"{key} must be a text of at most 4000 characters")
    return value


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise HTTPException(422, f"{name}: {value!r} is not an ISO 8601 timestamp with a UTC offset") from None

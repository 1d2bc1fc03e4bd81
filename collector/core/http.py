"""What every HTTP door (the API, the agents' report route) shares: the error body and documented bodies."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, BeforeValidator, Field


def _as_sent(value: Any) -> Any:
    return value


def documented(model: type[BaseModel]) -> BeforeValidator:
    """`Annotated[dict[str, Any], documented(Model)]`: a body described in /openapi.json as `Model` but read as a
    JSON object; the handler validates it with `Model`'s own rules, so a refusal keeps the API's
    `{"detail": "<where>: <why>"}` form instead of FastAPI's list of errors."""
    return BeforeValidator(_as_sent, json_schema_input_type=model)


class ErrorBody(BaseModel):
    """Every refusal the API makes itself (401, 403, 404, 409, 413, 422)."""

    detail: str = Field(description="Why, in words for a person")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body, query, path or header, then the name")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class FieldErrors(BaseModel):
    """A request FastAPI could not read: a parameter of the wrong type or range, a body that is not an object."""

    detail: list[FieldError]


_WHY = {
    400: "The body is not JSON (FastAPI could not parse it)",
    401: "No token, or one that is invalid or revoked (header WWW-Authenticate: Bearer)",
    403: "The token's role is too low for this",
    404: "Not found",
    409: "Conflicts with what exists",
    413: "Body too large",
    422: "Refused: the detail says why (a text), or FastAPI's list for a parameter it could not read",
    503: "Not taken now (the store cannot be written): keep it and send it again after Retry-After seconds",
}
_CHALLENGE = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the 4xx answers an operation can give, each with the error body."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {"model": ErrorBody | FieldErrors if code == 422 else ErrorBody, "description": _WHY[code]}
        if code == 401:
            out[code]["headers"] = _CHALLENGE
    return out


VIEWER = errors(401)
OPERATOR = errors(401, 403)
WRITE = errors(401, 403, 413, 503)  # a body is bounded before it is read (outputs/api/bounds.py); the store may refuse


class Removed(BaseModel):
    removed: str = Field(description="The id of what was removed")


async def asgi_json(send: Callable[[dict[str, Any]], Awaitable[None]], status: int, doc: dict[str, Any],
                    headers: tuple[tuple[str, str], ...] = ()) -> None:
    """A JSON answer sent on a raw ASGI `send`, byte for byte what Starlette's JSONResponse sends (body and
    headers, in its order): for the doors that answer ahead of FastAPI (the agents' report route, the bounds)."""
    body = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})

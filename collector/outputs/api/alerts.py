"""POST /api/v1/alertmanager: Alertmanager's webhook (version 4) opens, keeps and resolves incidents."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import WRITE, documented, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace


class Alert(BaseModel):
    """One alert; `labels.asset` (or instance, job) names the asset, `labels.severity` the severity."""

    model_config = ConfigDict(extra="allow")
    status: str = Field(description="firing or resolved")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = Field({}, description="summary or description becomes the cause")
    fingerprint: str | None = None


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook body (version 4); fields besides `alerts` are accepted and not read."""

    model_config = ConfigDict(extra="allow")
    alerts: list[Alert] = Field(max_length=1000)


class AlertsTaken(BaseModel):
    incidents: list[str] = Field(description="The incidents the alerts opened, kept or resolved")


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["alerts"])

    @router.post("/api/v1/alertmanager", response_model=AlertsTaken, responses={**WRITE, **errors(400, 422)})
    async def alertmanager_webhook(body: Annotated[dict[str, Any], documented(AlertmanagerWebhook), Body()],
                                   _: str = Depends(auth.operator)) -> AlertsTaken:
        """Alertmanager's webhook (version 4): each firing alert opens or keeps an incident, resolved resolves."""
        alerts = body.get("alerts")
        if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
            raise InvalidInput("expected Alertmanager's webhook body: an object with an 'alerts' list")
        if len(alerts) > 1000:
            raise InvalidInput("at most 1000 alerts per call")
        try:  # the documented model's rules: labels and annotations were read with .get() (a list was a 500)
            AlertmanagerWebhook.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidInput(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        return AlertsTaken(incidents=face.on_alerts(alerts))

    return router

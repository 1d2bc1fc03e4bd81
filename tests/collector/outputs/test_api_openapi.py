"""The API's shape: /openapi.json names every body, the API reads the collector only through its face,
and stays in small modules, one per resource."""
from __future__ import annotations

import ast
import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import httpx

from opsmon.collector.inputs.agents.route import AgentDoor
from opsmon.collector.outputs.api.app import create_app
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.service.face import ServiceFace
from tests.conftest import ROOT

API = ROOT / "collector" / "outputs" / "api"
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def openapi() -> dict[str, Any]:
    """/openapi.json as the collector's ASGI application serves it (building the app reads nothing yet)."""
    app = create_app(SimpleNamespace(store=None, max_body_bytes=1 << 20, timezone="UTC"))  # type: ignore[arg-type]

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get("/openapi.json")

    answer = asyncio.run(get())
    assert answer.status_code == 200
    return answer.json()


def named(schema: dict[str, Any]) -> bool:
    """A schema that names a model: a $ref, a list of them, or one of them or null; never a bare object."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return named(schema.get("items", {}))
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s != {"type": "null"}]
        return bool(options) and all(named(s) for s in options)
    return False


def operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def test_every_operation_is_tagged_secured_and_names_its_bodies() -> None:
    doc = openapi()
    ops = operations(doc)
    assert len(ops) >= 30
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert schemes["agentToken"]["scheme"] == "bearer"
    for name, op in ops:
        assert op.get("tags"), f"{name} has no tag"
        if name != "GET /api/v1/health":
            assert op.get("security") in ([{"bearer": []}], [{"agentToken": []}]), f"{name}: {op.get('security')}"
        bodies = {"request": op.get("requestBody", {}).get("content", {})}
        bodies.update({status: answer.get("content", {}) for status, answer in op["responses"].items()})
        for where, content in bodies.items():
            if "application/json" in content:
                schema = content["application/json"].get("schema", {})
                assert named(schema), f"{name} {where}: {schema} names no model"
        for status in ("401", "403", "404", "409", "413"):
            if status in op["responses"]:
                assert op["responses"][status]["content"]["application/json"]["schema"] == ERROR_BODY, (name, status)
    by_name = dict(ops)
    assert "401" in by_name["GET /api/v1/states"]["responses"]
    assert {"401", "403"} <= set(by_name["PUT /api/v1/assets/{asset_id}"]["responses"])
    body = by_name["POST /api/v1/agent/report"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AgentReport"}
    assert "schema" in doc["components"]["schemas"]["AgentReport"]["properties"]  # the alias, as agents send it


def test_api_modules_stay_small() -> None:
    door = ROOT / "collector" / "inputs" / "agents"
    for path in sorted(API.glob("*.py")) + [door / "route.py", door / "bare.py"]:
        if path.name in ("app.py", "face.py"):  # assembles the routers; the one protocol naming every read they make
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 150, f"{path.name} has {lines} lines"


def test_outputs_never_import_the_service() -> None:
    for path in sorted((ROOT / "collector" / "outputs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import"
                modules = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for module in modules:
                assert not module.startswith("opsmon.collector.service"), f"{path} imports {module}"


def test_the_service_face_has_every_member_of_the_protocol() -> None:
    members = {name: value for proto in (AgentDoor, CollectorFace) for name, value in vars(proto).items()
               if not name.startswith("_")}
    assert {"health", "live_state", "acknowledge", "agent_report", "store"} <= set(members)
    for name, declared in members.items():
        implemented = inspect.getattr_static(ServiceFace, name, None)
        assert implemented is not None, f"ServiceFace lacks {name}"
        assert isinstance(implemented, property) == isinstance(declared, property), name
        if callable(declared):
            assert list(inspect.signature(implemented).parameters) == list(inspect.signature(declared).parameters), name

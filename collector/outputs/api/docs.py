"""GET /docs: the API's Swagger UI from files the collector ships (swagger-ui/), never a CDN.

The centre's intranet has no internet: FastAPI's default page loads its script and style from jsDelivr and its
icon from fastapi.tiangolo.com, and shows nothing there. Why vendored files rather than the `swagger-ui-bundle`
wheel: that wheel carries Swagger UI 4.15, which cannot render the OpenAPI 3.1 documents FastAPI writes; 5.x
can (swagger-ui/README.md says where the files come from). ReDoc is not offered: it would need a CDN too.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "swagger-ui"
SWAGGER_UI_VERSION = "5.36.0"  # of swagger-ui-dist, whose files are in ASSETS
PREFIX = "/docs/assets"


def mount(app: FastAPI) -> None:
    """/docs and its assets on `app` (made with docs_url=None and redoc_url=None)."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # validatorUrl none: Swagger UI would otherwise show a badge loaded from validator.swagger.io
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
                                   swagger_css_url=f"{PREFIX}/swagger-ui.css?v={SWAGGER_UI_VERSION}",
                                   swagger_favicon_url=f"{PREFIX}/favicon-32x32.png",
                                   swagger_ui_parameters={"validatorUrl": None})

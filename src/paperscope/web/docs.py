"""The API's documentation page: Swagger UI from the installed swagger-ui-bundle package
(no CDN, so it works offline) started by a static script (no inline script, so the
Content-Security-Policy holds here too)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    templates = request.app.state.services.templates
    return templates.TemplateResponse(request, "docs.html", {"nav": "api"})

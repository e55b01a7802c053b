"""The web app: server-rendered pages, an open JSON API shaped like Hugging Face's papers
API, and feeds. Entry point: ``create_app(settings)``; ``paperscope serve`` runs it."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from swagger_ui_bundle import swagger_ui_path
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from paperscope import __version__
from paperscope.app import Paperscope
from paperscope.settings import Settings
from paperscope.web import (
    api,
    community_api,
    community_pages,
    digest_pages,
    docs,
    pages,
    render,
)
from paperscope.web.access_log import AccessLog
from paperscope.web.admission import Admission
from paperscope.web.auth import SignInFirst, sign_in_url
from paperscope.web.cache import PageCache
from paperscope.web.security import RequestLimits, SecurityHeaders, host_patterns
from paperscope.web.services import Services

HERE = Path(__file__).parent
log = logging.getLogger("paperscope.web")
SERVER_ERROR = (
    '<!doctype html><html lang="en"><title>500 · paperscope</title>'
    '<link rel="stylesheet" href="/static/style.css"><header class="top"><div class="wrap bar">'
    '<a class="brand" href="/">paperscope</a></div></header><main class="wrap">'
    '<h1>Something went wrong on our side</h1><p><a href="/">Back to today\'s papers</a></p>'
    "</main></html>"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each worker checks the schema is current; `paperscope migrate` changes it, once.
        core = Paperscope.from_settings(settings, migrate=False, server=True)
        search = core.search
        search.warm_up()
        search.start_refreshing()  # index reloads off the request path
        templates = Jinja2Templates(directory=HERE / "templates")
        templates.env.auto_reload = False  # templates ship with the package: no stat per render
        render.install(templates.env, settings, core.store)
        core.community.start_fetching()  # submissions waiting for arXiv, off the request path
        app.state.services = Services.of(core, templates)
        # What start-up made (indexes, model, modules: ~300k objects on the 83k corpus) lives
        # as long as the process. Frozen, a full collection no longer walks it: its pauses,
        # which stall every request in this worker, went from 120 ms to under 40 ms.
        gc.collect()
        gc.freeze()
        yield
        core.close()

    app = FastAPI(
        title="paperscope",
        version=__version__,
        description=(
            "Open API of a self-hosted research-paper discovery service. The `/api/daily_papers`,"
            " `/api/papers/search` and `/api/papers/{id}` endpoints answer in the shape of"
            " Hugging Face's papers API, so `huggingface_hub.HfApi(endpoint=...)` works"
            " against them."
        ),
        lifespan=lifespan,
        # The docs page is paperscope's own (web/docs.py): offline, and no inline script.
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Middleware added later runs earlier. From the outside in: proxy headers (only from
    # trusted proxies) name the real client and scheme; every request is logged; every
    # answer carries the security headers; oversized requests and unknown Host headers are
    # refused before they queue; admission; the page cache; the routes.
    app.add_middleware(
        PageCache,
        ttl=settings.page_cache_s,
        version=lambda: (
            app.state.services.search.version(),
            app.state.services.community_version(),
        ),
        shared_dir=settings.data_dir / "cache" / "pages",
        on_write=lambda: app.state.services.forget_community_version(),
    )
    app.add_middleware(Admission, limit=settings.max_concurrent_requests)
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=host_patterns(settings), www_redirect=False
    )
    app.add_middleware(
        RequestLimits,
        max_url_chars=settings.max_url_chars,
        max_body_bytes=settings.max_request_body_bytes,
    )
    https = (settings.public_url or "").startswith("https://")
    app.add_middleware(SecurityHeaders, https=https)
    app.add_middleware(AccessLog)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    # Routes with a paper id and more after it come before the routes that take any path
    # as a paper id.
    app.include_router(community_api.router)
    app.include_router(community_api.open_router)
    app.include_router(api.router)
    app.include_router(docs.router)
    app.include_router(community_pages.router)
    app.include_router(digest_pages.router)
    app.include_router(pages.router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path'))}: {e['msg']}"
            for e in error.errors()
        ]
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "; ".join(problems), "detail": problems}, 422)
        return pages.error_page(request, 422, "That request could not be read", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(error.detail)}, error.status_code, error.headers)
        return pages.error_page(
            request, error.status_code, str(error.detail), [], headers=error.headers
        )

    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, error: SignInFirst):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "send an API token"}, 401)
        return RedirectResponse(sign_in_url(error.next), status_code=303)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        # Starlette re-raises the error after this answer, so the server logs it as well.
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "something went wrong on the server"}, 500)
        try:
            return pages.error_page(
                request,
                500,
                "Something went wrong on our side",
                ["It is logged. Try again in a moment, or go back to today's papers."],
            )
        except Exception:  # the page itself cannot be made (the database is away...)
            return HTMLResponse(SERVER_ERROR, 500)

    return app

"""The web app: server-rendered pages, an open JSON API shaped like Hugging Face's papers
API, and feeds. Entry point: ``create_app(settings)``; ``paperscope serve`` runs it."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware
from swagger_ui_bundle import swagger_ui_path
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from paperscope import __version__
from paperscope.app import Paperscope
from paperscope.settings import Settings
from paperscope.web import (
    api,
    author_pages,
    authors_api,
    community_api,
    community_pages,
    digest_pages,
    docs,
    errors,
    following_api,
    following_pages,
    library_api,
    library_pages,
    pages,
    render,
)
from paperscope.web.access_log import AccessLog
from paperscope.web.admission import Admission
from paperscope.web.cache import PageCache
from paperscope.web.conditional import ConditionalGet
from paperscope.web.security import RequestLimits, SecurityHeaders, host_patterns
from paperscope.web.services import Services

HERE = Path(__file__).parent
log = logging.getLogger("paperscope.web")


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
        core.community.start_fetching()  # submissions waiting for arXiv, off the request path
        app.state.services = Services.of(core, templates)
        render.install(templates.env, settings, app.state.services.digests)
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
    # refused before they queue; admission; conditional GET; the page cache; the routes.
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
    # Feeds: 304 Not Modified for a reader that has the answer already (cached or not).
    app.add_middleware(ConditionalGet)
    app.add_middleware(Admission, limit=settings.max_concurrent_requests)
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=host_patterns(settings), www_redirect=False
    )
    app.add_middleware(
        RequestLimits,
        max_url_chars=settings.max_url_chars,
        max_body_bytes=settings.max_request_body_bytes,
        max_upload_bytes=settings.library_import_max_bytes,
    )
    https = (settings.public_url or "").startswith("https://")
    app.add_middleware(SecurityHeaders, https=https)
    app.add_middleware(AccessLog)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)

    # Routes with a paper id and more after it come before the routes that take any path
    # as a paper id.
    app.include_router(library_api.router)  # before community_api: /collections/{id}/import
    app.include_router(community_api.router)
    app.include_router(community_api.open_router)
    app.include_router(authors_api.router)  # authors (issue 22)
    app.include_router(authors_api.open_router)
    app.include_router(following_api.router)  # OPML import (issue 22)
    app.include_router(api.router)
    app.include_router(docs.router)
    app.include_router(library_pages.router)  # before community_pages: /collections/{id}.ris
    app.include_router(community_pages.router)
    app.include_router(digest_pages.router)
    app.include_router(author_pages.router)  # authors (issue 22)
    app.include_router(following_pages.router)
    app.include_router(pages.router)

    errors.install(app)
    return app

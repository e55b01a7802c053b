"""The one place errors become answers: the API answers ``{"error": message}`` with the
error's status, pages answer with the site's error page saying what went wrong. Routes raise
(a `PaperscopeError` from the domain, or FastAPI's `HTTPException` for what is the web's
own) and never translate; only forms that answer in place, with what was typed kept, catch
an error themselves."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperscope.errors import PaperscopeError
from paperscope.search.engine import SearchUnavailable
from paperscope.web.auth import SignInFirst, sign_in_url
from paperscope.web.pages import error_page

log = logging.getLogger("paperscope.web")
SERVER_ERROR = (
    '<!doctype html><html lang="en"><title>500 · paperscope</title>'
    '<link rel="stylesheet" href="/static/style.css"><header class="top"><div class="wrap bar">'
    '<a class="brand" href="/">paperscope</a></div></header><main class="wrap">'
    '<h1>Something went wrong on our side</h1><p><a href="/">Back to today\'s papers</a></p>'
    "</main></html>"
)


def _api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def status_of(error: PaperscopeError, request: Request) -> int:
    """The HTTP status of a domain error on this surface."""
    if isinstance(error, SearchUnavailable) and not _api(request):
        # A page (feed, BibTeX) asking for meaning before it is ready has always been told
        # 422, "ask differently" (lexical); the API says 503, "ask again later".
        return 422
    return error.status


async def paperscope_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PaperscopeError)
    status = status_of(error, request)
    if _api(request):
        return JSONResponse({"error": error.message}, status)
    return error_page(request, status, error.message, list(error.hints))


async def sign_in_first(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInFirst)
    if _api(request):
        return JSONResponse({"error": "send an API token"}, 401)
    return RedirectResponse(sign_in_url(error.next), status_code=303)


async def invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path'))}: {e['msg']}"
        for e in error.errors()
    ]
    if _api(request):
        return JSONResponse({"error": "; ".join(problems), "detail": problems}, 422)
    return error_page(request, 422, "That request could not be read", problems)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if _api(request):
        return JSONResponse({"error": str(error.detail)}, error.status_code, error.headers)
    return error_page(request, error.status_code, str(error.detail), [], headers=error.headers)


async def unexpected(request: Request, error: Exception) -> Response:
    # Starlette re-raises the error after this answer, so the server logs it as well.
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    if _api(request):
        return JSONResponse({"error": "something went wrong on the server"}, 500)
    try:
        return error_page(
            request,
            500,
            "Something went wrong on our side",
            ["It is logged. Try again in a moment, or go back to today's papers."],
        )
    except Exception:  # the page itself cannot be made (the database is away...)
        return HTMLResponse(SERVER_ERROR, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(PaperscopeError, paperscope_error)
    app.add_exception_handler(Exception, unexpected)

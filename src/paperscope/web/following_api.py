"""Follows in through the API: `POST /api/me/following/import` takes an OPML file (the raw
body, or multipart with the field `file`), follows the paperscope searches and authors it
lists, and answers what it followed and what it did not (`paperscope.following.imports`).
The export is `/me/following.opml`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from paperscope.following.imports import import_follows
from paperscope.following.opml import MAX_OPML_BYTES, MAX_OUTLINES
from paperscope.web.api import ApiModel
from paperscope.web.auth import ApiMember
from paperscope.web.community_api import AUTH_ERRORS
from paperscope.web.security import uploaded_file
from paperscope.web.services import Svc

router = APIRouter(prefix="/api", tags=["members"])


class NotImported(ApiModel):
    text: str = Field(description="the outline's name")
    url: str = Field(description="its address")
    reason: str


class FollowImportOut(ApiModel):
    summary: str
    searches: list[str] = Field(description="the queries of the searches newly followed")
    authors: list[str] = Field(description="the authors newly followed")
    already: int = Field(description="outlines the member followed already")
    not_imported: list[NotImported]


@router.post(
    "/me/following/import",
    response_model=FollowImportOut,
    responses={
        **AUTH_ERRORS,
        413: {
            "description": f"The file is over {MAX_OPML_BYTES:,} bytes or has more than "
            f"{MAX_OUTLINES:,} outlines"
        },
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "text/x-opml": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            }
        }
    },
)
async def import_following(request: Request, svc: Svc, member: ApiMember):
    """Follow the searches and authors an OPML file lists (another paperscope's
    `/me/following.opml`, or a feed reader's): each outline whose address is a paperscope
    search or author feed (or page), on any host, becomes a follow; the others are listed
    with why. A file with a DTD or entities, malformed, not OPML, or nested too deep is
    refused (422) with nothing followed; importing the same file again adds nothing."""
    data, _ = await uploaded_file(request, "OPML file")
    done = await run_in_threadpool(
        import_follows, svc.following, svc.authors, member, data, svc.settings.public_url
    )
    return FollowImportOut(
        summary=done.summary,
        searches=done.searches,
        authors=done.authors,
        already=done.already,
        not_imported=[NotImported(text=s.text, url=s.url, reason=s.reason) for s in done.skipped],
    )

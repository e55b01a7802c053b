"""The API of a member's library: `POST /api/collections/{id}/import` takes a BibTeX, RIS
or CSL-JSON file (multipart, field `file`; or the raw body) into one of the member's
collections and answers what matched how and what was not found. (Exports are pages:
`/collections/{id}.bib|.ris|.json`, and `/c/{token}.bib|.ris|.json` when shared.)"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from paperscope.library import ImportReport
from paperscope.web.api import ApiModel
from paperscope.web.auth import ApiMember
from paperscope.web.community_api import AUTH_ERRORS, CollectionOut, _collection_json
from paperscope.web.security import uploaded_file
from paperscope.web.services import Svc

router = APIRouter(prefix="/api", tags=["members"])
IMPORT_ERRORS = {
    **AUTH_ERRORS,
    413: {"description": "The file is larger, or holds more references, than an import takes"},
}


class ImportedEntry(ApiModel):
    position: int = Field(description="1-based, in the file's order")
    key: str | None = Field(description="the citation key or item id")
    title: str
    year: int | None
    arxiv_id: str | None = Field(description="the arXiv id the reference names, if any")
    doi: str | None
    paper_id: str | None = Field(description="the stored paper it is; null: not found")
    matched_by: Literal["arxiv id", "doi", "title"] | None


class MatchCounts(ApiModel):
    by_arxiv_id: int
    by_doi: int
    by_title: int


class ImportOut(ApiModel):
    collection: CollectionOut
    format: Literal["bibtex", "ris", "csl-json"]
    summary: str
    added: int = Field(description="papers new to the collection")
    matched: MatchCounts
    not_found: int
    notices: list[str]
    entries: list[ImportedEntry]


def report_json(svc, report: ImportReport) -> ImportOut:
    return ImportOut(
        collection=CollectionOut(**_collection_json(svc, report.collection)),
        format=report.format,
        summary=report.summary,
        added=report.added,
        matched=MatchCounts(
            by_arxiv_id=report.count("arxiv id"),
            by_doi=report.count("doi"),
            by_title=report.count("title"),
        ),
        not_found=len(report.not_found),
        notices=list(report.notices),
        entries=[
            ImportedEntry(
                position=m.entry.position,
                key=m.entry.key,
                title=m.entry.title,
                year=m.entry.year,
                arxiv_id=m.entry.arxiv_id,
                doi=m.entry.doi,
                paper_id=m.paper_id,
                matched_by=m.how,
            )
            for m in report.matches
        ],
    )


@router.post(
    "/collections/{collection_id}/import",
    response_model=ImportOut,
    responses=IMPORT_ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "format": {"type": "string", "enum": ["bibtex", "ris", "csl-json"]},
                        },
                        "required": ["file"],
                    }
                },
                "application/x-bibtex": {"schema": {"type": "string"}},
                "application/x-research-info-systems": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            }
        }
    },
)
async def import_library(
    request: Request,
    svc: Svc,
    member: ApiMember,
    collection_id: int,
    format: Annotated[
        Literal["bibtex", "ris", "csl-json"] | None,
        Query(description="the file's format; unset: told by its content"),
    ] = None,
):
    """Import a BibTeX, RIS or CSL-JSON file (Zotero exports all three) into one of your
    collections: each reference is matched to a stored paper by its arXiv id, else its
    DOI, else its title (and year). All matched papers are added, or none on an error;
    importing the same file again adds nothing."""
    data, named = await uploaded_file(request, "library file")
    report = await run_in_threadpool(
        svc.library.import_file, member, data, format or named, collection_id=collection_id
    )
    return report_json(svc, report)

"""A member's library in and out, on the collection pages: a BibTeX, RIS or CSL-JSON file
uploaded into a collection (new or existing), answered with what matched and what was not
found; and every collection as a BibTeX, RIS or CSL-JSON download. The reading and matching
are in `paperscope.library`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from paperscope.community import StoredCollection
from paperscope.library import ImportReport, csl_json, ris
from paperscope.store import StoredPaper
from paperscope.web.auth import Csrf, SignedIn, Viewer, resolve_viewer
from paperscope.web.feeds import bibtex_list
from paperscope.web.pages import page
from paperscope.web.security import read_upload
from paperscope.web.services import Services, Svc

router = APIRouter(include_in_schema=False, dependencies=[Depends(resolve_viewer)])
Line = Annotated[str, Form(max_length=500)]
Upload = Annotated[UploadFile, File(description="a BibTeX, RIS or CSL-JSON file")]

# Each export: how it is written, its content type and its file name's extension.
EXPORTS: dict[str, tuple[Callable[[Iterable[StoredPaper]], str], str]] = {
    "bib": (bibtex_list, "application/x-bibtex; charset=utf-8"),
    "ris": (ris.write, "application/x-research-info-systems; charset=utf-8"),
    "json": (csl_json.write, "application/vnd.citationstyles.csl+json; charset=utf-8"),
}


def file_name(collection: StoredCollection, extension: str) -> str:
    """reading-list.ris: the collection's name in plain ASCII words."""
    ascii_ = unicodedata.normalize("NFKD", collection.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:60] or "collection"
    return f"{slug}.{extension}"


def export(svc: Services, collection: StoredCollection, extension: str) -> Response:
    write, media_type = EXPORTS[extension]
    body = write(svc.community.collection_papers(collection))
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file_name(collection, extension)}"'
        },
    )


def _format(value: str) -> str | None:
    return value.strip() or None  # empty: told by the file's content


def _report_page(request: Request, report: ImportReport) -> HTMLResponse:
    return page(request, "library_import.html", report=report)


@router.post("/collections/import", response_class=HTMLResponse, dependencies=[Csrf])
def import_new(
    request: Request, svc: Svc, member: SignedIn, file: Upload, name: Line, format: Line = ""
):
    """A library file into a new collection of that name."""
    report = svc.library.import_file(
        member, read_upload(file), _format(format), new_collection=name
    )
    return _report_page(request, report)


@router.post(
    "/collections/{collection_id:int}/import", response_class=HTMLResponse, dependencies=[Csrf]
)
def import_into(
    request: Request,
    svc: Svc,
    member: SignedIn,
    collection_id: int,
    file: Upload,
    format: Line = "",
):
    """A library file into one of the member's collections (papers in it already stay)."""
    report = svc.library.import_file(
        member, read_upload(file), _format(format), collection_id=collection_id
    )
    return _report_page(request, report)


def _exports(extension: str) -> None:
    def own(svc: Svc, viewer: Viewer, collection_id: int) -> Response:
        return export(svc, svc.community.collection(viewer, collection_id), extension)

    def shared(svc: Svc, token: str) -> Response:
        return export(svc, svc.community.shared_collection(token), extension)

    router.add_api_route(f"/collections/{{collection_id:int}}.{extension}", own, methods=["GET"])
    router.add_api_route(f"/c/{{token}}.{extension}", shared, methods=["GET"])


for _extension in EXPORTS:
    _exports(_extension)

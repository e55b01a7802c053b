"""A member's library through the pages and the API: upload a Zotero export into a
collection, read what matched and what was not found, download the collection as BibTeX,
RIS or CSL-JSON; and everything hostile refused with a message, changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperscope.accounts import utcnow
from paperscope.library import read_library
from tests.web.members import csrf_in

LIBRARY = (Path(__file__).parent / "fixtures" / "library.bib").read_bytes()
MRAG, KNN, SAFE = "2601.16503", "2601.16509", "2601.16506"


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _upload(person, path: str, data: bytes, **fields):
    return person.client.post(
        path,
        data={"csrf_token": person.csrf(), **fields},
        files={"file": ("My Library.bib", data, "application/octet-stream")},
        follow_redirects=False,
    )


def _papers_in(person, collection_id: int) -> list[str]:
    exported = person.client.get(f"/collections/{collection_id}.json")
    return [item["id"] for item in exported.json()]


def test_a_bib_file_becomes_a_new_collection_and_the_page_lists_what_was_found(
    people, community_app
):
    ann = people()
    collections = ann.client.get("/collections").text
    assert 'action="/collections/import"' in collections and 'type="file"' in collections

    answer = _upload(ann, "/collections/import", LIBRARY, name="From Zotero")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "3 matched (1 by arXiv id, 0 by DOI, 2 by title), 2 not found" in page
    assert f'href="/papers/{MRAG}"' in page and f'href="/papers/{KNN}"' in page
    not_found = page.split('id="not-found"')[1]
    assert "Attention Is All You Need" in not_found and "arXiv:1706.03762" in not_found
    assert "Deep Learning (2016)" in not_found and MRAG not in not_found

    made = TestClient(community_app).get("/api/collections", headers=_bearer(ann.token()))
    (collection,) = made.json()
    assert collection["name"] == "From Zotero" and collection["size"] == 3
    assert sorted(_papers_in(ann, collection["id"])) == sorted([MRAG, KNN, SAFE])


def test_importing_into_a_collection_again_adds_nothing(people):
    bea = people()
    bea.post("/collections", name="Reading")
    cid = int(bea.client.get("/collections").text.split('href="/collections/')[1].split('"')[0])
    page = bea.client.get(f"/collections/{cid}").text
    assert f'action="/collections/{cid}/import"' in page
    first = _upload(bea, f"/collections/{cid}/import", LIBRARY, format="bibtex")
    assert first.status_code == 200 and "3 added" in first.text
    again = _upload(bea, f"/collections/{cid}/import", LIBRARY)
    assert again.status_code == 200 and "0 added" in again.text
    assert sorted(_papers_in(bea, cid)) == sorted([MRAG, KNN, SAFE])


def test_the_exports_download_as_files_and_read_back_as_the_same_papers(people):
    cho = people()
    _upload(cho, "/collections/import", LIBRARY, name="Ünïcode & Co")
    cid = int(cho.client.get("/collections").text.split('href="/collections/')[1].split('"')[0])
    page = cho.client.get(f"/collections/{cid}").text
    for extension in ("bib", "ris", "json"):
        assert f'href="/collections/{cid}.{extension}"' in page
    expected_types = {
        "bib": "application/x-bibtex; charset=utf-8",
        "ris": "application/x-research-info-systems; charset=utf-8",
        "json": "application/vnd.citationstyles.csl+json; charset=utf-8",
    }
    for extension, media_type in expected_types.items():
        answer = cho.client.get(f"/collections/{cid}.{extension}")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == media_type
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="unicode-co.{extension}"'
        )
        _, entries = read_library(answer.content, None, 100)
        assert sorted(e.arxiv_id for e in entries) == sorted([MRAG, KNN, SAFE])
        # Round trip: the export imported into a new collection holds the same papers.
        copy = _upload(cho, "/collections/import", answer.content, name=f"Copy {extension}")
        assert "3 matched (3 by arXiv id, 0 by DOI, 0 by title), 0 not found" in copy.text
    assert json.loads(cho.client.get(f"/collections/{cid}.json").text)[0]["publisher"] == "arXiv"
    # Someone else's collection: as if there were none.
    assert people().client.get(f"/collections/{cid}.ris").status_code == 404


def test_the_api_imports_multipart_or_a_raw_body_and_says_how_each_matched(people, community_app):
    dee = people()
    api = TestClient(community_app)
    auth = _bearer(dee.token())
    cid = api.post("/api/collections", json={"name": "API"}, headers=auth).json()["id"]

    raw = api.post(f"/api/collections/{cid}/import", content=LIBRARY, headers=auth)
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert body["format"] == "bibtex" and body["added"] == 3 and body["notFound"] == 2
    assert body["matched"] == {"byArxivId": 1, "byDoi": 0, "byTitle": 2}
    assert body["collection"]["size"] == 3
    assert [(e["paperId"], e["matchedBy"]) for e in body["entries"]] == [
        (MRAG, "arxiv id"),
        (KNN, "title"),
        (SAFE, "title"),
        (None, None),
        (None, None),
    ]
    assert body["entries"][3]["arxivId"] == "1706.03762"

    ris = "TY  - GEN\nTI  - Anything\nUR  - https://arxiv.org/abs/2601.16489v2\nER  - \n"
    multipart = api.post(
        f"/api/collections/{cid}/import",
        files={"file": ("x.txt", ris.encode(), "text/plain")},
        data={"format": "ris"},
        headers=auth,
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["added"] == 1 and multipart.json()["collection"]["size"] == 4

    wrong = api.post(
        f"/api/collections/{cid}/import?format=csl-json", content=LIBRARY, headers=auth
    )
    assert wrong.status_code == 422 and "not JSON" in wrong.json()["error"]
    other = _bearer(people().token())
    assert (
        api.post(f"/api/collections/{cid}/import", content=LIBRARY, headers=other).status_code
        == 404
    )
    assert api.post(f"/api/collections/{cid}/import", content=LIBRARY).status_code == 401


HOSTILE = [
    (b"@article{a, title={Fine}}\n@misc{b, title = {Unclosed\n", 422, "malformed"),
    (bytes(range(256)) * 40, 422, "binary file"),
    (b'{"items": [{"title": "x"}]}', 422, "CSL-JSON is a list of items"),
    (b"TI  - Title\nAU  - Someone\n", 422, "not a library file"),
    (b"TY  - JOUR\nTI  - Unended\n", 422, "not a RIS file"),
    ("".join(f"@misc{{k{n}, title={{T}}}}\n" for n in range(100_000)).encode(), 413, "100,000"),
]


@pytest.mark.parametrize(("data", "status", "message"), HOSTILE)
def test_hostile_files_are_refused_with_a_message_and_change_nothing(
    people, community_app, data, status, message
):
    eve = people()
    api = TestClient(community_app)
    auth = _bearer(eve.token())
    cid = api.post("/api/collections", json={"name": "Mine"}, headers=auth).json()["id"]
    answer = api.post(f"/api/collections/{cid}/import", content=data, headers=auth)
    assert answer.status_code == status and message in answer.json()["error"]
    page = _upload(eve, "/collections/import", data, name="Half done")
    assert page.status_code == status and message in page.text
    listed = api.get("/api/collections", headers=auth).json()
    assert [(c["name"], c["size"]) for c in listed] == [("Mine", 0)]


def test_an_upload_over_the_cap_is_refused_while_it_is_read(people, community_app):
    fay = people()
    api = TestClient(community_app)
    auth = _bearer(fay.token())
    cid = api.post("/api/collections", json={"name": "Big"}, headers=auth).json()["id"]
    cap = community_app.state.services.settings.library_import_max_bytes

    def streamed():  # no Content-Length: counted as it arrives
        chunk = b"%" * 1_000_000
        for _ in range(50):
            yield chunk

    answer = api.post(f"/api/collections/{cid}/import", content=streamed(), headers=auth)
    assert answer.status_code == 413
    assert answer.json()["error"] == (
        f"the file is too large: an import takes at most {cap:,} bytes"
    )
    page = _upload(fay, f"/collections/{cid}/import", b"%" * (cap + 100_000))
    assert page.status_code == 413 and "file is too large: an import takes at most" in page.text
    assert _papers_in(fay, cid) == []


def test_for_you_can_learn_from_one_collection(people, community_app):
    gus = people()
    _upload(gus, "/collections/import", LIBRARY, name="Safety")
    cid = int(gus.client.get("/collections").text.split('href="/collections/')[1].split('"')[0])
    assert f'href="/for-you?collection={cid}"' in gus.client.get(f"/collections/{cid}").text
    page = gus.client.get(f"/for-you?collection={cid}")
    assert page.status_code == 200 and "your collection" in page.text and "Safety" in page.text
    assert gus.client.get("/for-you?collection=").status_code == 200
    assert gus.client.get("/for-you?collection=abc").status_code == 422
    other = people()
    assert other.client.get(f"/for-you?collection={cid}").status_code == 404
    api = TestClient(community_app)
    answer = api.get(f"/api/for-you?collection={cid}", headers=_bearer(gus.token()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["collection"]["name"] == "Safety"
    theirs = api.get(f"/api/for-you?collection={cid}", headers=_bearer(other.token()))
    assert theirs.status_code == 404


def test_a_digest_subscription_can_learn_for_you_from_one_collection(
    people, community_app, community_store
):
    hal = people("hal@example.org")
    _upload(hal, "/collections/import", LIBRARY, name="For the digest")
    other = people()
    _upload(other, "/collections/import", LIBRARY, name="Not hal's")
    mine = community_store.collections.of_member(community_store.accounts.by_email(hal.email).id)
    theirs = community_store.collections.of_member(
        community_store.accounts.by_email(other.email).id
    )
    subscriber, _ = community_store.digests.subscribe(hal.email, utcnow(), confirmed=True)
    token = community_app.state.services.digests.token("manage", subscriber.id)
    form = hal.client.get("/digest/preferences", params={"token": token})
    assert 'name="for_you_collection"' in form.text and "For the digest (3)" in form.text
    typed = {
        "token": token,
        "csrf_token": csrf_in(form.text),
        "frequency": "daily",
        "for_you": "1",
        "max_papers": "10",
    }
    refused = hal.client.post(
        "/digest/preferences", data=typed | {"for_you_collection": str(theirs[0].id)}
    )
    assert refused.status_code == 422 and "pick one of your own collections" in refused.text
    assert community_store.digests.get(subscriber.id).for_you_collection is None
    saved = hal.client.post(
        "/digest/preferences", data=typed | {"for_you_collection": str(mine[0].id)}
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert f'value="{mine[0].id}" selected' in saved.text
    assert community_store.digests.get(subscriber.id).for_you_collection == mine[0].id

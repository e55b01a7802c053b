from datetime import datetime

from sqlalchemy import select

from paperscope.records import make_record
from paperscope.store.models import PaperAuthor, PaperCategory
from paperscope.store.papers import author_key


def paper(version, *, title="A title", updated="2024-02-01 00:00:00 UTC", paper_id="2401.00001"):
    return make_record(
        id=f"{paper_id}v{version}" if version else paper_id,
        title=title,
        abstract="Abstract.",
        authors=["Ada Lovelace", "Bernhard Schölkopf"],
        categories=["cs.LG", "cs.AI"],
        published="2024-01-01 00:00:00 UTC",
        updated=updated,
    )


def test_newer_version_replaces_older(store):
    store.papers.upsert([paper(1, title="First")])
    result = store.papers.upsert([paper(2, title="Second")])
    assert (result.inserted, result.updated) == (0, 1)
    stored = store.papers.get("2401.00001")
    assert (stored.version, stored.title) == (2, "Second")


def test_older_version_never_replaces_newer(store):
    store.papers.upsert([paper(3, title="Third")])
    result = store.papers.upsert([paper(1, title="First", updated="2025-01-01 00:00:00 UTC")])
    assert result.unchanged == 1
    assert store.papers.get("2401.00001").title == "Third"


def test_reingesting_the_same_record_changes_nothing(store):
    store.papers.upsert([paper(1)])
    before = store.papers.get("2401.00001")
    result = store.papers.upsert([paper(1)])
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 1)
    assert store.papers.get("2401.00001") == before


def test_a_paper_twice_in_one_batch_is_stored_once_as_its_newest_version(store):
    result = store.papers.upsert([paper(1, title="Old"), paper(2, title="New"), paper(1)])
    assert result.inserted == 1
    assert store.papers.count() == 1
    assert store.papers.get("2401.00001").title == "New"


def test_source_without_versions_uses_update_time_and_keeps_known_version(store):
    store.papers.upsert([paper(2, title="v2")])
    newer = paper(None, title="metadata fix", updated="2024-03-01 00:00:00 UTC")
    store.papers.upsert([newer])
    stored = store.papers.get("2401.00001")
    assert (stored.version, stored.title, stored.updated) == (
        2,
        "metadata fix",
        datetime(2024, 3, 1),
    )


def test_authors_and_categories_rewritten_on_update_in_order(store):
    store.papers.upsert([paper(1)])
    renamed = make_record(
        id="2401.00001v2",
        title="t",
        abstract="",
        authors=["Zed", "Ada Lovelace"],
        categories=["cs.CL"],
        updated="2024-05-01 00:00:00 UTC",
    )
    store.papers.upsert([renamed])
    with store.engine.connect() as connection:
        authors = (
            connection.execute(select(PaperAuthor.name).order_by(PaperAuthor.position))
            .scalars()
            .all()
        )
        categories = connection.execute(select(PaperCategory.category)).scalars().all()
    assert authors == ["Zed", "Ada Lovelace"]
    assert categories == ["cs.CL"]


def test_authors_are_searchable_by_name_ignoring_case_and_accents(store):
    store.papers.upsert([paper(1), paper(1, paper_id="2401.00002")])
    store.papers.upsert(
        [
            make_record(
                id="2401.00003",
                title="Other",
                abstract="",
                authors=["Someone Else"],
                categories=["cs.AI"],
            )
        ]
    )
    found = store.papers.by_author("scholkopf")
    assert sorted(p.id for p in found) == ["2401.00001", "2401.00002"]
    assert store.papers.by_author("%") == []
    assert store.papers.by_author("   ") == []


def test_author_keys_fold_case_accents_width_and_spacing():
    assert author_key("  Yann   LeCun ") == "yann lecun"
    assert author_key("Bernhard Schölkopf") == author_key("BERNHARD SCHOLKOPF")
    assert author_key("Ｙａｎｎ LeCun") == "yann lecun"  # full-width letters, as NFKD folds them


def test_stats_counts_papers(store):
    store.papers.upsert([paper(1), paper(1, paper_id="2401.00002")])
    stats = store.stats()
    assert stats["papers"] == 2
    assert stats["distinct_authors"] == 2

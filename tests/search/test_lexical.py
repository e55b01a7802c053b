from datetime import date

from paperscope.records import make_record
from paperscope.search.lexical import LexicalIndex
from paperscope.search.query import SearchFilters, parse_query


def search(index, text, filters=None, limit=20):
    return [hit.paper_id for hit in index.search(parse_query(text, filters), limit=limit)]


def test_sync_indexes_everything_once_then_only_changes(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    assert index.sync(demo_store) == (3622, 0)
    assert index.sync(demo_store) == (0, 0)
    assert len(index.view) == 3622

    old = demo_store.papers.get("2501.08549")
    demo_store.papers.upsert(
        [
            make_record(
                id="2501.08549v2",
                title="Renamed: zyxwvut tokens",
                abstract=old.abstract,
                authors=old.authors,
                categories=old.categories,
                updated="2026-03-01 00:00:00 UTC",
            )
        ]
    )
    reopened = LexicalIndex(tmp_path / "index")  # a restarted process sees the same index
    assert reopened.sync(demo_store) == (1, 0)
    assert search(reopened, "zyxwvut") == ["2501.08549"]
    assert len(reopened.view) == 3622


def test_query_syntax_narrows_results(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    index.sync(demo_store)
    papers = {p.id: p for p in demo_store.papers.iter_all()}

    phrase = search(index, '"reasoning segmentation"')
    assert phrase and all(
        "reasoning segmentation"
        in " ".join((papers[i].title + " " + papers[i].abstract).split()).lower()
        for i in phrase
    )
    in_title = search(index, "ti:agents")
    assert in_title and all("agent" in papers[i].title.lower() for i in in_title)

    with_survey = set(search(index, "agents", limit=5000))
    without = set(search(index, "agents -survey", limit=5000))
    assert without < with_survey
    assert not any("survey" in (papers[i].title + papers[i].abstract).lower() for i in without)

    assert "2501.08549" in search(index, "<SEG> token")


def test_author_search_folds_accents_and_case(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    index.sync(demo_store)
    found = search(index, 'au:"sitong gong"')
    assert found == ["2501.08549"]


def test_filters_by_category_and_date(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    index.sync(demo_store)
    papers = {p.id: p for p in demo_store.papers.iter_all()}
    filters = SearchFilters(
        categories=("cs.RO",), published_from=date(2026, 2, 1), published_until=date(2026, 2, 10)
    )
    found = search(index, "robot", filters, limit=100)
    assert found
    for paper_id in found:
        assert "cs.RO" in papers[paper_id].categories
        assert date(2026, 2, 1) <= papers[paper_id].published.date() <= date(2026, 2, 10)
    only_robotics = index.constraint(parse_query("robot", SearchFilters(categories=("cs.RO",))))
    assert index.ids(only_robotics) == {i for i, p in papers.items() if "cs.RO" in p.categories}


def test_a_query_of_stop_words_finds_nothing_instead_of_everything(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    index.sync(demo_store)
    assert search(index, "the of and") == []


def test_date_filters_far_in_the_past_or_future_are_not_errors(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    index.sync(demo_store)
    every_day = SearchFilters(published_from=date(421, 2, 11), published_until=date(9999, 1, 1))
    assert index.ids(index.constraint(parse_query("robot", every_day))) == set(
        demo_store.papers.hashes()
    )
    long_ago = SearchFilters(published_from=date(421, 2, 11), published_until=date(1500, 1, 1))
    assert index.ids(index.constraint(parse_query("robot", long_ago))) == set()


def test_a_view_keeps_answering_from_its_commit_while_the_index_moves(demo_store, tmp_path):
    index = LexicalIndex(tmp_path / "index")
    index.add_papers(p for p in demo_store.papers.iter_all() if p.id != "2501.08549")
    before = index.view
    assert "2501.08549" not in search(before, "<SEG> token", limit=5000)

    index.sync(demo_store)  # a commit adds the paper (and a new key for it)
    assert "2501.08549" in search(index, "<SEG> token")
    # The old view still reads the old searcher and the old keys.
    assert "2501.08549" not in search(before, "<SEG> token", limit=5000)
    assert len(before.ids_by_key) == len(index.view.ids_by_key) - 1
    assert index.view is not before and index.stamp != before.stamp


def test_a_searcher_a_commit_ahead_of_its_key_table_drops_the_unknown_keys(demo_store, tmp_path):
    """The writer commits, then saves the manifest: a view made in between reads keys that
    its table does not have yet. It leaves them out rather than failing."""
    from paperscope.search.lexical import LexicalView

    index = LexicalIndex(tmp_path / "index")
    index.sync(demo_store)
    ahead = LexicalView(index, index.view.searcher, index.view.ids_by_key[:100], index.stamp)
    everything = index.constraint(parse_query("robot", SearchFilters(categories=("cs.RO",))))
    assert ahead.ids(everything) == {i for i in index.ids(everything) if i in ahead.ids_by_key}
    found = search(ahead, "robot", limit=5000)
    assert found and set(found) <= set(ahead.ids_by_key)
    assert all(key < 100 for key in ahead.keys(everything).tolist())

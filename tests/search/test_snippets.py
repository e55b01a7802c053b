import pytest

from paperscope.search.lexical import LexicalIndex
from paperscope.search.snippets import Highlighter


@pytest.fixture(scope="module")
def lexical(tmp_path_factory) -> LexicalIndex:
    return LexicalIndex(tmp_path_factory.mktemp("index"))


@pytest.fixture
def marker(lexical):
    def make(query: str) -> Highlighter:
        return Highlighter(lexical.analyze(query), lexical.stem_word)

    return make


def marked(snippet) -> list[str]:
    return [snippet.text[start:end] for start, end in snippet.highlights]


def test_words_are_marked_when_they_stem_like_the_query(marker) -> None:
    title = marker("transformer studies prune").highlight(
        "Transformers transform; a study of Transform-XL pruning, not transient prunes"
    )
    assert marked(title) == ["Transformers", "transform", "study", "Transform", "pruning", "prunes"]


def test_accented_words_match_their_folded_query(marker) -> None:
    title = marker("schrodinger naive").highlight("Solving the Schrödinger equation, naïvely")
    assert marked(title) == ["Schrödinger", "naïvely"]


def test_stop_words_and_markup(marker) -> None:
    assert marker("the of").highlight("The state of the art").highlights == ()
    title = marker("seg").highlight("<SEG> tokens for segmentation")
    assert title.text == "<SEG> tokens for segmentation"
    assert marked(title) == ["SEG"]


def test_words_that_only_hold_a_sentence_together_are_never_marked(marker) -> None:
    """Lucene's stop words are dropped by the analyzer; pronouns, auxiliaries and
    question words are left out of the marks too, while words that carry meaning in
    papers ("few", "out") are still marked."""
    question = marker("how do we segment videos with the transformers we have")
    title = question.highlight("How do we segment videos? We have used transformers, as they do")
    assert marked(title) == ["segment", "videos", "transformers"]
    shots = marker("few-shot out of distribution").highlight("Few-shot and out-of-distribution")
    assert marked(shots) == ["Few", "shot", "out", "distribution"]


def test_snippet_window_holds_the_most_distinct_matches(marker) -> None:
    filler = " ".join(f"word{i}" for i in range(120))
    text = f"graph appears early. {filler} graph neural network pruning together. {filler}"
    snippet = marker("graph neural pruning").snippet(text, max_chars=120)
    assert snippet.text.startswith("… ") and snippet.text.endswith(" …")
    assert marked(snippet) == ["graph", "neural", "pruning"]
    assert len(snippet.text) <= 120 + 4


def test_short_text_is_whole_with_lines_joined(marker) -> None:
    snippet = marker("learning").snippet("Deep\n  learning\tfor proteins")
    assert snippet.text == "Deep learning for proteins"
    assert marked(snippet) == ["learning"]

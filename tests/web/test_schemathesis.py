"""Property-based API testing from the published OpenAPI document: schemathesis generates
valid and invalid requests for every operation and checks that none is a server error,
that every answer matches the documented schema and status codes, that invalid input is
refused and that valid input is accepted.

A schema cannot say that quotes must pair, that a query needs one word that is not
excluded, or what an arXiv id looks like. So valid requests take their `q` from the query
language (`tests.strategies.valid_queries`), their paper id from the spellings the API
reads (an unknown paper is a documented 404) and their author's name from the demo papers,
and a `from` after `until` is put in order: with that, positive data acceptance holds like
every other check.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.search.conftest import demo_records
from tests.strategies import examples, valid_queries
from tests.web.conftest import TAG_PAPER, UPVOTED

POSITIVE_EXAMPLES = examples(30)
NEGATIVE_EXAMPLES = examples(10)

api_paper_ids = st.one_of(
    st.sampled_from([TAG_PAPER, UPVOTED]),
    st.builds("{}v{}".format, st.sampled_from([TAG_PAPER, UPVOTED]), st.integers(1, 9)),
    st.builds("arXiv:{}".format, st.sampled_from([TAG_PAPER, UPVOTED])),
    st.builds("{:04d}.{:05d}".format, st.integers(0, 9999), st.integers(0, 99999)),
    st.sampled_from(["hep-th/9901001", "math.GT/0309136v2", "2401.04122"]),
)


# Authors of the shared demo papers (an unknown name is a documented 404).
api_author_names = st.sampled_from(
    [name for record in demo_records(5) for name in record.authors[:2]]
)


def valid(case, query, paper_id, author):
    """A positive case whose values also mean something to paperscope."""
    if case.query and "q" in case.query:
        case.query["q"] = query.text
    if case.query and {"from", "until"} <= case.query.keys():
        start, end = sorted([case.query["from"], case.query["until"]])
        case.query["from"], case.query["until"] = start, end
    if case.path_parameters and "paper_id" in case.path_parameters:
        case.path_parameters["paper_id"] = paper_id
    if case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = author
    return case


def cases(operation, mode: GenerationMode):
    strategy = operation.as_strategy(mode)
    if mode is GenerationMode.POSITIVE:
        return st.builds(valid, strategy, valid_queries, api_paper_ids, api_author_names)
    return strategy


def run(operation, mode: GenerationMode, budget: int, answers: Counter) -> None:
    @given(case=cases(operation, mode))
    @settings(max_examples=budget, suppress_health_check=list(HealthCheck))
    def check(case):
        note(case.as_curl_command())
        response = case.call()
        case.validate_response(response)
        answers[(operation.label, mode.value, response.status_code // 100)] += 1

    try:
        check()
    except Exception as error:
        error.add_note(f"{operation.label}, {mode.value} data")
        raise


def test_api_conforms_to_its_schema(live_server):
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    # The open reading API. Writing (PUT /api/papers/{id}) would change the papers the other
    # web tests share; tests/web/test_api.py holds it to its schema on a store of its own, and
    # tests/web/test_community.py the members' API (which needs a token).
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.method.upper() == "GET" and not op.definition.raw.get("security")
    ]
    assert {op.path for op in operations} >= {"/api/daily_papers", "/api/papers/search"}
    answers: Counter[tuple[str, str, int]] = Counter()
    for operation in operations:
        run(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES, answers)
        if len(operation.query):  # a lone path parameter has no invalid values
            run(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, answers)
    for (label, mode, kind), count in sorted(answers.items()):
        print(f"{label}, {mode} data: {count} answered {kind}xx")
    # Valid requests are answered, not merely refused politely: each operation succeeded.
    for operation in operations:
        assert answers[(operation.label, "positive", 2)], f"{operation.label}: no 2xx answer"

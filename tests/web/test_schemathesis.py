"""Property-based API testing from the published OpenAPI document: schemathesis generates
valid and invalid requests for every operation and checks that none is a server error and
that every answer matches the documented schema and status codes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

# A schema cannot say that quotes must pair or that a query needs one word that is not
# excluded, so some schema-valid searches are rightly answered 422 with a message; every
# other check (no server error, documented status codes, content types, response
# schemas, invalid input rejected) stays on.
EXCLUDED = [positive_data_acceptance]


def test_api_conforms_to_its_schema(live_server):
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/daily_papers", "/api/papers/search"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(excluded_checks=EXCLUDED)

        check()

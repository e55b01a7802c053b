"""Every exception paperscope defines is a PaperscopeError of the right kind, so one place
(web/errors.py) maps them all to HTTP and the CLI prints any of them as one line."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import paperscope
from paperscope.errors import (
    Conflict,
    InvalidInput,
    PaperscopeError,
    TooManyRequests,
    Unavailable,
)

SRC = Path(paperscope.__file__).parent


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) for every class in src/ whose base names an exception."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(base) for base in node.bases]
            if any(b.endswith(("Error", "Exception", "Refused")) for b in bases):
                found.append((module, node.name))
    return found


@pytest.mark.parametrize(("module", "name"), _exception_classes())
def test_every_exception_class_derives_from_the_one_base(module: str, name: str):
    error = getattr(importlib.import_module(module), name)
    assert issubclass(error, PaperscopeError), f"{module}.{name} is outside the hierarchy"
    assert 400 <= error.status < 600


def test_the_search_finds_the_classes_it_should():
    names = {name for _, name in _exception_classes()}
    assert {"Refused", "BadRecord", "SearchUnavailable", "RateLimited", "OaiError"} <= names


def test_old_bases_are_kept_where_code_catches_them():
    from paperscope.accounts import BadEmail, RateLimited
    from paperscope.arxiv_ids import InvalidArxivId
    from paperscope.search.engine import SearchUnavailable
    from paperscope.search.query import QuerySyntaxError
    from paperscope.store.collections import DuplicateName

    assert issubclass(QuerySyntaxError, InvalidInput) and issubclass(QuerySyntaxError, ValueError)
    assert issubclass(InvalidArxivId, ValueError) and InvalidArxivId("x").status == 422
    assert issubclass(BadEmail, ValueError)
    assert issubclass(RateLimited, TooManyRequests) and issubclass(RateLimited, RuntimeError)
    assert issubclass(SearchUnavailable, Unavailable) and SearchUnavailable("x").status == 503
    assert issubclass(DuplicateName, Conflict) and issubclass(DuplicateName, ValueError)


def test_a_refusal_carries_its_own_status_and_message():
    from paperscope.community import Refused

    refused = Refused(429, "too many votes in a short time")
    assert (refused.status, refused.message) == (429, "too many votes in a short time")

"""Every error paperscope raises on purpose, in one tree. Each carries a message for people
(what went wrong and what to do) and the HTTP status it answers with; `web/errors.py` is the
one place that turns them into answers (JSON for the API, the site's error page for pages),
and the CLI prints the message of any of them.

Existing names keep their old bases too (a `QuerySyntaxError` is still a `ValueError`), so
code that caught those still does.

    PaperscopeError                     500  base: `status`, `message`, `hints`
    ├── InvalidInput                    422  what was given cannot be used
    │   ├── BadRecord                        records.py: a paper's metadata
    │   ├── InvalidArxivId                   arxiv_ids.py
    │   ├── QuerySyntaxError                 search/query.py
    │   ├── PeriodError                      listings.py: a date, week or month
    │   ├── BadEmail                         accounts/
    │   ├── UserError                        cli.py: a command's arguments
    │   ├── BadLink                     400  digest: a digest link that does not work
    │   └── LinkRefused                 400  accounts/: a sign-in link that does not work
    ├── Unauthorized                    401
    │   └── SignInFirst                      web/auth.py: pages redirect to sign in
    ├── Forbidden                       403
    ├── NotFound                        404
    ├── Conflict                        409
    │   ├── DuplicateName                    store/collections.py
    │   └── LeaseLost                        store/digests.py: another sender took over
    ├── TooLarge                        413
    │   └── RequestTooLarge                  web/security.py
    ├── TooManyRequests                 429
    │   └── RateLimited                      accounts/
    ├── Refused                    (its own) community/: a rule said no (403/404/409/422/429)
    ├── Upstream                        502  a server we ask answered badly
    │   └── ArxivError                       ingest/arxiv_http.py
    │       └── OaiError                     ingest/oai.py
    ├── Unavailable                     503  not ready or not configured yet
    │   ├── SearchUnavailable                search/engine.py: semantic search not ready
    │   ├── NotEmbedded                      recommend/: no vector for the liked papers
    │   ├── MailNotConfigured                mail/
    │   ├── ModelNotFound                    search/encoder/
    │   ├── ModelFileMismatch                search/encoder/
    │   ├── SchemaOutOfDate                  store/database.py: run `paperscope migrate`
    │   └── CannotListen                     web/serve.py: the port is taken
    ├── SnapshotRefused                 500  search/lexical_snapshot.py: a keyword index
    │                                        snapshot this node must not use (never shown)
    └── CopyMismatch                    500  store/copy.py: a copy does not match its source
"""

from __future__ import annotations


class PaperscopeError(Exception):
    """Base of every error paperscope raises on purpose: `str(error)` (also `message`) is
    for people; `status` the HTTP answer; `hints` further lines an error page shows."""

    status: int = 500
    hints: tuple[str, ...] = ()

    def __init_subclass__(cls, *, status: int | None = None, **kwargs: object) -> None:
        # A kind names its HTTP answer in its class line: `class NotFound(PaperscopeError,
        # status=404)`; a subclass without one answers as its parent does.
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(PaperscopeError, status=422):
    """What was given (a parameter, a form field, a file) cannot be used as it is."""


class Unauthorized(PaperscopeError, status=401):
    """Who is asking is not known: sign in, or send a token."""


class Forbidden(PaperscopeError, status=403):
    """Known, but not allowed to."""


class NotFound(PaperscopeError, status=404):
    """What was asked for is not there (a paper, a collection, a member)."""


class Conflict(PaperscopeError, status=409):
    """The change collides with what is there (a name in use, a paper submitted already)."""


class TooLarge(PaperscopeError, status=413):
    """What was sent is larger than paperscope takes."""


class TooManyRequests(PaperscopeError, status=429):
    """Too many requests of one kind: the message says when to try again."""


class Upstream(PaperscopeError, status=502):
    """A server paperscope asks (arXiv) answered badly or not at all."""


class Unavailable(PaperscopeError, status=503):
    """Not possible yet: an index is being built, a model or mail is not set up."""

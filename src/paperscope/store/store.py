"""Store: the one way data goes into and comes out of the database, one part per aggregate
(papers, rankings, votes, embeddings, harvests, the index generation; members and their
sessions, rate limits and shared secrets; submissions, comments, collections; digest
subscribers and their outbox; the ledger of what each person was shown; authors: splits,
merges, follows, claims; followed searches and private feed links)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from paperscope.settings import DIGEST_MAX_PAPERS
from paperscope.store.accounts import Accounts
from paperscope.store.authors import Authors
from paperscope.store.collections import Collections
from paperscope.store.comments import Comments
from paperscope.store.digests import Digests
from paperscope.store.embeddings import Embeddings
from paperscope.store.following import Following
from paperscope.store.generation import Generations
from paperscope.store.harvest import Harvests
from paperscope.store.ledger import Ledger
from paperscope.store.limits import Limits
from paperscope.store.models import Paper, PaperAuthor
from paperscope.store.papers import Papers
from paperscope.store.rankings import Rankings
from paperscope.store.submissions import Submissions
from paperscope.store.votes import Votes


class Store:
    def __init__(self, engine: Engine, *, digest_max_papers: int = DIGEST_MAX_PAPERS) -> None:
        self.engine = engine
        self.papers = Papers(engine)
        self.rankings = Rankings(engine)
        self.votes = Votes(engine)
        self.embeddings = Embeddings(engine)
        self.harvests = Harvests(engine)
        self.generations = Generations(engine)
        self.accounts = Accounts(engine)
        self.limits = Limits(engine)
        self.submissions = Submissions(engine)
        self.comments = Comments(engine)
        self.collections = Collections(engine)
        self.digests = Digests(engine, digest_max_papers)
        self.authors = Authors(engine)
        self.following = Following(engine)  # followed searches, private feed links
        self.ledger = Ledger(engine)  # what each person was shown

    def close(self) -> None:
        """Close the database connections this store holds."""
        self.engine.dispose()

    @property
    def backend(self) -> str:
        """The database's dialect name: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def stats(self) -> dict:
        with self.papers.reads.connect() as connection:
            papers = connection.execute(select(func.count()).select_from(Paper)).scalar_one()
            authors = connection.execute(
                select(func.count(func.distinct(PaperAuthor.name_key)))
            ).scalar_one()
            first, last = connection.execute(
                select(func.min(Paper.published), func.max(Paper.published))
            ).one()
            with_code = connection.execute(
                select(func.count())
                .select_from(Paper)
                .where(func.json_array_length(Paper.code_links) > 0)
            ).scalar_one()
            categories = connection.execute(
                select(Paper.primary_category, func.count())
                .group_by(Paper.primary_category)
                .order_by(func.count().desc(), Paper.primary_category)
                .limit(10)
            ).all()
        return {
            "papers": papers,
            "distinct_authors": authors,
            "papers_with_code_links": with_code,
            "first_published": first.isoformat() + "Z" if first else None,
            "last_published": last.isoformat() + "Z" if last else None,
            "top_primary_categories": {c or "": n for c, n in categories},
            "database": self.engine.url.render_as_string(hide_password=True),
        }

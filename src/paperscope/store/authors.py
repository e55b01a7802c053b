"""Authors: who is behind a name, as far as curators have said, and who follows or claims
them.

An identity is a key. A name's own identity is its folded form (`paper_authors.name_key`,
"wei zhang"); a curator can give some of its papers an identity of their own (a split:
`author_identities` holds "wei zhang#2" and `author_assignments` which author positions are
its), or make one name another's (a merge: `author_aliases`, "j. smith" -> "john smith",
which holds for the name's later papers too). One author position's identity is therefore
its assignment, else its name's alias, else its name's key (`IDENTITY` below). The papers'
author strings never change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, select, update

from paperscope.store import generation
from paperscope.store.models import (
    AuthorAlias,
    AuthorAssignment,
    AuthorClaim,
    AuthorFollow,
    AuthorIdentity,
    Paper,
    PaperAuthor,
    User,
)
from paperscope.store.sql import Part, chunks, insert_or

SPLIT_MARK = "#"  # "wei zhang#2": never in a folded name of a stored paper's author


def _rows():
    """paper_authors with what each position's identity is (`IDENTITY`)."""
    return (
        select(PaperAuthor.paper_id, PaperAuthor.position, PaperAuthor.name, IDENTITY)
        .select_from(PaperAuthor)
        .outerjoin(
            AuthorAssignment,
            and_(
                AuthorAssignment.paper_id == PaperAuthor.paper_id,
                AuthorAssignment.position == PaperAuthor.position,
            ),
        )
        .outerjoin(AuthorAlias, AuthorAlias.name_key == PaperAuthor.name_key)
    )


IDENTITY = func.coalesce(
    AuthorAssignment.identity, AuthorAlias.identity, PaperAuthor.name_key
).label("identity")


@dataclass(frozen=True)
class SplitIdentity:
    key: str
    base: str
    name: str
    label: str
    created_at: datetime


@dataclass(frozen=True)
class AuthorRow:
    paper_id: str
    position: int
    name: str
    identity: str


@dataclass(frozen=True)
class Claim:
    user_id: int
    user_name: str  # the member's handle
    user_fullname: str
    paper_id: str
    identity: str
    created_at: datetime


class Authors(Part):
    # -- identities ---------------------------------------------------------------------
    def split_identity(self, key: str) -> SplitIdentity | None:
        with self.reads.connect() as connection:
            row = connection.execute(
                select(AuthorIdentity).where(AuthorIdentity.key == key)
            ).first()
        return SplitIdentity(**row._mapping) if row else None

    def split_identities(self, keys: Sequence[str]) -> dict[str, SplitIdentity]:
        found: dict[str, SplitIdentity] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(dict.fromkeys(keys))):
                rows = connection.execute(
                    select(AuthorIdentity).where(AuthorIdentity.key.in_(chunk))
                )
                found.update((row.key, SplitIdentity(**row._mapping)) for row in rows)
        return found

    def splits_of(self, base: str) -> list[SplitIdentity]:
        """The identities split off this name, oldest first."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(AuthorIdentity)
                .where(AuthorIdentity.base == base)
                .order_by(AuthorIdentity.created_at, AuthorIdentity.key)
            ).all()
        return [SplitIdentity(**row._mapping) for row in rows]

    def alias_of(self, name_key: str) -> str | None:
        """The identity a merge made this name part of, if any."""
        with self.reads.connect() as connection:
            return connection.execute(
                select(AuthorAlias.identity).where(AuthorAlias.name_key == name_key)
            ).scalar_one_or_none()

    def rows(self, identity: str) -> list[AuthorRow]:
        """Every author position that is this identity's, in no particular order."""
        with self.reads.connect() as connection:
            return self._rows(connection, identity)

    @staticmethod
    def _rows(connection: Connection, identity: str) -> list[AuthorRow]:
        # The names whose positions can be this identity's, so the lookup uses the name_key
        # index: its own name, names merged into it, and names of positions assigned to it.
        keys = {identity}
        keys.update(
            connection.execute(
                select(AuthorAlias.name_key).where(AuthorAlias.identity == identity)
            ).scalars()
        )
        keys.update(
            connection.execute(
                select(PaperAuthor.name_key)
                .join(
                    AuthorAssignment,
                    and_(
                        AuthorAssignment.paper_id == PaperAuthor.paper_id,
                        AuthorAssignment.position == PaperAuthor.position,
                    ),
                )
                .where(AuthorAssignment.identity == identity)
                .distinct()
            ).scalars()
        )
        found = connection.execute(
            _rows().where(PaperAuthor.name_key.in_(sorted(keys)), identity == IDENTITY)
        ).all()
        return [AuthorRow(*row) for row in found]

    def papers_of(self, identity: str) -> list[str]:
        """The ids of the identity's papers, newest first."""
        with self.reads.connect() as connection:
            ids = {row.paper_id for row in self._rows(connection, identity)}
            published: dict[str, datetime | None] = {}
            for chunk in chunks(sorted(ids)):
                published.update(
                    connection.execute(
                        select(Paper.id, Paper.published).where(Paper.id.in_(chunk))
                    ).all()
                )
        return sorted(published, key=lambda i: (published[i] or datetime.min, i), reverse=True)

    def at_papers(self, paper_ids: Sequence[str]) -> dict[str, list[AuthorRow]]:
        """Each paper's author positions with their identities, in order."""
        found: dict[str, list[AuthorRow]] = {pid: [] for pid in paper_ids}
        with self.reads.connect() as connection:
            for chunk in chunks(list(found)):
                rows = connection.execute(
                    _rows()
                    .where(PaperAuthor.paper_id.in_(chunk))
                    .order_by(PaperAuthor.paper_id, PaperAuthor.position)
                )
                for row in rows:
                    found[row.paper_id].append(AuthorRow(*row))
        return found

    def coauthors(self, identity: str, limit: int = 12) -> list[tuple[str, str, int]]:
        """(identity, the name it is most often written as, papers together) of the authors
        most often on this identity's papers."""
        paper_ids = self.papers_of(identity)
        together: Counter[str] = Counter()
        spellings: dict[str, Counter[str]] = {}
        for rows in self.at_papers(paper_ids).values():
            seen = set()
            for row in rows:
                if row.identity == identity or row.identity in seen:
                    continue
                seen.add(row.identity)
                together[row.identity] += 1
                spellings.setdefault(row.identity, Counter())[row.name] += 1
        ranked = sorted(together.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [(key, spellings[key].most_common(1)[0][0], n) for key, n in ranked]

    def papers_by(self, identities: Sequence[str], among: set[str]) -> dict[str, list[str]]:
        """Each identity's papers among the ids `among` (in no particular order)."""
        found: dict[str, list[str]] = {}
        with self.reads.connect() as connection:
            for identity in dict.fromkeys(identities):
                rows = self._rows(connection, identity)
                found[identity] = list(
                    dict.fromkeys(r.paper_id for r in rows if r.paper_id in among)
                )
        return found

    # -- curating -------------------------------------------------------------------------
    def split(
        self, base: str, name: str, label: str, positions: Sequence[tuple[str, int]], at: datetime
    ) -> str:
        """A new identity split off the name `base`, holding these author positions; its key."""
        with self.engine.begin() as connection:
            taken = connection.execute(
                select(func.count()).select_from(AuthorIdentity).where(AuthorIdentity.base == base)
            ).scalar_one()
            number = taken + 2  # the name itself is the first
            while connection.execute(
                select(AuthorIdentity.key).where(
                    AuthorIdentity.key == f"{base}{SPLIT_MARK}{number}"
                )
            ).first():
                number += 1
            key = f"{base}{SPLIT_MARK}{number}"
            connection.execute(
                insert_or(connection, AuthorIdentity.__table__).values(
                    key=key, base=base, name=f"{name} ({number})", label=label, created_at=at
                )
            )
            self._assign(connection, positions, key)
            generation.bump(connection, generation.COMMUNITY)
        return key

    @staticmethod
    def _assign(connection: Connection, positions: Sequence[tuple[str, int]], key: str) -> None:
        for paper_id, position in positions:
            statement = insert_or(connection, AuthorAssignment.__table__).values(
                paper_id=paper_id, position=position, identity=key
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["paper_id", "position"], set_={"identity": key}
                )
            )

    def merge(self, source: str, target: str, at: datetime) -> None:
        """Make the identity `source` part of `target`: its name (a name's own identity)
        becomes an alias, positions assigned to it move, and so do follows, claims and the
        aliases that pointed at it."""
        with self.engine.begin() as connection:
            connection.execute(
                update(AuthorAssignment)
                .where(AuthorAssignment.identity == source)
                .values(identity=target)
            )
            connection.execute(
                update(AuthorAlias).where(AuthorAlias.identity == source).values(identity=target)
            )
            if SPLIT_MARK in source:
                connection.execute(delete(AuthorIdentity).where(AuthorIdentity.key == source))
            else:
                statement = insert_or(connection, AuthorAlias.__table__).values(
                    name_key=source, identity=target, created_at=at
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["name_key"], set_={"identity": target}
                    )
                )
            # A name merged back into itself is its own again.
            connection.execute(delete(AuthorAlias).where(AuthorAlias.name_key == target))
            following = connection.execute(
                select(AuthorFollow.user_id).where(AuthorFollow.identity == target)
            ).scalars()
            connection.execute(
                delete(AuthorFollow).where(
                    AuthorFollow.identity == source, AuthorFollow.user_id.in_(list(following))
                )
            )
            connection.execute(
                update(AuthorFollow).where(AuthorFollow.identity == source).values(identity=target)
            )
            connection.execute(
                update(AuthorClaim).where(AuthorClaim.identity == source).values(identity=target)
            )
            generation.bump(connection, generation.COMMUNITY)

    # -- follows --------------------------------------------------------------------------
    def follow(self, user_id: int, identity: str, at: datetime) -> bool:
        """Whether this made a new follow (following twice changes nothing)."""
        with self.engine.begin() as connection:
            statement = insert_or(connection, AuthorFollow.__table__).values(
                user_id=user_id, identity=identity, created_at=at
            )
            added = statement.on_conflict_do_nothing().returning(AuthorFollow.user_id)
            return connection.execute(added).first() is not None

    def unfollow(self, user_id: int, identity: str) -> bool:
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(AuthorFollow).where(
                    AuthorFollow.user_id == user_id, AuthorFollow.identity == identity
                )
            )
        return gone.rowcount > 0

    def followed(self, user_id: int) -> list[str]:
        """The identities the member follows, most recent first."""
        return self.followed_many([user_id])[user_id]

    def followed_many(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {i: [] for i in user_ids}
        with self.reads.connect() as connection:
            for chunk in chunks(list(found)):
                rows = connection.execute(
                    select(AuthorFollow.user_id, AuthorFollow.identity)
                    .where(AuthorFollow.user_id.in_(chunk))
                    .order_by(AuthorFollow.created_at.desc(), AuthorFollow.identity)
                )
                for user_id, identity in rows:
                    found[user_id].append(identity)
        return found

    def followers(self, identity: str) -> int:
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(AuthorFollow)
                .where(AuthorFollow.identity == identity)
            ).scalar_one()

    # -- claims ---------------------------------------------------------------------------
    def claim(self, user_id: int, identity: str, paper_ids: Sequence[str], at: datetime) -> int:
        """How many of these papers the member newly claimed as this identity."""
        made = 0
        with self.engine.begin() as connection:
            for paper_id in dict.fromkeys(paper_ids):
                statement = insert_or(connection, AuthorClaim.__table__).values(
                    user_id=user_id, paper_id=paper_id, identity=identity, created_at=at
                )
                claimed = statement.on_conflict_do_nothing().returning(AuthorClaim.paper_id)
                made += connection.execute(claimed).first() is not None
            if made:
                generation.bump(connection, generation.COMMUNITY)
        return made

    def unclaim(self, user_id: int, paper_id: str) -> bool:
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(AuthorClaim).where(
                    AuthorClaim.user_id == user_id, AuthorClaim.paper_id == paper_id
                )
            ).rowcount
            if gone:
                generation.bump(connection, generation.COMMUNITY)
        return gone > 0

    def claims_of(self, user_id: int) -> list[Claim]:
        """The member's claims, newest paper first."""
        return self._claims(AuthorClaim.user_id == user_id)

    def claims_on(self, paper_ids: Sequence[str]) -> list[Claim]:
        found: list[Claim] = []
        for chunk in chunks(list(paper_ids)):
            found += self._claims(AuthorClaim.paper_id.in_(chunk))
        return found

    def _claims(self, where) -> list[Claim]:
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(
                    AuthorClaim.user_id,
                    User.name,
                    User.fullname,
                    AuthorClaim.paper_id,
                    AuthorClaim.identity,
                    AuthorClaim.created_at,
                )
                .join(User, User.id == AuthorClaim.user_id)
                .join(Paper, Paper.id == AuthorClaim.paper_id)
                .where(where)
                .order_by(Paper.published.desc(), AuthorClaim.paper_id, User.name)
            ).all()
        return [Claim(*row) for row in rows]

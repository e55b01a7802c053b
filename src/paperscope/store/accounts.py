"""Members and how they prove who they are: one-time sign-in links, sessions, API tokens.

Only hashes of secrets are stored (`token_hash`): a copy of the database signs nobody in.
A token is looked up by its hash, so no comparison of secrets happens in Python at all.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from paperscope.store.models import ApiToken, Session, SignInLink, User, Vote
from paperscope.store.sql import Part, chunks, insert_or

ROLES = ("member", "curator")


def new_token(prefix: str = "") -> str:
    """A fresh secret: 256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def normal_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    name: str  # public handle
    fullname: str
    role: str
    created_at: datetime

    @property
    def is_curator(self) -> bool:
        return self.role == "curator"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None


def _member(row) -> Member:
    return Member(row.id, row.email, row.name, row.fullname, row.role, row.created_at)


def _handle_base(email: str, name: str | None) -> str:
    """A handle from a display name or the address's local part: a-z, 0-9, '-'."""
    source = name or email.split("@", 1)[0]
    ascii_ = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
    handle = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:30]
    return handle or "member"


class Accounts(Part):
    # -- members ----------------------------------------------------------------------------
    def get(self, user_id: int) -> Member | None:
        with self.reads.connect() as connection:
            row = connection.execute(select(User).where(User.id == user_id)).first()
        return _member(row) if row else None

    def by_email(self, email: str) -> Member | None:
        return self.by_emails([email]).get(email)

    def by_emails(self, emails: Sequence[str]) -> dict[str, Member]:
        """The members of these addresses (those that are members), keyed as given."""
        asked = {normal_email(e): e for e in emails}
        found = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(asked)):
                for row in connection.execute(select(User).where(User.email.in_(chunk))):
                    found[asked[row.email]] = _member(row)
        return found

    def by_name(self, name: str) -> Member | None:
        with self.reads.connect() as connection:
            row = connection.execute(select(User).where(User.name == name)).first()
        return _member(row) if row else None

    def ensure(
        self, email: str, at: datetime, *, fullname: str | None = None, role: str | None = None
    ) -> tuple[Member, bool]:
        """The member with this address, made if there is none; (member, whether made).
        Given `role`, it is set either way. Races to make the same member make one."""
        email = normal_email(email)
        if role is not None and role not in ROLES:
            raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
        made = False
        existing = self.by_email(email)
        if existing is None:
            base = _handle_base(email, fullname)
            for attempt in range(50):
                handle = base if attempt == 0 else f"{base}-{attempt + 1}"
                if attempt > 10:
                    handle = f"{base}-{secrets.token_hex(3)}"
                with self.engine.begin() as connection:
                    taken = connection.execute(select(User.id).where(User.name == handle)).first()
                    if taken:
                        continue
                    statement = insert_or(connection, User.__table__).values(
                        email=email,
                        name=handle,
                        fullname=(fullname or handle)[:100],
                        role=role or "member",
                        created_at=at,
                    )
                    try:
                        inserted = connection.execute(
                            statement.on_conflict_do_nothing(index_elements=["email"]).returning(
                                User.id
                            )
                        ).first()
                    except IntegrityError:  # the handle went to another in the meantime
                        continue
                    made = inserted is not None
                    break
            existing = self.by_email(email)
            assert existing is not None
        if role is not None and existing.role != role:
            with self.engine.begin() as connection:
                connection.execute(update(User).where(User.id == existing.id).values(role=role))
            existing = self.get(existing.id)
            assert existing is not None
        return existing, made

    def rename(self, user_id: int, fullname: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(User).where(User.id == user_id).values(fullname=fullname))

    def delete(self, user_id: int) -> None:
        """The member and everything that is theirs alone (sessions, tokens, comments,
        collections, votes). Papers they submitted stay on their day's page, unattributed."""
        with self.engine.begin() as connection:
            connection.execute(delete(Vote).where(Vote.voter == str(user_id)))
            connection.execute(delete(User).where(User.id == user_id))

    # -- sign-in links ----------------------------------------------------------------------
    def add_link(self, email: str, at: datetime, ttl: timedelta) -> str:
        """A new one-time link token for the address (returned once, stored as a hash)."""
        # Old links are kept a day (so a reused one is told apart from a forged one).
        return self._add_token(
            SignInLink, at, ttl, at - timedelta(1), email=normal_email(email), used_at=None
        )

    def link_state(self, token: str, at: datetime) -> str:
        """ "valid", "used", "expired" or "unknown" (without using it)."""
        with self.reads.connect() as connection:
            row = connection.execute(
                select(SignInLink).where(SignInLink.token_hash == token_hash(token))
            ).first()
        return _link_state(row, at)

    def use_link(self, token: str, at: datetime) -> tuple[str, str | None]:
        """Use a link: ("valid", its address) the one time it works, else (state, None).
        Two requests racing with one link: one wins (the UPDATE claims the row)."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(SignInLink)
                .where(
                    SignInLink.token_hash == token_hash(token),
                    SignInLink.used_at.is_(None),
                    SignInLink.expires_at > at,
                )
                .values(used_at=at)
                .returning(SignInLink.email)
            ).first()
            if claimed is not None:
                return "valid", claimed.email
            row = connection.execute(
                select(SignInLink).where(SignInLink.token_hash == token_hash(token))
            ).first()
        return _link_state(row, at), None

    # -- sessions ---------------------------------------------------------------------------
    def add_session(self, user_id: int, at: datetime, ttl: timedelta) -> str:
        return self._add_token(Session, at, ttl, at, user_id=user_id)

    def _add_token(
        self,
        kind: type[SignInLink] | type[Session],
        at: datetime,
        ttl: timedelta,
        expired_before: datetime,
        **row: object,
    ) -> str:
        """A new token row of `kind` (links, sessions) valid for `ttl`, returned once and
        stored as a hash; rows that expired before `expired_before` go."""
        token = new_token()
        with self.engine.begin() as connection:
            connection.execute(
                insert_or(connection, kind.__table__).values(
                    token_hash=token_hash(token), created_at=at, expires_at=at + ttl, **row
                )
            )
            connection.execute(delete(kind).where(kind.expires_at < expired_before))
        return token

    def session_member(self, token: str, at: datetime) -> tuple[Member, str] | None:
        """The member a session cookie belongs to, and the session's hash; None if it is
        unknown or expired."""
        hashed = token_hash(token)
        with self.reads.connect() as connection:
            row = connection.execute(
                select(User)
                .join(Session, Session.user_id == User.id)
                .where(Session.token_hash == hashed, Session.expires_at > at)
            ).first()
        return (_member(row), hashed) if row else None

    def end_session(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(Session).where(Session.token_hash == token_hash(token)))

    def end_all_sessions(self, user_id: int) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(Session).where(Session.user_id == user_id)).rowcount

    def session_count(self, user_id: int, at: datetime) -> int:
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(Session)
                .where(Session.user_id == user_id, Session.expires_at > at)
            ).scalar_one()

    # -- API tokens -------------------------------------------------------------------------
    def add_token(self, user_id: int, name: str, at: datetime) -> str:
        token = new_token("ps_")
        with self.engine.begin() as connection:
            connection.execute(
                insert_or(connection, ApiToken.__table__).values(
                    user_id=user_id,
                    name=name[:100],
                    token_hash=token_hash(token),
                    hint=token[:7],
                    created_at=at,
                    last_used_at=None,
                )
            )
        return token

    def token_member(self, token: str, at: datetime) -> Member | None:
        hashed = token_hash(token)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(User)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == hashed)
            ).first()
            if row is None:
                return None
            connection.execute(
                update(ApiToken).where(ApiToken.token_hash == hashed).values(last_used_at=at)
            )
        return _member(row)

    def tokens(self, user_id: int) -> list[TokenInfo]:
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
            ).all()
        return [TokenInfo(r.id, r.name, r.hint, r.created_at, r.last_used_at) for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(ApiToken).where(ApiToken.user_id == user_id, ApiToken.id == token_id)
            )
        return gone.rowcount > 0


def _link_state(row, at: datetime) -> str:
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    return "valid" if row.expires_at > at else "expired"

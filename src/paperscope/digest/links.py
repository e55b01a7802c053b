"""The links in digest mail and on its pages: tokens signed (itsdangerous) with a secret kept
in the database, so any server reads them and none has to be stored. `confirm` expires in a
week; `manage` (preferences) and `unsubscribe` do not. Each message's Message-ID is derived
from the same secret, so it is the same wherever and however often the message is made.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from paperscope import mail
from paperscope.digest.periods import DigestPeriod
from paperscope.errors import InvalidInput
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.digests import StoredSubscriber

CONFIRM_MAX_AGE_S = 7 * 86400


class BadLink(InvalidInput, ValueError, status=400):
    """A digest link that is forged, expired or for someone no longer subscribed."""


class DigestLinks:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._secret: str | None = None

    @property
    def secret(self) -> str:
        if self._secret is None:
            self._secret = self.store.limits.secret("digest-links")
        return self._secret

    def token(self, purpose: str, subscriber_id: int) -> str:
        if purpose == "confirm":
            return URLSafeTimedSerializer(self.secret, salt="digest-confirm").dumps(subscriber_id)
        return URLSafeSerializer(self.secret, salt=f"digest-{purpose}").dumps(subscriber_id)

    def subscriber_of(self, purpose: str, token: str) -> StoredSubscriber:
        try:
            if purpose == "confirm":
                serializer = URLSafeTimedSerializer(self.secret, salt="digest-confirm")
                subscriber_id = serializer.loads(token, max_age=CONFIRM_MAX_AGE_S)
            else:
                subscriber_id = URLSafeSerializer(self.secret, salt=f"digest-{purpose}").loads(
                    token
                )
        except SignatureExpired:
            raise BadLink("this confirmation link has expired: subscribe again") from None
        except BadSignature:
            raise BadLink("this is not a link of this site") from None
        found = self.store.digests.get(subscriber_id) if isinstance(subscriber_id, int) else None
        if found is None:
            raise BadLink("this subscription does not exist any more")
        return found

    def url(self, path: str) -> str:
        return f"{self.link_base}{path}"

    @property
    def link_base(self) -> str:
        base = self.settings.link_base
        if base is None:
            raise mail.MailNotConfigured("digests need PAPERSCOPE_PUBLIC_URL for their links")
        return base

    def in_digest(self, subscriber_id: int) -> dict[str, str]:
        """The preferences and unsubscribe links every digest to this subscriber carries."""
        manage = self.token("manage", subscriber_id)
        stop = self.token("unsubscribe", subscriber_id)
        return {
            "preferences_url": self.url(f"/digest/preferences?token={manage}"),
            "unsubscribe_url": self.url(f"/digest/unsubscribe/{stop}"),
            "unsubscribe_mailto": (
                f"mailto:unsubscribe@{mail.domain_of(self.settings)}"
                f"?subject={quote('unsubscribe ' + stop)}"
            ),
        }

    def message_id(self, period: DigestPeriod, subscriber_id: int) -> str:
        """The same for one person and period wherever and however often it is made."""
        tag = hashlib.sha256(f"{self.secret}|{period.key}|{subscriber_id}".encode()).hexdigest()
        return f"<{period.slug}.{subscriber_id}.{tag[:12]}@{mail.domain_of(self.settings)}>"

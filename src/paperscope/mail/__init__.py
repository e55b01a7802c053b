"""Email out: one SMTP server (the PAPERSCOPE_SMTP_* settings), for sign-in links and
digests alike, DKIM-signed when a key is configured. Entry points: ``send(settings,
message)`` for one message, ``connect(settings)`` for many over one connection."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import dkim

from paperscope.settings import Settings

# What a DKIM signature covers (those present): who, what, and how to leave the list.
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)


class MailNotConfigured(RuntimeError):
    """No SMTP server is configured (PAPERSCOPE_SMTP_HOST)."""


def domain_of(settings: Settings) -> str:
    return settings.mail_from.rpartition("@")[2].strip("> ") or "localhost"


def compose(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id or make_msgid(domain=domain_of(settings))
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def signed(settings: Settings, message: EmailMessage) -> bytes:
    """The message as sent: its bytes, with a DKIM-Signature header first when
    PAPERSCOPE_DKIM_* name a key."""
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    if not (settings.dkim_private_key and settings.dkim_selector):
        return raw
    key = Path(settings.dkim_private_key).read_bytes()
    present = [name for name in SIGNED_HEADERS if name in message]
    signature = dkim.sign(
        raw,
        settings.dkim_selector.encode(),
        (settings.dkim_domain or domain_of(settings)).encode(),
        key,
        include_headers=[name.encode() for name in present],
    )
    return signature + raw


_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


class Handover(Protocol):
    def prepare(self) -> None: ...
    def commit(self) -> None: ...


class Connection:
    """One SMTP session that sends message after message."""

    def __init__(self, settings: Settings, smtp: smtplib.SMTP) -> None:
        self.settings = settings
        self.smtp = smtp

    def send(self, message: EmailMessage, handover: Handover | None = None) -> None:
        """Returns once the server accepted the message for every recipient; raises
        (smtplib.SMTPException, OSError) otherwise.

        With `handover`, its `prepare()` runs once the server has all of the message but the
        final "." and `commit()` the moment that "." is written, before the server answers:
        a record of the message as sent then commits while the server is still at work, so
        a sender killed at any point leaves the record and the mailbox disagreeing only if
        it dies within that commit (the caller undoes the record if the server refuses)."""
        sender = message["From"].addresses[0].addr_spec
        recipients = [address.addr_spec for address in message["To"].addresses]
        raw = signed(self.settings, message)
        if handover is None:
            refused = self.smtp.sendmail(sender, recipients, raw)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
            return
        smtp = self.smtp
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if refused:
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = smtp.docmd("data")
        if code != 354:
            smtp.rset()
            raise smtplib.SMTPDataError(code, reply)
        body = _DOT_AT_LINE_START.sub(b"..", raw)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body)
        handover.prepare()
        smtp.send(b".\r\n")
        handover.commit()
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)


@contextmanager
def connect(settings: Settings) -> Iterator[Connection]:
    if not settings.smtp_host:
        raise MailNotConfigured("no SMTP server is configured (PAPERSCOPE_SMTP_HOST)")
    timeout = settings.smtp_timeout_s
    if settings.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    # Commands and the message's last line go out at once, not after the previous segment's
    # acknowledgement (Nagle's algorithm with delayed ACKs stalled each message ~40 ms).
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        yield Connection(settings, smtp)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def send(settings: Settings, message: EmailMessage) -> None:
    """Send one message on a connection of its own."""
    with connect(settings) as connection:
        connection.send(message)


def is_permanent(error: BaseException) -> bool:
    """A refusal that will not change on a retry (5xx); anything else (4xx, a refused
    connection, a timeout) is worth another try later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False

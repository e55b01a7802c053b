"""Email out: one SMTP server (the PAPERSCOPE_SMTP_* settings), for sign-in links and
digests alike, DKIM-signed when a key is configured. Entry points: ``send(settings,
message)`` for one message, ``connect(settings)`` for many over one connection,
``Reconnecting`` for many that outlive a broken connection."""

from __future__ import annotations

import re
import secrets
import smtplib
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import dkim

from paperscope.errors import Unavailable
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


class MailNotConfigured(Unavailable, RuntimeError):
    """No SMTP server is configured (PAPERSCOPE_SMTP_HOST)."""


def print_on_console(line: str) -> None:
    """A link for the person at a loopback server's console, on a line of its own: written
    at once with its newline (print() writes them apart, and the access log, written from
    another thread to the same terminal, landed between them, gluing its JSON to the link)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


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
) -> Message:
    """A message in the email package's classic (compat32) model: text/plain, or
    multipart/alternative with an HTML part, UTF-8 bodies in base64, non-ASCII header text
    as RFC 2047 encoded words. (The newer Message API parses and refolds every header
    it is given, which made it four times slower: a digest run builds thousands.)"""
    body = MIMEText(text, "plain", "utf-8")
    if html is None:
        message: Message = body
    else:
        html_part = _html_part(html)
        message = MIMEMultipart("alternative", boundary=_boundary(text, html_part))
        message.attach(body)
        message.attach(html_part)
    message["From"] = _from_header(settings.mail_from)
    message["To"] = _header_text(to)
    message["Subject"] = _header_text(subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id or make_msgid(domain=domain_of(settings))
    for header, value in (headers or {}).items():
        message[header] = _header_text(value)
    return message


@lru_cache(maxsize=8)
def _from_header(mail_from: str) -> str:
    return formataddr(parseaddr(mail_from), charset="utf-8")


@lru_cache(maxsize=8)
def _address_of(header: str) -> str:
    return parseaddr(header)[1]


def _boundary(text: str, html_part: MIMEText) -> str:
    """A random boundary in none of the parts ("=_" never occurs in base64). Given, it
    spares the email package a regular expression compiled for every message."""
    while True:
        boundary = f"=_paperscope_{secrets.token_hex(12)}"
        if boundary not in text and boundary not in html_part.get_payload():
            return boundary


_AS_IS = Charset("utf-8")
# An ASCII body goes as it is: "7bit" (typeshed has body_encoding an int; None is what
# email.charset itself gives a charset that needs no encoding).
_AS_IS.body_encoding = None  # type: ignore[assignment]
LONGEST_LINE = 998  # octets, RFC 5322


def _html_part(html: str) -> MIMEText:
    """The HTML in ASCII, other characters as character references (which HTML reads as
    the characters), sent as it is: a third smaller than base64, and readable. In base64
    when a line is too long for mail."""
    ascii_html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
    if max(map(len, ascii_html.splitlines()), default=0) <= LONGEST_LINE:
        # MIMEText takes a Charset (it hands it to set_payload); typeshed says str only.
        return MIMEText(ascii_html, "html", _AS_IS)  # type: ignore[arg-type]
    return MIMEText(html, "html", "utf-8")


def _header_text(value: str) -> str:
    if "\r" in value or "\n" in value:  # a line break would start a header of its own
        raise ValueError("a mail header value must be one line")
    return value if value.isascii() else Header(value, "utf-8").encode()


class _Wire(Compat32):
    """compat32 on the wire (CRLF), writing header values as `compose` made them: ASCII,
    non-ASCII text already in encoded words. Compat32 would refold each one through a
    Header object: a third of the time it took to turn a digest into bytes."""

    def fold_binary(self, name: str, value) -> bytes:
        if not isinstance(value, str) or not value.isascii():
            return super().fold_binary(name, value)
        return f"{name}: {self.linesep.join(value.splitlines())}{self.linesep}".encode("ascii")


_WIRE = _Wire(linesep="\r\n")


def signed(settings: Settings, message: Message) -> bytes:
    """The message as sent: its bytes, with a DKIM-Signature header first when
    PAPERSCOPE_DKIM_* name a key."""
    raw = message.as_bytes(policy=_WIRE)
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

    def send(self, message: Message, handover: Handover | None = None) -> None:
        """Returns once the server accepted the message for every recipient; raises
        (smtplib.SMTPException, OSError) otherwise.

        With `handover`, its `prepare()` runs once the server has all of the message but the
        final "." and `commit()` the moment that "." is written, before the server answers:
        a record of the message as sent then commits while the server is still at work, so
        a sender killed at any point leaves the record and the mailbox disagreeing only if
        it dies within that commit (the caller undoes the record if the server refuses)."""
        sender = _address_of(message["From"])
        recipients = [address for _, address in getaddresses(message.get_all("To", []))]
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
    assert smtp.sock is not None  # the constructor connected
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


class Reconnecting:
    """An SMTP connection opened on first use and opened again after it broke, for a sender
    that goes on after a failed message. `connect` makes a context manager as `connect(settings)`
    does."""

    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._connect = connect
        self._context: AbstractContextManager[Connection] | None = None
        self._connection: Connection | None = None

    def __enter__(self) -> Reconnecting:
        return self

    def send(self, message: Message, handover: Handover | None = None) -> None:
        if self._connection is None:
            self._context = self._connect()
            self._connection = self._context.__enter__()
        try:
            self._connection.send(message, handover)
        except (smtplib.SMTPServerDisconnected, OSError):
            self._close()
            raise
        except smtplib.SMTPException:
            # The session may be mid-transaction: start the next message on a clean one.
            try:
                self._connection.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._close()
            raise
        except BaseException:
            self._close()  # the handover failed mid-DATA: closing the connection drops the message
            raise

    def _close(self) -> None:
        context, self._context, self._connection = self._context, None, None
        if context is not None:
            with suppress(smtplib.SMTPException, OSError):
                context.__exit__(None, None, None)

    def __exit__(self, *_exc: object) -> None:
        self._close()


def send(settings: Settings, message: Message) -> None:
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

"""Email out: one SMTP server (the PAPERSCOPE_SMTP_* settings), for sign-in links and
digests alike. Entry point: ``send(settings, message)``."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from paperscope.settings import Settings


class MailNotConfigured(RuntimeError):
    """No SMTP server is configured (PAPERSCOPE_SMTP_HOST)."""


def compose(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2].strip("> "))
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server; returns once it accepted it for every
    recipient, raises (smtplib.SMTPException, OSError) otherwise."""
    if not settings.smtp_host:
        raise MailNotConfigured("no SMTP server is configured (PAPERSCOPE_SMTP_HOST)")
    timeout = settings.smtp_timeout_s
    if settings.smtp_security == "tls":
        context = ssl.create_default_context()
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        refused = smtp.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

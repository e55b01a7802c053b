"""Real SMTP servers on 127.0.0.1 (aiosmtpd) for the tests that send mail: one that accepts
and keeps every message (slowly, if asked), one that fails for a while (451), and one that
refuses recipients (as a full mailbox does)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: keeps what it accepted; with `refuse`, answers every RCPT with
    550 instead."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.fail_next = 0  # answer this many DATA commands with 451 (try again later)
        self.delay_s = 0.0  # wait this long before answering DATA (a slow server)
        self.after_data = None  # called with each message kept, before the answer
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message's bytes as they arrived, beside it
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_next > 0:
            self.fail_next -= 1
            return "451 4.3.0 try again later"
        # Kept the moment the whole message is in (as a real MTA queues it at the final
        # "."), then, if asked, a slow answer, during which `after_data` may act.
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self.raw.append(envelope.original_content)
            self._arrived.notify_all()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.after_data is not None:
            self.after_data(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """The `count`-th message to the address, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no message {count} to {address} within {timeout}s")
                self._arrived.wait(left)
            return self.to(address)[count - 1]


class SmtpServer:
    def __init__(self, refuse: bool = False) -> None:
        self.inbox = Inbox(refuse)
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def settings(self) -> dict:
        """The PAPERSCOPE_SMTP_* settings that point at this server."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none"}


def link_in(message: EmailMessage) -> str:
    """The first http(s) link in a message's text."""
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+", text)
    assert match, text
    return match.group(0)

"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) that keeps what it receives and can
refuse recipients, stall, ask for STARTTLS and AUTH, or act when a message arrives."""

from __future__ import annotations

import asyncio
import email
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.ports import free_port


@dataclass
class Mailbox:
    """The aiosmtpd handler: stores accepted messages; replies can be scripted per address."""

    messages: list[EmailMessage] = field(default_factory=list)
    # address -> SMTP reply for RCPT TO (e.g. "550 5.1.1 no such mailbox")
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    # address -> SMTP reply for the end of DATA
    data_replies: dict[str, str] = field(default_factory=dict)
    rcpt_delay_s: float = 0.0
    # Called with each accepted message before the server answers 250.
    on_message: Callable[[EmailMessage], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_delay_s:
            await asyncio.sleep(self.rcpt_delay_s)
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if address in self.data_replies:
                return self.data_replies[address]
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)
        return "250 2.0.0 queued"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port; `stop` and `start` again on the same port (a server that
    goes down and comes back)."""

    def __init__(
        self,
        mailbox: Mailbox | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.mailbox = mailbox or Mailbox()
        self.port = free_port()
        self._tls = tls_context
        self._implicit = implicit_tls
        self._credentials = credentials
        self.controller: Controller | None = None
        self.logins: list[str] = []

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self._credentials == (
            data.login.decode(),
            data.password.decode(),
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self._tls is not None and not self._implicit:
            options |= {"tls_context": self._tls, "require_starttls": True}
        if self._tls is not None and self._implicit:
            options["ssl_context"] = self._tls
        if self._credentials is not None:
            options |= {"authenticator": self._authenticate, "auth_required": True}
        else:
            options["auth_require_tls"] = False
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, server_hostname="localhost",
            **options,
        )  # fmt: skip
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

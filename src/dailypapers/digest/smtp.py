"""SMTP delivery: one connection reused for a batch, STARTTLS or TLS, AUTH, and every failure
sorted into temporary (retry later) or permanent (give up, tell the admin)."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from types import TracebackType

from dailypapers.config import Settings
from dailypapers.store.outbox import OutboxMessage


class DeliveryError(Exception):
    """A message was not accepted. `permanent` failures are not retried; `unreachable` means
    no connection could be opened (the rest of a batch would fail the same way)."""

    def __init__(self, reason: str, *, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.unreachable = unreachable


def message_id(key: str, mail_from: str) -> str:
    """The same Message-ID on every attempt, so a copy sent twice is recognisably one message."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(message: OutboxMessage, *, mail_from: str, now: datetime) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML preferred by mail readers."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = formataddr(("", message.recipient))
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id(message.message_key, mail_from)
    email["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    return email


def _tls_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def _reply_error(code: int, text: bytes | str, what: str) -> DeliveryError:
    reply = text.decode(errors="replace") if isinstance(text, bytes) else text
    return DeliveryError(f"{what}: {code} {reply}".strip(), permanent=500 <= code < 600)


class SmtpConnection:
    """A lazily opened connection to the configured SMTP server, for one batch of messages."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.smtp_host}:{s.smtp_port}"
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=_tls_context(s)
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"cannot connect to {where}: {error}", permanent=False, unreachable=True
            ) from None
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=_tls_context(s))
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except smtplib.SMTPAuthenticationError as error:
            smtp.close()
            refused = _reply_error(error.smtp_code, error.smtp_error, "SMTP login refused")
            raise DeliveryError(refused.reason, permanent=False, unreachable=True) from None
        except (smtplib.SMTPException, OSError) as error:
            smtp.close()
            raise DeliveryError(
                f"cannot connect to {where}: {error}", permanent=False, unreachable=True
            ) from None
        return smtp

    def send(self, email: EmailMessage, recipient: str) -> None:
        """Hand one message to the server; DeliveryError if it was not accepted."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            refused = self._smtp.send_message(email, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise _reply_error(code, text, f"recipient {recipient} refused") from None
        except smtplib.SMTPSenderRefused as error:
            raise _reply_error(error.smtp_code, error.smtp_error, "sender refused") from None
        except smtplib.SMTPDataError as error:
            raise _reply_error(error.smtp_code, error.smtp_error, "message refused") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as error:
            self.close()
            raise DeliveryError(f"connection lost: {error}", permanent=False) from None
        if refused:  # only possible with several recipients; we send to one
            code, text = next(iter(refused.values()))
            raise _reply_error(code, text, f"recipient {recipient} refused")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

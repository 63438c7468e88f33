"""Signed link tokens: unsubscribe, confirm and manage links that work without logging in and
cannot be forged for another subscription or address."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.store.secrets import get_or_create_secret

Purpose = Literal["confirm", "unsubscribe", "manage"]


class LinkSigner:
    """Signs (purpose, subscription, address) with the site's key."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    @classmethod
    def for_site(cls, engine: sa.Engine, settings: Settings) -> LinkSigner:
        key = settings.secret_key or get_or_create_secret(
            engine, name="links", now=datetime.now(UTC)
        )
        return cls(key)

    def token(self, purpose: Purpose, subscription_id: int, email: str) -> str:
        message = f"{purpose}\n{subscription_id}\n{email.lower()}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, purpose: Purpose, subscription_id: int, email: str, token: str) -> bool:
        """True only for the token this key made for exactly these values."""
        expected = self.token(purpose, subscription_id, email)
        return hmac.compare_digest(expected.encode(), token.encode())

    def link(self, base_url: str, purpose: Purpose, subscription_id: int, email: str) -> str:
        paths = {
            "confirm": "/subscribe/confirm",
            "unsubscribe": "/unsubscribe",
            "manage": "/subscription",
        }
        query = urlencode({"s": subscription_id, "t": self.token(purpose, subscription_id, email)})
        return f"{base_url.rstrip('/')}{paths[purpose]}?{query}"

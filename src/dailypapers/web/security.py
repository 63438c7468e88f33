"""Passwords, session and API tokens, CSRF tokens: the secrets the site hands out and checks."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_COOKIE = "dp_session"
CSRF_COOKIE = "dp_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
API_TOKEN_PREFIX = "dp_"

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,38}[A-Za-z0-9]$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256

# argon2id with the library's defaults (RFC 9106 "low memory" profile).
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of a real check, so unknown names cannot be told apart by timing."""
    verify_password(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("not a real password")


def new_token(prefix: str = "") -> str:
    """A fresh random token (256 bits), URL- and cookie-safe."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores for a token: its SHA-256, so a leaked table opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens; False if either is missing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def username_problem(username: str) -> str | None:
    """Why `username` cannot be an account name, or None."""
    if not USERNAME_PATTERN.match(username):
        return (
            "use 3-40 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
        )
    return None


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"use at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"use at most {MAX_PASSWORD_CHARS} characters"
    return None

"""Account mail: a password-reset link and an address-change confirmation, rendered from
autoescaped templates and queued in the outbox, so they are sent (and retried) as digests are."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dailypapers.digest.render import TEMPLATES, Site
from dailypapers.store.outbox import OutboxMessage, queue_message

# How long a mailed link works (docs/web.md); each works once.
RESET_LIFETIME = timedelta(hours=1)
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)

_env = {
    escape: Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)) if escape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for escape in (True, False)
}


def _hours(lifetime: timedelta) -> str:
    hours = int(lifetime.total_seconds() // 3600)
    return "1 hour" if hours == 1 else f"{hours} hours"


def _message(
    site: Site,
    *,
    key: str,
    user_id: int,
    recipient: str,
    subject: str,
    template: str,
    context: dict[str, str],
) -> OutboxMessage:
    context = {"site_name": site.name, "base_url": site.base_url.rstrip("/"), **context}
    return OutboxMessage(
        message_key=key,
        kind="account",
        subscription_id=None,
        user_id=user_id,
        recipient=recipient,
        subject=subject,
        body_text=_env[False].get_template(f"{template}.txt").render(context),
        body_html=_env[True].get_template(f"{template}.html").render(context),
        headers={},
    )


def _link(site: Site, path: str, token: str) -> str:
    return f"{site.base_url.rstrip('/')}{path}?{urlencode({'t': token})}"


def queue_password_reset(
    engine: sa.Engine,
    site: Site,
    *,
    user_id: int,
    username: str,
    email: str,
    token: str,
    now: datetime,
) -> bool:
    """Queue the mail that carries a password-reset link (`token` in clear, once)."""
    message = _message(
        site,
        key=f"reset:{user_id}:{now.strftime('%Y%m%dT%H%M%S%f')}",
        user_id=user_id,
        recipient=email,
        subject=f"Reset your {site.name} password",
        template="password_reset",
        context={
            "username": username,
            "reset_url": _link(site, "/password/reset", token),
            "lifetime": _hours(RESET_LIFETIME),
        },
    )
    return queue_message(engine, message=message, now=now)


def queue_email_change(
    engine: sa.Engine,
    site: Site,
    *,
    user_id: int,
    username: str,
    new_email: str,
    token: str,
    now: datetime,
) -> bool:
    """Queue the mail to a new address that confirms it for the account."""
    message = _message(
        site,
        key=f"email:{user_id}:{now.strftime('%Y%m%dT%H%M%S%f')}",
        user_id=user_id,
        recipient=new_email,
        subject=f"Confirm your new {site.name} address",
        template="email_change",
        context={
            "username": username,
            "confirm_url": _link(site, "/settings/email/confirm", token),
            "lifetime": _hours(EMAIL_CHANGE_LIFETIME),
        },
    )
    return queue_message(engine, message=message, now=now)


def queue_email_changed_notice(
    engine: sa.Engine,
    site: Site,
    *,
    user_id: int,
    username: str,
    old_email: str,
    new_email: str,
    now: datetime,
) -> bool:
    """Tell the old address that the account now uses another (no link to follow)."""
    message = _message(
        site,
        key=f"email-changed:{user_id}:{now.strftime('%Y%m%dT%H%M%S%f')}",
        user_id=user_id,
        recipient=old_email,
        subject=f"Your {site.name} address was changed",
        template="email_changed",
        context={
            "username": username,
            "new_email": new_email,
        },
    )
    return queue_message(engine, message=message, now=now)

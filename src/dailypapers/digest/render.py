"""Render messages from autoescaped templates: a digest, a confirmation request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dailypapers.digest.periods import DigestPeriod, message_key
from dailypapers.digest.select import DigestNotices, DigestSection
from dailypapers.digest.tokens import LinkSigner
from dailypapers.latex import latex_to_text
from dailypapers.store.outbox import OutboxMessage
from dailypapers.store.subscriptions import Subscription

TEMPLATES = Path(__file__).parent / "templates"
ABSTRACT_CHARS = 300


def _authors(names: list[str], limit: int = 4) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _shorten(text: str, limit: int = ABSTRACT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["authors"] = _authors
    env.filters["shorten"] = _shorten
    env.filters["latex_text"] = latex_to_text  # no KaTeX in mail: markup as text, math as typed
    return env


# HTML parts are autoescaped; plain-text parts are not HTML, so nothing there is escaped.
_html = _environment(autoescape=True)
_text = _environment(autoescape=False)


@dataclass(slots=True, frozen=True)
class Site:
    """What every message needs to know about the site."""

    name: str
    base_url: str
    signer: LinkSigner


def _links(site: Site, subscription: Subscription) -> dict[str, str]:
    sid, email = subscription.subscription_id, subscription.email
    return {
        "unsubscribe_url": site.signer.link(site.base_url, "unsubscribe", sid, email),
        "manage_url": site.signer.link(site.base_url, "manage", sid, email),
    }


def _list_headers(unsubscribe_url: str) -> dict[str, str]:
    # RFC 8058 one-click: the mailbox provider POSTs "List-Unsubscribe=One-Click" to the URL.
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _summary(papers: int, notices: DigestNotices | None) -> str:
    """ "3 papers", "1 paper and 2 notifications"."""
    text = f"{papers} paper{'' if papers == 1 else 's'}"
    if notices is not None and notices.count:
        text += f" and {notices.count} notification{'' if notices.count == 1 else 's'}"
    return text


def render_digest(
    site: Site,
    subscription: Subscription,
    period: DigestPeriod,
    sections: list[DigestSection],
    notices: DigestNotices | None = None,
) -> OutboxMessage:
    """The digest message for one subscriber and period (also when it has no papers), with
    the reader's notifications first when there are any."""
    count = sum(len(section.items) for section in sections)
    links = _links(site, subscription)
    summary = _summary(count, notices)
    context: dict[str, Any] = {
        "site_name": site.name,
        "base_url": site.base_url.rstrip("/"),
        "period": period,
        "sections": sections,
        "count": count,
        "summary": summary,
        "notices": notices if notices is not None and notices.count else None,
        **links,
    }
    return OutboxMessage(
        message_key=message_key(subscription.subscription_id, period),
        kind="digest",
        subscription_id=subscription.subscription_id,
        recipient=subscription.email,
        subject=f"{site.name}: {summary} for {period.title}",
        body_text=_text.get_template("digest.txt").render(context),
        body_html=_html.get_template("digest.html").render(context),
        headers=_list_headers(links["unsubscribe_url"]),
        period=period.label,
        paper_ids=tuple(item.paper.paper_id for s in sections for item in s.items),
        notification_ids=notices.notification_ids if notices is not None else (),
    )


def render_confirmation(site: Site, subscription: Subscription, serial: str) -> OutboxMessage:
    """The double opt-in request: nothing else is sent before its link is followed."""
    sid, email = subscription.subscription_id, subscription.email
    context = {
        "site_name": site.name,
        "base_url": site.base_url.rstrip("/"),
        "confirm_url": site.signer.link(site.base_url, "confirm", sid, email),
        "frequency": subscription.preferences.frequency,
    }
    return OutboxMessage(
        message_key=f"confirm:{sid}:{serial}",
        kind="confirm",
        subscription_id=sid,
        recipient=email,
        subject=f"Confirm your {site.name} subscription",
        body_text=_text.get_template("confirm.txt").render(context),
        body_html=_html.get_template("confirm.html").render(context),
        headers={},
    )

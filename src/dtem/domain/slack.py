"""Slack-compatible messages for the `slack` webhook format: `{"text", "blocks"}`.

Slack's incoming webhooks (and Mattermost's, Rocket.Chat's, Discord's `/slack` ones)
accept this body. `text` is the plain line shown in notifications; `blocks` carry the same
words in mrkdwn with a context line (the event type and id, to find it in the delivery log).

>>> from datetime import UTC, datetime
>>> from dtem.domain.webhooks import WebhookEvent
>>> e = WebhookEvent("evt_1", "lease.granted", datetime(2027, 1, 4, tzinfo=UTC),
...                  {"account": "A1", "rep": "R1", "expires_at": "2027-01-18T09:00:00+00:00",
...                   "score_at_grant": 81.5, "reason": "routed"})
>>> slack_message(e)["text"]
'Lease granted to R1: A1 is yours until 2027-01-18 (score 81.5).'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dtem.domain.webhooks import WebhookEvent

_Data = dict[str, Any]


def _granted(d: _Data) -> str:
    return (
        f"Lease granted to {d.get('rep')}: {d.get('account')} is yours until "
        f"{_day(d.get('expires_at'))} (score {_num(d.get('score_at_grant'))})."
    )


def _revoked(d: _Data) -> str:
    return (
        f"Lease revoked: {d.get('account')} left {d.get('rep')}'s queue, the sprint ended "
        "without an advance (a cool-off follows)."
    )


def _expired(d: _Data) -> str:
    return (
        f"Lease expired: {d.get('account')} left {d.get('rep')}'s queue and went back to "
        "the pool (its score fell below the threshold)."
    )


def _reassigned(d: _Data) -> str:
    return (
        f"Lease reassigned: {d.get('account')} moved away from {d.get('rep')} ({d.get('reason')})."
    )


def _sprint_ending(d: _Data) -> str:
    return (
        f"Sprint ending: {d.get('rep')}'s lease on {d.get('account')} ends "
        f"{_day(d.get('expires_at'))}, {d.get('days_left')} day(s) left to advance it."
    )


def _hand_raise(d: _Data) -> str:
    return (
        f"Hand-raise on {d.get('account')} ({d.get('rep')}'s lease): "
        f"{d.get('signal') or 'a hand-raise'} at {d.get('at')}."
    )


_LINES: dict[str, Callable[[_Data], str]] = {
    "lease.granted": _granted,
    "lease.revoked": _revoked,
    "lease.expired": _expired,
    "lease.reassigned": _reassigned,
    "lease.sprint_ending": _sprint_ending,
    "account.hand_raise": _hand_raise,
}


def slack_line(event: WebhookEvent) -> str:
    """The event in one plain sentence (any type: unknown ones list their fields)."""
    line = _LINES.get(event.type)
    if line is not None:
        return line(event.data)
    fields = ", ".join(f"{k}={v}" for k, v in sorted(event.data.items()))
    return f"{event.type}: {fields}"


def slack_message(event: WebhookEvent) -> dict[str, Any]:
    """The body of an incoming webhook: the sentence as `text`, then as blocks."""
    text = slack_line(event)
    context = f"`{event.type}` · {event.id}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _escape(text)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(context)}]},
        ],
    }


def _escape(text: str) -> str:
    """Slack's mrkdwn reads `<...>` as links and `&` as entities: escape the three."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _day(iso: object) -> str:
    return str(iso)[:10] if iso else "(no end)"


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)

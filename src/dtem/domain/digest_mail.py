"""The daily digest e-mail of a rep (the `email` delivery format): subject and plain text.

The digest event's `data` holds what the rep needs: their leases with days left, what they
gained and lost over the day, and hand-raises on their accounts. `From` is added by the
mailer (it is a setting, `DTEM_SMTP_FROM`).

>>> data = {"email": "rita@acme.com", "name": "Rita", "date": "2027-01-05",
...         "leases": [{"account": "A1", "name": "Acme", "expires_at": "2027-01-18",
...                     "days_left": 13}], "gained": [], "lost": [], "hand_raises": []}
>>> digest_subject(data)
'DTEM 2027-01-05: 1 lease, 0 gained, 0 lost, 0 hand-raises'
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

DIGEST_EVENT = "rep.digest"  # one per rep and day, sent only by `email` subscriptions
EMAIL_FORMAT = "email"


def digest_subject(d: dict[str, Any]) -> str:
    n = len(d["leases"])
    return (
        f"DTEM {d['date']}: {n} lease{'s' if n != 1 else ''}, {len(d['gained'])} gained, "
        f"{len(d['lost'])} lost, {len(d['hand_raises'])} hand-raises"
    )


def digest_text(d: dict[str, Any]) -> str:
    """The digest as plain text, one section per kind."""
    lines = [f"Hello {d.get('name') or d.get('rep')},", "", f"Your DTEM day, {d['date']}.", ""]
    lines.append(f"Your leases ({len(d['leases'])}):")
    lines += [
        f"  - {x['account']} {x.get('name') or ''}: {x['days_left']} day(s) left (until "
        f"{x['expires_at']})"
        for x in d["leases"]
    ] or ["  (none)"]
    lines += ["", f"Gained since yesterday ({len(d['gained'])}):"]
    lines += [f"  + {x['account']} {x.get('name') or ''}" for x in d["gained"]] or ["  (none)"]
    lines += ["", f"Lost since yesterday ({len(d['lost'])}):"]
    lines += [f"  - {x['account']} {x.get('name') or ''}: {x['state']}" for x in d["lost"]] or [
        "  (none)"
    ]
    lines += ["", f"Hand-raises on your accounts ({len(d['hand_raises'])}):"]
    lines += [f"  ! {x['account']} at {x['at']}" for x in d["hand_raises"]] or ["  (none)"]
    return "\n".join(lines) + "\n"


def digest_email(event_id: str, d: dict[str, Any]) -> bytes:
    """The message (RFC 5322) without `From`; `Message-ID` from the event id (one per retry)."""
    msg = EmailMessage()
    msg["To"] = d.get("email") or ""  # none (a test event): the SMTP server refuses it
    msg["Message-ID"] = f"<{event_id}@dtem>"
    if "leases" in d:
        msg["Subject"] = digest_subject(d)
        msg.set_content(digest_text(d))
    else:
        msg["Subject"] = f"DTEM event {event_id}"
        msg.set_content(json.dumps(d, indent=2, sort_keys=True, default=str))
    return msg.as_bytes()

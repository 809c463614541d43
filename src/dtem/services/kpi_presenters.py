"""KPI, TAM audit and pilot results as JSON, and the report window: shared by CLI and API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dtem.domain.errors import ArgumentInvalid
from dtem.services import kpis, tam_audit

DEFAULT_DAYS = 90


def parse_when(text: str, option: str) -> datetime:
    """A day (YYYY-MM-DD, midnight UTC) or an ISO time; `ArgumentInvalid` names the option.

    >>> parse_when("2027-01-31", "--from").isoformat()
    '2027-01-31T00:00:00+00:00'
    """
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ArgumentInvalid(
            f"{option}: {text!r} is not a date; use YYYY-MM-DD (e.g. 2027-01-31)"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def window(
    start: str | None,
    end: str | None,
    now: datetime,
    names: tuple[str, str] = ("--from", "--to"),
) -> tuple[datetime, datetime]:
    """[start, end): by default the 90 days up to now. `names` label the two in messages."""
    to = parse_when(end, names[1]) if end else now
    since = parse_when(start, names[0]) if start else to - timedelta(days=DEFAULT_DAYS)
    if to <= since:
        raise ArgumentInvalid(
            f"{names[1]} ({to:%Y-%m-%d}) must be after {names[0]} ({since:%Y-%m-%d})"
        )
    return since, to


def kpi_json(report: kpis.KpiReport) -> dict[str, Any]:
    """The report as the CLI and the API print it."""
    return {
        "from": report.start,
        "to": report.end,
        "policy_version": report.policy_version,
        "price_of_capacity": report.price_of_capacity,
        "kpis": {
            r.name: {"unit": r.unit, "static": r.static, "dtem": r.dtem, "detail": r.detail}
            for r in report.rows
        },
        "lead_decay": {
            side: [
                {
                    "bucket": b.bucket,
                    "hand_raises": b.hand_raises,
                    "won": b.won,
                    "win_rate": b.win_rate,
                }
                for b in buckets
            ]
            for side, buckets in report.lead_decay.items()
        },
        "velocity_by_rep": report.velocity_by_rep,
    }


def audit_json(audit: tam_audit.TamAudit, top: int) -> dict[str, Any]:
    return {
        "at": audit.at,
        "policy_version": audit.policy_version,
        "threshold": audit.threshold,
        "accounts": len(audit.accounts),
        "tiers": audit.tiers(),
        "owned": audit.owned,
        "phantom": audit.phantom,
        "phantom_share": audit.phantom / audit.owned if audit.owned else None,
        "dead_zones": audit.dead_zones,
        "top": [a.account for a in audit.accounts[:top]],
        "rows": audit.accounts,
    }

"""Outbound webhook commands: subscriptions, the delivery log, replay, test, the dispatcher."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid
from dtem.domain.webhooks import EVENT_TYPES, FORMATS
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.entrypoints.cli.scoring import parse_time
from dtem.services import webhooks
from dtem.services.webhook_dispatch import DispatchReport

webhooks_app = typer.Typer(
    help="Outbound webhooks: subscribe URLs to events, read the delivery log, replay.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
@handle_errors
def add(
    url: Annotated[str, typer.Option(help="Where to POST events (http:// or https://).")],
    events: Annotated[
        str,
        typer.Option(help=f"Comma-separated event types (default: all): {','.join(EVENT_TYPES)}."),
    ] = "",
    format_: Annotated[
        str, typer.Option("--format", help=f"Body format: {', '.join(FORMATS)}.")
    ] = "json",
    rep: Annotated[str | None, typer.Option(help="Only this rep's events (external id).")] = None,
    team: Annotated[str | None, typer.Option(help="Only the events of this team's reps.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Subscribe a URL; prints its signing secret, which is never shown again.

    Example:  dtem webhooks add --url https://hooks.acme.com/dtem --events lease.granted
    A rep's Slack:  dtem webhooks add --url https://hooks.slack.com/services/T/B/X
    --format slack --rep R1 --events lease.granted,lease.revoked
    """
    c = open_ledger(db)
    created = webhooks.subscribe(
        c.ledger, c.clock, url, events.split(","), c.settings.actor, format_, rep, team
    )
    if json_out:
        print_json({**_view(created.subscription), "secret": created.secret})
        return
    sub = created.subscription
    console.print(f"subscription #{sub.id} → {sub.url} ({', '.join(sub.events) or 'all events'})")
    console.print("signing secret (store it now, it is not shown again):")
    console.print(created.secret, highlight=False)


@webhooks_app.command("list")
@handle_errors
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Show removed subscriptions too.")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List subscriptions (never their secrets).  Example:  dtem webhooks list --json"""
    c = open_ledger(db)
    rows = [_view(s) for s in webhooks.subscriptions(c.ledger, active_only=not all_)]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "url", "events", "format", "active", "created", "by")
    for r in rows:
        table.add_row(
            str(r["id"]), r["url"], ", ".join(r["events"]) or "all", r["format"],
            "yes" if r["active"] else "no", _minute(r["created_at"]), r["created_by"],
        )  # fmt: skip
    console.print(table)


@webhooks_app.command("remove")
@handle_errors
def remove(
    subscription_id: Annotated[int, typer.Argument(help="Subscription id.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Stop a subscription; its pending deliveries are cancelled, its log is kept.

    Example:  dtem webhooks remove 3
    """
    c = open_ledger(db)
    sub = webhooks.unsubscribe(c.ledger, c.clock, subscription_id, c.settings.actor)
    if json_out:
        print_json(_view(sub))
    else:
        console.print(f"subscription #{sub.id} removed ({sub.url})")


@webhooks_app.command("deliveries")
@handle_errors
def deliveries(
    subscription_id: Annotated[int, typer.Argument(help="Subscription id.")],
    limit: Annotated[int, typer.Option(help="How many deliveries, newest first.")] = 50,
    since: Annotated[str | None, typer.Option(help="Only deliveries made since (ISO).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """A subscription's delivery log: every attempt, its answer or error, the next retry.

    Example:  dtem webhooks deliveries 3 --limit 20 --json
    """
    c = open_ledger(db)
    logs = webhooks.delivery_log(c.ledger, subscription_id, limit, parse_time(since))
    if json_out:
        print_json([entry.as_dict() for entry in logs])
        return
    table = Table("delivery", "event", "type", "status", "attempt", "at", "answer", "ms", "next")
    for entry in logs:
        d = entry.delivery
        head = [str(d.id), d.event.id, d.event.type, d.status]
        if not entry.attempts:
            table.add_row(*head, "-", "", "", "", _minute(d.next_attempt_at))
        for a in entry.attempts:
            answer = str(a.status_code) if a.status_code is not None else (a.error or "")
            table.add_row(
                *head, str(a.attempt), _minute(a.at), answer, str(a.duration_ms),
                _minute(a.next_retry_at),
            )  # fmt: skip
            head = ["", "", "", ""]
    console.print(table)


@webhooks_app.command("replay")
@handle_errors
def replay(
    delivery_id: Annotated[
        int | None, typer.Argument(help="A delivery to send again (or use --since).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Replay every finished delivery made since (ISO time).")
    ] = None,
    subscription: Annotated[
        int | None, typer.Option(help="With --since: one subscription's deliveries only.")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Queue an event again (same event id); the dispatcher sends it.

    Example:  dtem webhooks replay 41    or    dtem webhooks replay --since 2027-01-04T00:00Z
    """
    if (delivery_id is None) == (since is None):
        raise ArgumentInvalid("give a DELIVERY_ID or --since TIME (one of the two)")
    c = open_ledger(db)
    actor = c.settings.actor
    if delivery_id is not None:
        queued = [webhooks.replay(c.ledger, c.clock, delivery_id, actor)]
    else:
        at = parse_time(since)
        assert at is not None
        queued = webhooks.replay_since(c.ledger, c.clock, at, actor, subscription)
    rows = [{"id": d.id, "replay_of": d.replay_of, "event_id": d.event.id} for d in queued]
    if json_out:
        print_json(rows)
    else:
        console.print(f"{len(rows)} deliveries queued again: " + _ids(rows))


@webhooks_app.command("test")
@handle_errors
def test(
    subscription_id: Annotated[int, typer.Argument(help="Subscription id.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Send a signed `webhook.test` event now and show the answer (it is not retried).

    Example:  dtem webhooks test 3
    """
    from dtem.bootstrap import webhook_dispatcher

    c = open_ledger(db)
    queued = webhooks.queue_test(c.ledger, c.clock, subscription_id, c.settings.actor)
    report = webhook_dispatcher(c).deliver_due(only=queued.id)
    attempt = report.attempts[0] if report.attempts else None
    out = {
        "delivery_id": queued.id,
        "event_id": queued.event.id,
        "delivered": report.delivered == 1,
        "status_code": attempt.status_code if attempt else None,
        "error": attempt.error if attempt else "not sent: another dispatcher holds it",
        "duration_ms": attempt.duration_ms if attempt else None,
    }
    if json_out:
        print_json(out)
    elif out["delivered"]:
        console.print(f"delivered: HTTP {out['status_code']} in {out['duration_ms']} ms")
    else:
        answer = f"HTTP {out['status_code']}" if out["status_code"] else out["error"]
        console.print(f"not delivered: {answer} (delivery {queued.id})")


@webhooks_app.command("deliver")
@handle_errors
def deliver(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Run a dispatcher: claim due deliveries, POST them signed, retry with backoff.

    Any number may run at once, on one ledger (a claim is exclusive). Stop with Ctrl-C.

    Example:  dtem webhooks deliver --once --json
    """
    from dtem.bootstrap import webhook_dispatcher

    c = open_ledger(db)
    dispatcher = webhook_dispatcher(c)
    if once:
        total = DispatchReport()
        while (report := dispatcher.deliver_due()).claimed:
            total.absorb(report)
        counts = _counts(total)
        print_json(counts) if json_out else console.print(_summary(counts))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err_console.print(f"delivering webhooks from {c.database}; Ctrl-C stops")
    try:
        dispatcher.run(stop, c.settings.webhook_poll_seconds)
    except KeyboardInterrupt:
        stop.set()


def _counts(r: DispatchReport) -> dict[str, int]:
    return {"delivered": r.delivered, "retrying": r.retrying, "failed": r.failed, "lost": r.lost}


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def _view(sub: webhooks.SubscriptionView) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "events": sub.events,
        "format": sub.format,
        "active": sub.active,
        "created_at": sub.created_at,
        "created_by": sub.created_by,
        "removed_at": sub.removed_at,
        "rep_id": sub.rep_id,
        "team": sub.team,
    }


def _ids(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['id']} (of {r['replay_of']})" for r in rows) or "none"


def _minute(at: datetime | None) -> str:
    return at.isoformat()[:16].replace("T", " ") if at is not None else ""

"""Notification commands: the reps' daily e-mail digest (queued through the outbox)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import digest, notification_mutes

notify_app = typer.Typer(
    help="Reps' notifications: the daily e-mail digest (Slack: dtem webhooks add --format slack).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")


@notify_app.command("digest")
@handle_errors
def digest_(
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="The digest's day, YYYY-MM-DD (default: today, UTC).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the digests; queue nothing.")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Queue one digest e-mail per rep with an address: leases and days left, gained and
    lost since yesterday, hand-raises. The dispatcher sends them over SMTP (DTEM_SMTP_*).

    Example:  dtem notify digest --date 2027-01-05 --dry-run
    """
    c = open_ledger(db)
    run = digest.queue_digests(
        c.ledger, c.clock, _day(day, c.clock().date()), c.settings.actor, dry_run
    )
    if json_out:
        print_json({"date": run.day.isoformat(), "queued": run.queued, "digests": run.digests})
        return
    for d in run.digests:
        console.print(_line(d), highlight=False)
    if dry_run:
        console.print(f"{len(run.digests)} digest(s) for {run.day}; nothing queued (dry run)")
    else:
        console.print(f"{len(run.digests)} digest(s) for {run.day}; {run.queued} e-mail(s) queued")


def _line(d: dict[str, Any]) -> str:
    return (
        f"{d['rep']} <{d['email']}>: {len(d['leases'])} lease(s), +{len(d['gained'])} "
        f"-{len(d['lost'])}, {len(d['hand_raises'])} hand-raise(s)"
    )


def _day(value: str | None, today: date) -> date:
    if value is None:
        return today
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ArgumentInvalid(f"date: expected YYYY-MM-DD, got {value!r}") from exc


RepOption = Annotated[str, typer.Option("--rep", help="The rep (external id).")]
KindOption = Annotated[
    str, typer.Option("--kind", help=f"A kind: {', '.join(notification_mutes.MUTABLE_KINDS)}.")
]


@notify_app.command("mute")
@handle_errors
def mute(
    rep: RepOption, kind: KindOption, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """Stop one kind reaching a rep's Slack and digest e-mail.

    Example:  dtem notify mute --rep R1 --kind lease.granted
    """
    c = open_ledger(db)
    _show(rep, notification_mutes.mute(c.ledger, c.clock, rep, kind, c.settings.actor), json_out)


@notify_app.command("unmute")
@handle_errors
def unmute(
    rep: RepOption, kind: KindOption, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """Let a muted kind reach the rep again.

    Example:  dtem notify unmute --rep R1 --kind lease.granted
    """
    c = open_ledger(db)
    _show(rep, notification_mutes.unmute(c.ledger, c.clock, rep, kind, c.settings.actor), json_out)


@notify_app.command("mutes")
@handle_errors
def mutes(rep: RepOption, db: DbOption = None, json_out: JsonOption = False) -> None:
    """The kinds a rep muted.  Example:  dtem notify mutes --rep R1"""
    c = open_ledger(db)
    _show(rep, notification_mutes.muted_kinds(c.ledger, rep), json_out)


def _show(rep: str, kinds: list[str], json_out: bool) -> None:
    if json_out:
        print_json({"rep": rep, "muted": kinds})
    else:
        console.print(f"{rep} muted: {', '.join(kinds) or 'nothing'}", highlight=False)

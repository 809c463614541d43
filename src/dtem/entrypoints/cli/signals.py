"""Signal commands: `dtem source …`, `dtem signals …`, `dtem import signals`, `dtem worker`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.cli import worker
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
    row_progress,
)
from dtem.entrypoints.cli.imports import import_app
from dtem.entrypoints.cli.retention import retention_app
from dtem.services import governance
from dtem.services.imports import load_mapping
from dtem.services.signals import files, reports, sources

source_app = typer.Typer(
    help="Webhook sources, their write keys, and retention per source.", no_args_is_help=True
)
signals_app = typer.Typer(help="Inspect the signals the Radar holds.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    source_app.add_typer(retention_app, name="retention")
    app.add_typer(source_app, name="source")
    app.add_typer(signals_app, name="signals")
    import_app.command("signals")(import_signals)
    app.command("worker")(worker.worker)


@source_app.command("create")
@handle_errors
def source_create(
    name: Annotated[str, typer.Argument(help="A name for the sender (unique).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a webhook source and print its write key once (only a hash is stored).

    Example:  dtem source create website   then   curl -u "$WRITE_KEY:" …/v1/track
    """
    c = open_ledger(db)
    source_id, key = sources.create_source(c.ledger, c.clock, name, c.settings.actor)
    if json_out:
        print_json({"id": source_id, "name": name, "write_key": key})
        return
    console.print(f"source {name!r} created (id {source_id}). Write key, shown once:")
    console.print(key, highlight=False, soft_wrap=True)


@source_app.command("list")
@handle_errors
def source_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List the webhook sources (names and dates; never the keys).

    Example:  dtem source list --json
    """
    rows = sources.list_sources(open_ledger(db).ledger)
    if json_out:
        print_json([{k: v for k, v in r.__dict__.items() if k != "key_hash"} for r in rows])
        return
    table = Table("id", "name", "created", "revoked")
    for r in rows:
        table.add_row(str(r.id), r.name, r.created_at.isoformat(), _when(r.revoked_at))
    console.print(table)


@source_app.command("revoke")
@handle_errors
def source_revoke(
    name: Annotated[str, typer.Argument(help="The source to stop accepting.")],
    db: DbOption = None,
) -> None:
    """Revoke a source's write key: its calls get 401 from now on.

    Example:  dtem source revoke website
    """
    c = open_ledger(db)
    sources.revoke_source(c.ledger, c.clock, name, c.settings.actor)
    console.print(f"source {name!r} revoked")


@signals_app.command("unmatched")
@handle_errors
def signals_unmatched(
    limit: Annotated[int, typer.Option(help="How many signals to list (oldest first).")] = 50,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Signals kept without an account, with counts by reason.

    They attach by themselves when the account is imported or a `group` call links the
    user. Reasons: unknown_domain, unknown_account, free_mail, unknown_user, no_key.

    Example:  dtem signals unmatched --json
    """
    report = reports.unmatched_report(open_ledger(db).ledger, limit)
    if json_out:
        print_json(report)
        return
    console.print(f"{report.total} unmatched signal(s)")
    for reason, n in sorted(report.by_reason.items(), key=lambda kv: -kv[1]):
        console.print(f"  {reason}: {n}", highlight=False)
    table = Table("event id", "key", "kind", "reason", "type", "at")
    for r in report.signals:
        table.add_row(
            r.event_id,
            r.account_key,
            r.key_kind,
            str(r.unmatched_reason),
            r.type,
            r.occurred_at.isoformat(),
        )
    if report.signals:
        console.print(table)


@signals_app.command("stats")
@handle_errors
def signals_stats(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Signals by type, unknown event names (stored as type other) and unmatched reasons.

    Example:  dtem signals stats --json
    """
    stats = reports.signal_stats(open_ledger(db).ledger)
    if json_out:
        print_json(stats)
        return
    console.print(f"{stats.total} signal(s), {stats.superseded} superseded")
    for title, counts in (
        ("by type", stats.by_type),
        ("unknown events", stats.unknown_events),
        ("unmatched", stats.unmatched),
    ):
        console.print(f"{title}:")
        for key, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            console.print(f"  {key}: {n}", highlight=False)


@handle_errors
def import_signals(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSONL file.", show_default=False)],
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            "-m",
            help="Mapping YAML path or shipped name "
            "(bombora_surge, intent_topic_score, signals). Default: columns named "
            "like DTEM fields.",
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Time of rows that have none (a weekly intent file)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; keep nothing.")
    ] = False,
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            help="fail (default): any bad row "
            "aborts (exit 3). skip: import good rows, bad ones to <file>.rejects.csv.",
        ),
    ] = "fail",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import signals: a resent event id is skipped; unmatched rows are kept with a reason.

    Intent files (a score per domain and topic) replace the previous week's rows.

    Example:  dtem import signals surge.csv --mapping bombora_surge --as-of 2027-01-04
    """
    if on_error not in ("fail", "skip"):
        raise ArgumentInvalid(f"--on-error must be fail or skip, not {on_error!r}")
    c = open_ledger(db, create=True)
    policy = governance.ensure_policy(c.ledger, c.clock, c.settings.actor).policy
    loaded = load_mapping(mapping) if mapping else None
    when = as_of.replace(tzinfo=UTC) if as_of and as_of.tzinfo is None else as_of
    with row_progress(json_out) as bar:
        result = files.import_signals(
            c.ledger,
            c.clock,
            file,
            loaded,
            policy,
            c.pipeline,
            as_of=when,
            actor=c.settings.actor,
            dry_run=dry_run,
            on_error="skip" if on_error == "skip" else "fail",
            progress=bar,
        )
    if json_out:
        print_json(result)
        return
    n = result.counts
    verb = "would store" if dry_run else "stored"
    console.print(
        f"{verb} {n['stored']} signal(s) from {file}: {n['duplicates']} already seen, "
        f"{n['unmatched']} unmatched, {n['rejected']} rejected (of {n['rows']} rows)",
        highlight=False,
        soft_wrap=True,
    )
    for e in result.errors:
        err_console.print(str(e), highlight=False, markup=False, soft_wrap=True)


def _when(ts: datetime | None) -> str:
    return ts.isoformat() if ts else ""

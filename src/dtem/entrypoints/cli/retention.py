"""`dtem source retention …`: how long each signal source's raw signals are kept."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid
from dtem.domain.retention import SourceRetention
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import retention

retention_app = typer.Typer(
    help="Retention per signal source: the daily review deletes older raw signals.",
    no_args_is_help=True,
)


@retention_app.command("set")
@handle_errors
def retention_set(
    source: Annotated[
        str, typer.Argument(help="A webhook source, or the source label of imported signals.")
    ],
    days: Annotated[int | None, typer.Option(help="Keep raw signals this many days (≥ 1).")] = None,
    forever: Annotated[bool, typer.Option("--forever", help="Keep them forever.")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set a source's retention (audited); the next `dtem review` applies it.

    Example:  dtem source retention set bombora --days 180
              dtem source retention set website --forever
    """
    if (days is None) == (not forever):
        raise ArgumentInvalid("retention_days: give --days N or --forever (one of them)")
    c = open_ledger(db)
    row = retention.set_retention(c.ledger, c.clock, source, days, c.settings.actor)
    if json_out:
        print_json(_as_dict(row))
        return
    kept = "forever" if row.retention_days is None else f"{row.retention_days} days"
    console.print(f"source {source!r}: raw signals kept {kept}", highlight=False)


@retention_app.command("list")
@handle_errors
def retention_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Every signal source (webhook sources, imported labels) and its retention.

    Example:  dtem source retention list --json
    """
    rows = retention.list_retention(open_ledger(db).ledger)
    if json_out:
        print_json([_as_dict(r) for r in rows])
        return
    table = Table("source", "delivered by", "retention")
    for r in rows:
        kept = "forever" if r.retention_days is None else f"{r.retention_days} days"
        table.add_row(r.source, ", ".join(r.kinds) or "-", kept)
    console.print(table)


def _as_dict(r: SourceRetention) -> dict[str, object]:
    return {"source": r.source, "kinds": list(r.kinds), "retention_days": r.retention_days}

"""Compensation on the command line: plans, statements, closing periods, simulation."""

from __future__ import annotations

import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
    read_mapping,
    styled,
)
from dtem.services.comp import plans, simulate, statements
from dtem.services.comp.presenters import (
    STATEMENT_COLUMNS,
    plan_json,
    simulation_json,
    statement_json,
    statement_rows,
)
from dtem.services.governance import ensure_policy

comp_app = typer.Typer(
    help="Score-based commission: plans, statements, period close, simulation.",
    no_args_is_help=True,
)
plan_app = typer.Typer(help="Store, list and show comp plan versions.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    comp_app.add_typer(plan_app, name="plan")
    app.add_typer(comp_app, name="comp")


def _document(file: Path) -> dict[str, Any]:
    return read_mapping(file, "a comp plan document")


@plan_app.command("store")
@handle_errors
def plan_store(
    file: Annotated[Path, typer.Argument(help="YAML or JSON comp plan.", exists=True)],
    note: Annotated[str, typer.Option(help="Why this plan exists.")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Validate and schedule a comp plan (`effective_from: next_quarter` is allowed).

    Example:  dtem comp plan store fy27.yaml --note "FY27 plan"
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    stored = plans.store_plan(c.ledger, c.clock, _document(file), c.settings.actor, note)
    if json_out:
        print_json(plan_json(stored))
        return
    p = stored.plan
    console.print(
        f"stored comp plan v{stored.version}, in force from {p.effective_from}"
        + (f" to {p.effective_to}" if p.effective_to else ""),
        highlight=False,
    )


@plan_app.command("list")
@handle_errors
def plan_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List comp plan versions; * marks the one in force today.  Example:  dtem comp plan list"""
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    listing = plans.list_plans(c.ledger, c.clock)
    if json_out:
        print_json(
            {
                "in_force": listing.in_force,
                "plans": [plan_json(p) for p in listing.plans],
                "pending_default": listing.pending_default.to_dict()
                if listing.pending_default
                else None,
            }
        )
        return
    table = Table("version", "in force", "from", "to", "curve", "caps", "by", "note")
    for p in listing.plans:
        doc = p.plan.to_dict()
        table.add_row(
            str(p.version),
            "*" if p.version == listing.in_force else "",
            str(p.plan.effective_from),
            str(p.plan.effective_to or ""),
            _curve(doc),
            _caps(doc),
            p.created_by,
            p.note,
        )
    if listing.pending_default:
        doc = listing.pending_default.to_dict()
        table.add_row("-", "*", doc["effective_from"], "", _curve(doc), "", "", doc["name"])
    console.print(table)


@plan_app.command("show")
@handle_errors
def plan_show(
    version: Annotated[int, typer.Argument(help="Plan version.")],
    db: DbOption = None,
) -> None:
    """Print one comp plan version as JSON.  Example:  dtem comp plan show 2"""
    c = open_ledger(db)
    print_json(plan_json(plans.show_plan(c.ledger, version)))


def _curve(doc: dict[str, Any]) -> str:
    return " ".join(f"({s}, {float(r):.2%})" for s, r in doc["curve"])


def _caps(doc: dict[str, Any]) -> str:
    caps = [f"{k.split('_')[0]} {doc[k]}" for k in ("deal_cap", "period_cap") if doc[k]]
    return ", ".join(caps)


@comp_app.command("statement")
@handle_errors
def statement(
    rep: Annotated[str, typer.Option("--rep", help="Rep external id.")],
    period: Annotated[str, typer.Option("--period", help="Period, YYYY-MM.")],
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    db: DbOption = None,
) -> None:
    """A rep's commission lines in a period, with totals and whether it is closed.

    Example:  dtem comp statement --rep R-001 --period 2027-01 --format csv > r001.csv
    """
    c = open_ledger(db)
    st = statements.statement(c.ledger, rep, period)
    if fmt is Format.json:
        print_json(statement_json(st))
    elif fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(STATEMENT_COLUMNS)
        writer.writerows(statement_rows(st))
        sys.stdout.write(buf.getvalue())
    else:
        _print_statement(st)


_SHORT = ("kind", "opportunity", "account", "lease", "won on", "score", "plan", "rate", "amount",
          "commission")  # fmt: skip


def _print_statement(st: statements.Statement) -> None:
    state = f"closed {st.closed_at:%Y-%m-%d}" if st.closed_at else "open"
    title = styled((f"{st.rep_name} ({st.rep})", "bold"), f" — {st.period} ({state})")
    console.print(title, highlight=False)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for header in _SHORT:
        right = header in ("score", "rate", "amount", "commission")
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    for row in statement_rows(st):
        table.add_row(*row[1:-1])
    console.print(table)
    for x in st.lines:  # why each adjustment (or late posting) happened
        if x.line.kind != "deal" or ";" in x.line.reason:
            console.print(f"  {x.line.opportunity}: {x.line.reason}", highlight=False)
    console.print(
        f"total: amount {st.total_amount:,}  commission {st.total_commission:,}", highlight=False
    )


@comp_app.command("close")
@handle_errors
def close(
    period: Annotated[str, typer.Option("--period", help="Period to lock, YYYY-MM.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Close a period: its lines are locked; later corrections post in an open period.

    Example:  dtem comp close --period 2027-01
    """
    c = open_ledger(db)
    done = statements.close_period(c.ledger, c.clock, period, c.settings.actor)
    if json_out:
        print_json(done.__dict__ | {"commission": str(done.commission)})
        return
    verb = "closed" if done.closed_now else "was already closed"
    console.print(
        f"{done.period} {verb} ({done.closed_at:%Y-%m-%d %H:%M} by {done.closed_by}): "
        f"{done.lines} line(s), commission {done.commission:,}",
        highlight=False,
    )


@comp_app.command("simulate")
@handle_errors
def simulate_plan(
    plan: Annotated[Path, typer.Option("--plan", help="Candidate comp plan file.", exists=True)],
    start: Annotated[str | None, typer.Option("--from", help="First period, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last period (default: now).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """What the periods' won deals would have paid under another plan, per rep.

    Example:  dtem comp simulate --plan steeper.yaml --from 2027-01 --to 2027-03
    """
    c = open_ledger(db)
    sim = simulate.simulate(c.ledger, c.clock, _document(plan), start, end)
    if json_out:
        print_json(simulation_json(sim))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for header in ("rep", "deals", "amount", "paid", "simulated", "difference"):
        table.add_column(header, justify="left" if header == "rep" else "right", no_wrap=True)
    for r in sim.reps:
        table.add_row(
            r.rep, str(r.deals), f"{r.amount:,}", f"{r.paid:,}", f"{r.simulated:,}",
            f"{r.difference:+,}",
        )  # fmt: skip
    console.print(f"periods {sim.start} to {sim.end}", highlight=False)
    console.print(table)

"""Batch optimiser commands: `dtem rebalance`, `dtem bid …`, `dtem export assignments`."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dtem.domain.clock import as_utc
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import bidding, export, governance

if TYPE_CHECKING:  # the solvers load OR-Tools and HiGHS: only when a command needs them
    from dtem.services.rebalance import RebalanceReport

bid_app = typer.Typer(help="Quarterly capacity bids: submit, award, list.", no_args_is_help=True)
export_app = typer.Typer(help="Sync out to the CRM (bulk-update CSV).", no_args_is_help=True)

T = TypeVar("T")


def register(app: typer.Typer) -> None:
    app.command("rebalance")(rebalance_cmd)
    app.add_typer(bid_app, name="bid")
    app.add_typer(export_app, name="export")


@contextmanager
def working(label: str, quiet: bool) -> Iterator[None]:
    """A spinner with elapsed time on stderr while a solve runs (silent with --json)."""
    if quiet:
        yield
        return
    columns = (SpinnerColumn(), TextColumn(label), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        bar.add_task(label, total=None)
        yield


def run_quietly(label: str, quiet: bool, fn: Callable[[], T]) -> T:
    with working(label, quiet):
        return fn()


# --- rebalance ---------------------------------------------------------------------------
MoveOption = Annotated[
    bool, typer.Option("--move-leases", help="Also move active leases (each move costs "
                       "policy.continuity_penalty).")
]  # fmt: skip
HoursOption = Annotated[
    bool, typer.Option("--hours", help="Workloads in hours (effort by segment) against hour "
                       "capacities: a generalized assignment MIP instead of min-cost flow.")
]  # fmt: skip
TopKOption = Annotated[int, typer.Option("--top-k", min=1, help="Eligible reps kept per account.")]
TimeOption = Annotated[
    float, typer.Option("--time-limit", min=0.1, help="MIP time limit in seconds (--hours).")
]
DryOption = Annotated[bool, typer.Option("--dry-run", help="Solve and report; write nothing.")]


@handle_errors
def rebalance_cmd(
    move_leases: MoveOption = False,
    hours: HoursOption = False,
    top_k: TopKOption = 50,
    time_limit: TimeOption = 60.0,
    dry_run: DryOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Assign every hot unleased account (and optionally move leases) to maximise
    Σ EV − continuity penalty within capacities; print objective, bound, gap and greedy.

    Example:  dtem rebalance --move-leases --dry-run
    """
    from dtem.services.rebalance import rebalance

    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    report = run_quietly(
        "solving the assignment",
        json_out,
        lambda: rebalance(
            c.ledger, c.clock, move_leases, hours, top_k, time_limit, dry_run, c.settings.actor
        ),
    )
    show_rebalance(report, json_out)


def show_rebalance(report: RebalanceReport, json_out: bool) -> None:
    """Print a rebalance report as a table (or JSON); shared with `dtem review --rebalance`."""
    if json_out:
        print_json({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in report.to_dict().items()})  # fmt: skip
        return
    table = Table("measure", "value", title=f"rebalance ({report.method}, {report.status})")
    rows = [
        ("hot unleased accounts", f"{report.accounts:,}"),
        ("active leases that could move", f"{report.movable_leases:,}"),
        ("eligible arcs", f"{report.arcs:,}"),
        ("leases granted", f"{report.granted:,}"),
        ("leases moved", f"{report.moved:,}"),
        ("left unassigned (no capacity)", f"{report.left_unassigned:,}"),
        ("objective Σ EV − penalties", f"{report.objective:,.2f}"),
        ("bound", f"{report.lp_bound:,.2f}"),
        ("gap to bound", f"{report.gap:.6%}"),
        ("solve time", f"{report.solve_seconds:.3f} s"),
        ("greedy by EV would score", f"{report.greedy_objective:,.2f}"),
        ("greedy below optimum by", f"{report.greedy_gap:.3%}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if not report.applied:
        console.print("dry run: nothing was written")


# --- bids --------------------------------------------------------------------------------
QuarterOption = Annotated[str, typer.Option("--quarter", help="Quarter, e.g. 2027Q1.")]


@bid_app.command("submit")
@handle_errors
def bid_submit(
    rep: Annotated[str, typer.Option("--rep", help="Rep external id.")],
    quarter: QuarterOption,
    leases: Annotated[int, typer.Option("--leases", help="Leases wanted (> 0).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Submit (or, before the award, replace) a rep's capacity bid for a quarter.

    Example:  dtem bid submit --rep R1 --quarter 2027Q1 --leases 30
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    bid = bidding.submit_bid(c.ledger, c.clock, rep, quarter, leases, c.settings.actor)
    if json_out:
        print_json({"rep": rep, "quarter": bid.quarter, "leases": bid.leases})
    else:
        console.print(f"bid recorded: {rep} asks for {bid.leases} leases in {bid.quarter}")


@bid_app.command("award")
@handle_errors
def bid_award(
    quarter: QuarterOption,
    total: Annotated[
        int | None,
        typer.Option(
            "--total", min=0, help="Capacity to share (default: Σ capacity of active reps)."
        ),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Award a quarter's bids by performance (water-filling); recorded and audited once.

    Example:  dtem bid award --quarter 2027Q1 --json
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    result = bidding.award_quarter(c.ledger, c.clock, quarter, total, c.settings.actor)
    if json_out:
        print_json(result)
        return
    table = Table("rep", "bid", "awarded", "close rate", "velocity/day", "index", "share", "capped")
    for x in result.lines:
        table.add_row(
            x.rep, str(x.bid), str(x.awarded), f"{x.close_rate:.1%}", f"{x.velocity:,.0f}",
            f"{x.index:,.4g}", f"{x.share:.1%}", "yes" if x.capped else "",
        )  # fmt: skip
    console.print(table)
    console.print(f"{result.awarded} of {result.total_capacity} leases awarded for {quarter}")


@bid_app.command("list")
@handle_errors
def bid_list(
    quarter: Annotated[str | None, typer.Option("--quarter", help="Only this quarter.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List bids and their awards.  Example:  dtem bid list --quarter 2027Q1"""
    c = open_ledger(db)
    rows = bidding.list_bids(c.ledger, quarter)
    if json_out:
        print_json(rows)
        return
    table = Table("quarter", "rep", "bid", "awarded", "reason")
    for r in rows:
        awarded = "" if r["awarded"] is None else str(r["awarded"])
        table.add_row(str(r["quarter"]), str(r["rep"]), str(r["leases"]), awarded,
                      str(r["award_reason"] or ""))  # fmt: skip
    console.print(table)


# --- export ------------------------------------------------------------------------------
@export_app.command("assignments")
@handle_errors
def export_assignments(
    fmt: Annotated[str, typer.Option("--format", help="salesforce | hubspot.")],
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since", help="Only changes after this time (default: the last export's watermark)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default stdout).")] = None,
    pool_owner: Annotated[
        str | None,
        typer.Option(
            "--pool-owner",
            envvar="DTEM_CRM_POOL_OWNER",
            help="CRM owner id for accounts back in the pool (else blank).",
        ),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write the account owners changed since LAST as a CRM bulk-update CSV.

    Example:  dtem export assignments --format salesforce --out owners.csv
    """
    c = open_ledger(db)
    captured: list[str] = []
    start = as_utc(since) if since is not None else None
    result = export.export_assignments(
        c.ledger, c.clock, fmt, _writer(out, json_out, captured), start, pool_owner,
        c.settings.actor,
    )  # fmt: skip
    if json_out:
        print_json({**vars(result), "out": str(out) if out else None,
                    "csv": captured[0] if captured else None})  # fmt: skip
    elif out is not None:
        console.print(f"{result.rows} owner change(s) since {result.since:%Y-%m-%d %H:%M} → {out}")


def _writer(out: Path | None, json_out: bool, captured: list[str]) -> Callable[[str], None]:
    """Where the CSV goes: the file, the JSON answer, or stdout."""

    def write(text: str) -> None:
        if out is not None:
            out.write_text(text)
        elif json_out:
            captured.append(text)
        else:
            sys.stdout.write(text)

    return write

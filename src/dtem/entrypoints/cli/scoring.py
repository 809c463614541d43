"""`dtem score` (batch Equity Scores for every account) and `dtem explain ACCOUNT`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.cli.accounts import account_lines
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
    styled,
)
from dtem.services import accounts, governance
from dtem.services.score_batch import BatchSummary, run_batch
from dtem.services.scoring import Explanation, explain


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("explain")(explain_account)


def parse_time(text: str | None) -> datetime | None:
    """An ISO date or time; naive means UTC.

    >>> parse_time("2027-01-04T09:00").isoformat()
    '2027-01-04T09:00:00+00:00'
    """
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentInvalid(f"expected a time like 2027-01-04T09:00Z, got {text!r}") from exc
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@handle_errors
def score(
    engine: Annotated[Engine, typer.Option(help="Batch engine.")] = Engine.duckdb,
    signals: Annotated[
        str | None,
        typer.Option(
            help="Parquet path or glob of signals (account_id, type, occurred_at, value) "
            "instead of the ledger's."
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Score as of this time (default: now).")
    ] = None,
    refresh_economics: Annotated[
        bool, typer.Option(help="Freeze a new deal value / cycle snapshot from won deals first.")
    ] = False,
    top: Annotated[int, typer.Option(help="How many of the best accounts to list.")] = 10,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Score every account (I_t, P, V, C, E, S) in one pass; append the score history and
    record threshold crossings as routing triggers.

    Example:  dtem score --engine duckdb --as-of 2027-01-04 --json
    """
    from dtem.bootstrap import batch_scorer  # loads the ledger and batch engines: not at start-up

    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    kwargs: dict[str, Any] = {
        "as_of": parse_time(as_of),
        "signals_path": signals,
        "refresh": refresh_economics,
        "top": top,
    }
    scorer = batch_scorer(engine.value)
    if json_out:
        print_json(run_batch(c.ledger, scorer, c.clock, **kwargs))
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        summary = run_batch(
            c.ledger, scorer, c.clock, on_step=lambda s: bar.update(task, description=s), **kwargs
        )
    _print_summary(summary)


def _print_summary(s: BatchSummary) -> None:
    rate = f", {s.signals / s.seconds:,.0f} signals/s" if s.signals else ""
    console.print(
        f"scored {s.accounts:,} accounts as of {s.as_of:%Y-%m-%d %H:%M} UTC on {s.engine} "
        f"in {s.seconds:.2f} s{rate} (policy v{s.policy_version}, "
        f"economics v{s.economics_version or 0})"
    )
    console.print(
        f"{s.at_or_above_threshold:,} at or above the threshold; "
        f"{s.crossed_up:,} crossed up, {s.crossed_down:,} crossed down"
    )
    table = Table("account", "score")
    for external_id, value in s.top:
        table.add_row(external_id, f"{value:.1f}")
    console.print(table)


@handle_errors
def explain_account(
    account: Annotated[str, typer.Argument(help="The account's external id.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Explain as of this time (default: now).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Why an account scores what it does: S, E, P, V, C, every logit term, the five
    signals that add most, and the policy version.

    Example:  dtem explain 001A000001 --json
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    now = parse_time(as_of) or c.clock()
    with c.ledger.transaction() as tx:
        result = explain(tx, account, governance.active_policy(tx), now)
    status = accounts.show_account(c.ledger, c.clock, account)
    if json_out:
        print_json(result.as_dict() | {"account_status": accounts.account_json(status)})
        return
    _print_explanation(result)
    for line in account_lines(status)[1:]:
        console.print(line, highlight=False)


def _print_explanation(e: Explanation) -> None:
    s = e.score
    console.print(
        styled(
            (e.external_id, "bold"),
            f"  score {s.score:.1f}  (policy v{e.policy_version}, "
            f"segment {e.segment}, as of {e.as_of:%Y-%m-%d %H:%M} UTC)",
        )
    )
    console.print(
        f"E = P × V / C = {s.propensity:.4f} × {s.velocity:,.2f}/day ÷ {s.cost:,.2f} "
        f"= {s.equity:.5f}   (V = {e.velocity.deal_value:,.0f} ÷ {e.velocity.cycle_days:.1f} "
        f"days; C = {e.effort_hours:g} h × {e.lambda_hourly:,.2f}/h)",
        highlight=False,
    )
    terms = Table("logit term", "contribution", "intensity")
    for name, value in s.logit_terms.items():
        if value or not name.startswith("signal:"):
            intensity = e.intensities.get(name.removeprefix("signal:"))
            terms.add_row(name, f"{value:+.4f}", "" if intensity is None else f"{intensity:.4f}")
    console.print(terms)
    top = Table("top signal", "at", "value", "decayed", "logit")
    for t in e.top_signals:
        top.add_row(
            t.type, f"{t.occurred_at:%Y-%m-%d %H:%M}", f"{t.value:g}", f"{t.decayed:.4f}",
            f"{t.logit:+.4f}",
        )  # fmt: skip
    console.print(top)

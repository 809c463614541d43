"""`dtem simulate`: static territories vs DTEM on a simulated market, with intervals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dtem.entrypoints.cli.common import (
    JsonOption,
    console,
    err_console,
    handle_errors,
    print_json,
    styled,
)

if TYPE_CHECKING:  # the simulator (SQLAlchemy, solvers, Plotly) loads inside the command
    from dtem.simulator.compare import Comparison, Sensitivity, Task
    from dtem.simulator.params import MarketParams


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


@handle_errors
def simulate(
    accounts: Annotated[int, typer.Option(min=50, help="Accounts in the market.")] = 1200,
    reps: Annotated[int, typer.Option(min=1, help="Reps (patches under static).")] = 12,
    days: Annotated[int, typer.Option(min=7, help="Days simulated.")] = 182,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds (markets) to pair over.")] = 4,
    ablations: Annotated[
        bool,
        typer.Option(
            "--ablations",
            help="Also run DTEM without agents, without "
            "revocation, with greedy instead of the optimiser, and with a fixed λ.",
        ),
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Folder for report.html and result.json.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=8, help="Worker processes.")] = 2,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity",
            help="Also rerun with each assumption halved and doubled and show how DTEM's "
            "revenue lift moves (2 × 12 more comparisons: use a small market).",
        ),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Run static territories and DTEM on the same simulated markets and compare them.

    Every DTEM run drives the product's own services (signal pipeline, routing, leases,
    review, rebalance, agent gateway, comp) on its own in-memory SQLite ledger. The
    defaults and their sources are in docs/simulator.md.

    Example:  dtem simulate --accounts 2000 --reps 20 --seeds 5 --ablations --out out/sim
    """
    from dtem.simulator.compare import compare
    from dtem.simulator.dtem_run import ABLATIONS, DTEM
    from dtem.simulator.params import MarketParams
    from dtem.simulator.report import write_report
    from dtem.simulator.summary import to_json

    params = MarketParams(accounts=accounts, reps=reps, days=days)
    if sensitivity:
        _sensitivity(params, seeds, workers, json_out, out)
        return
    variants = (DTEM, *ABLATIONS) if ablations else (DTEM,)
    started = time.monotonic()
    with task_progress(len(variants) * seeds + seeds, quiet=json_out) as tick:
        result = compare(params, list(range(seeds)), variants, workers=workers, on_done=tick)
    seconds = time.monotonic() - started
    if out is not None:
        write_report(result, out / "report.html", seconds)
        (out / "result.json").write_text(_dump(result), encoding="utf-8")
    if json_out:
        print_json(to_json(result) | {"seconds": round(seconds, 1)})
        return
    print_comparison(result, seconds)
    if out is not None:
        console.print(f"report: {out / 'report.html'}")


@contextmanager
def task_progress(total: int, quiet: bool) -> Iterator[Callable[[Task], None] | None]:
    """A progress bar on stderr, one step per finished (policy, seed) run."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        job = bar.add_task("", total=total)
        yield lambda t: bar.update(job, advance=1, description=f"{t.policy} seed {t.seed}")


def print_comparison(c: Comparison, seconds: float) -> None:
    from dtem.simulator.summary import split_rows

    p = c.params
    console.print(
        styled(
            ("Static territories vs DTEM", "bold"),
            f" — {p.accounts:,} accounts, {p.reps} reps, {p.days} days, "
            f"{len(c.seeds)} seeds, {seconds:.0f} s",
        ),
        soft_wrap=True,
    )
    for header, rows in split_rows(c):
        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    lift = c.lift()
    console.print(
        f"revenue lift of DTEM over static: {lift:+.1%} (mean paired difference ÷ "
        "static's mean); differences are means over seeds with 95% t-intervals."
    )


def _sensitivity(
    params: MarketParams, seeds: int, workers: int, json_out: bool, out: Path | None
) -> None:
    from dtem.simulator.compare import sensitivity
    from dtem.simulator.params import SENSITIVE
    from dtem.simulator.summary import sensitivity_json, sensitivity_rows

    started = time.monotonic()
    total = (1 + 2 * len(SENSITIVE)) * 2 * seeds

    def save(base: Comparison, rows: list[Sensitivity]) -> dict[str, object]:
        doc = sensitivity_json(base, rows) | {"seconds": round(time.monotonic() - started, 1)}
        if out is not None:  # written after every row: a long run keeps what it has done
            out.mkdir(parents=True, exist_ok=True)
            (out / "sensitivity.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
        return doc

    with task_progress(total, quiet=json_out) as tick:
        base, rows = sensitivity(
            params, list(range(seeds)), SENSITIVE, workers=workers, on_done=tick, on_row=save
        )
    seconds = time.monotonic() - started
    doc = save(base, rows)
    if json_out:
        print_json(doc)
        return
    header, body = sensitivity_rows(base, rows)
    table = Table(*header, title=f"DTEM's revenue lift over static ({seconds:.0f} s)")
    for row in body:
        table.add_row(*row)
    console.print(table)


def _dump(c: Comparison) -> str:
    from dtem.simulator.summary import to_json

    return json.dumps(to_json(c), indent=2)

"""`dtem demo`: the main job on embedded defaults (SQLite, no server)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dtem.entrypoints.cli.common import (
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
    row_progress,
    styled,
    to_jsonable,
)
from dtem.entrypoints.cli.simulate import print_comparison, task_progress
from dtem.services import governance
from dtem.services.imports.olist import LEADS, import_olist
from dtem.services.summary import FunnelSummary, funnel_summary

DEMO_DB = Path("data/demo.db")
SIM_DB = Path("data/dtem.db")  # where `dtem serve` looks without flags
SIM_MARK = Path("data/.dtem-demo")  # says data/dtem.db is the demo's, safe to recreate
SIM_FALLBACK = Path("data/demo-sim.db")
REPORT = Path("out/demo/report.html")
DemoDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ledger URL to import the sample into. Default: data/demo.db, recreated on "
        "every run ($DTEM_DATABASE_URL is not used, so the demo never adds its sample to "
        "your ledger by accident).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@handle_errors
def demo(
    sample: Annotated[
        Path | None,
        typer.Option(help="Folder with the Olist CSVs (default: examples/olist)."),
    ] = None,
    db: DemoDbOption = None,
    accounts: Annotated[int, typer.Option(min=50, help="Simulated accounts.")] = 1200,
    reps: Annotated[int, typer.Option(min=1, help="Simulated reps.")] = 12,
    days: Annotated[int, typer.Option(min=7, help="Simulated days (two quarters).")] = 182,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds for the intervals.")] = 4,
    json_out: JsonOption = False,
) -> None:
    """The main job: static territories vs DTEM on a simulated market, plus the Olist funnel.

    1. Simulates the same market under static territories and under DTEM (the product's
       own services) over several seeds; prints the comparison with 95% intervals and
       writes out/demo/report.html. The first seed's DTEM ledger is left in data/dtem.db,
       where `dtem serve` looks without flags (unless data/dtem.db is a ledger the demo did
       not write: then data/demo-sim.db, and the demo says so).
    2. Imports the Olist sample into data/demo.db (recreated on every run) unless --db
       names another; $DTEM_DATABASE_URL is ignored. It says where it wrote.

    Example:  dtem demo --json | jq .simulation.revenue_lift
    """
    simulation = _simulate(accounts, reps, days, seeds,
                           json_out)  # fmt: skip
    folder = sample or _sample_dir()
    if db is None:
        _remove_sqlite(DEMO_DB)
    c = open_ledger(db or f"sqlite:///{DEMO_DB}", create=True)
    active = governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    with row_progress(quiet=json_out) as tick:
        import_olist(c.ledger, c.clock, active.policy, c.pipeline, folder, c.settings.actor, tick)
    summary = funnel_summary(c.ledger, active.policy)
    if json_out:
        print_json({"database": c.database} | to_jsonable(summary) | {"simulation": simulation})
    else:
        _print(summary, c.database)


def _simulate(accounts: int, reps: int, days: int, seeds: int, quiet: bool) -> dict[str, object]:
    """Run the comparison, write the report, leave the DTEM ledger for `dtem serve`."""
    from dtem.simulator.compare import compare
    from dtem.simulator.dtem_run import DTEM
    from dtem.simulator.params import MarketParams
    from dtem.simulator.report import write_report
    from dtem.simulator.summary import to_json

    params = MarketParams(accounts=accounts, reps=reps, days=days)
    ledger = _sim_ledger_path()
    started = time.monotonic()
    with task_progress(2 * seeds, quiet=quiet) as tick:
        result = compare(params, list(range(seeds)), (DTEM,), keep_ledger=ledger, on_done=tick)
    seconds = time.monotonic() - started
    write_report(result, REPORT, seconds)
    summary = to_json(result) | {"seconds": round(seconds, 1)}
    (REPORT.parent / "result.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if not quiet:
        print_comparison(result, seconds)
        where = f"report: {REPORT}   DTEM ledger (first seed): {ledger}"
        if ledger != SIM_DB:
            where += f" (serve it: DTEM_DATABASE_URL=sqlite:///{ledger} dtem serve)"
        console.print(where, soft_wrap=True)
        end = params.start + timedelta(days=params.days)
        console.print(
            f"its KPIs from the ledger: dtem kpi --from {(end - timedelta(days=90)).date()} "
            f"--to {end.date()}" + ("" if ledger == SIM_DB else f" --db sqlite:///{ledger}")
        )
        console.print()
    return to_json(result) | {"report": str(REPORT), "ledger": str(ledger)}


def _sim_ledger_path() -> Path:
    """data/dtem.db when it is missing or the demo's own; else a file beside it."""
    if SIM_DB.exists() and not SIM_MARK.exists():
        _remove_sqlite(SIM_FALLBACK)
        return SIM_FALLBACK
    SIM_DB.parent.mkdir(parents=True, exist_ok=True)
    _remove_sqlite(SIM_DB)
    SIM_MARK.write_text("data/dtem.db was written by `dtem demo`; the next demo replaces it\n")
    return SIM_DB


def _sample_dir() -> Path:
    """examples/olist under the working directory, else next to the source tree."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[4]):
        if (base / "examples" / "olist" / LEADS).exists():
            return base / "examples" / "olist"
    raise FileNotFoundError("examples/olist not found; pass --sample DIR")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _print(s: FunnelSummary, url: str) -> None:
    console.print(styled(("Olist funnel", "bold"), f" imported into {url}"), soft_wrap=True)
    console.print(
        f"accounts (leads): {s.accounts:,}   reps: {s.reps:,}   "
        f"won opportunities: {s.won:,} of {s.opportunities:,}"
    )
    if s.median_days_to_won is not None:
        console.print(f"median days from first contact to won: {s.median_days_to_won:g}")
    if s.unattached:
        console.print(
            f"opportunities without an account: {s.unattached:,} "
            f"({s.unattached_open:,} open, amount {s.unattached_amount:,.2f}); "
            "see dtem opportunities unattached"
        )
    by_origin = Table("lead origin", "leads", "won", "conversion", title="By lead origin")
    for origin, leads in s.leads_by_origin.items():
        rate = s.conversion_by_origin[origin]
        by_origin.add_row(origin, f"{leads:,}", str(s.won_by_origin.get(origin, 0)), f"{rate:.1%}")
    console.print(by_origin)
    by_segment = Table("business segment", "won", title="Won deals by segment")
    for segment, won in s.won_by_segment.items():
        by_segment.add_row(segment, str(won))
    console.print(by_segment)

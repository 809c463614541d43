"""`dtem demo`: the main job on embedded defaults (SQLite, no server)."""

from __future__ import annotations

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
from dtem.services import governance
from dtem.services.imports.olist import LEADS, import_olist
from dtem.services.summary import FunnelSummary, funnel_summary

DEMO_DB = Path("data/demo.db")
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
    json_out: JsonOption = False,
) -> None:
    """Import the Olist sample into the demo ledger and summarise the funnel.

    The demo writes its own ledger, data/demo.db (recreated on every run), unless --db names
    another; $DTEM_DATABASE_URL is ignored. It says where it wrote ("database" with --json).

    Example:  dtem demo --json | jq .conversion_by_origin
    """
    folder = sample or _sample_dir()
    if db is None:
        _remove_sqlite(DEMO_DB)
    c = open_ledger(db or f"sqlite:///{DEMO_DB}", create=True)
    active = governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    with row_progress(quiet=json_out) as tick:
        import_olist(c.ledger, c.clock, active.policy, c.pipeline, folder, c.settings.actor, tick)
    summary = funnel_summary(c.ledger, active.policy)
    if json_out:
        print_json({"database": c.database} | to_jsonable(summary))
    else:
        _print(summary, c.database)


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
    by_origin = Table("lead origin", "leads", "won", "conversion", title="By lead origin")
    for origin, leads in s.leads_by_origin.items():
        rate = s.conversion_by_origin[origin]
        by_origin.add_row(origin, f"{leads:,}", str(s.won_by_origin.get(origin, 0)), f"{rate:.1%}")
    console.print(by_origin)
    by_segment = Table("business segment", "won", title="Won deals by segment")
    for segment, won in s.won_by_segment.items():
        by_segment.add_row(segment, str(won))
    console.print(by_segment)

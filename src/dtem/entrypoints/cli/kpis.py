"""KPIs, the TAM audit and the Shark Tank pilot on the command line (docs/kpis.md)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
    styled,
)
from dtem.services import kpis, pilots, tam_audit
from dtem.services.governance import ensure_policy
from dtem.services.kpi_presenters import audit_json, kpi_json, parse_when, window

TOP = 20
pilot_app = typer.Typer(
    help="The Shark Tank pilot: a pod fed only by DTEM routing, against the floor.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command("kpi")(kpi)
    app.command("audit-tam")(audit_tam)
    app.add_typer(pilot_app, name="pilot")


# --- dtem kpi ---------------------------------------------------------------------------
@handle_errors
def kpi(
    start: Annotated[
        str | None, typer.Option("--from", help="First day (default: --to − 90 days).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day after the last (default: now).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every KPI over [--from, --to): the static baseline beside DTEM.

    Facts on an account while it was leased count for DTEM; the rest for the static owners.
    Example:  dtem kpi --from 2027-01-01 --to 2027-04-01 --json
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    since, to = window(start, end, c.clock())
    report = kpis.kpi_report(c.ledger, since, to)
    if json_out:
        print_json(kpi_json(report))
        return
    show_kpis(report)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def show_kpis(report: kpis.KpiReport) -> None:
    title = (
        f"KPIs {report.start:%Y-%m-%d} → {report.end:%Y-%m-%d} (policy v{report.policy_version})"
    )
    table = Table("KPI", "static", "DTEM", "unit", title=title)
    for r in report.rows:
        table.add_row(r.name, _fmt(r.static, r.unit), _fmt(r.dtem, r.unit), r.unit)
    console.print(table)
    decay = Table("first human touch", "static: won/hand-raises", "DTEM: won/hand-raises",
                  title="lead decay")  # fmt: skip
    for s, d in zip(report.lead_decay["static"], report.lead_decay["dtem"], strict=True):
        decay.add_row(s.bucket, f"{s.won}/{s.hand_raises}", f"{d.won}/{d.hand_raises}")
    console.print(decay)
    for side, label in (("static", "static"), ("dtem", "DTEM")):
        reps = sorted(report.velocity_by_rep[side].items(), key=lambda kv: -kv[1])[:5]
        if reps:
            best = ", ".join(f"{rep} {v:,.2f}" for rep, v in reps)
            console.print(f"velocity by rep, {label} (top 5, shrunk): {best}", highlight=False)
    console.print(f"λ (price of capacity) {report.price_of_capacity:,.2f}/h", highlight=False)


# --- dtem audit-tam ---------------------------------------------------------------------
AUDIT_FIELDS = ("account", "name", "tier", "tier_reason", "score", "static_owner", "leased_to",
                "last_human_touch", "do_not_contact", "phantom", "dead_zone")  # fmt: skip


@handle_errors
def audit_tam(
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every account to this CSV file.")
    ] = None,
    top: Annotated[int, typer.Option(help="How many top accounts to list.", min=1)] = TOP,
    at: Annotated[str | None, typer.Option("--at", help="As of this day (default: now).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """The Phase-1 TAM audit: tiers and why, phantom equity, dead zones, the top accounts.

    Scores, leases and touches are taken as they were at --at.
    Example:  dtem audit-tam --csv tam.csv
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    when = parse_when(at, "--at") if at else c.clock()
    audit = tam_audit.tam_audit(c.ledger, when)
    if csv_file is not None:
        write_audit_csv(audit, csv_file)
    if json_out:
        print_json(audit_json(audit, top))
        return
    show_audit(audit, top)
    if csv_file is not None:
        console.print(f"wrote {len(audit.accounts)} accounts to {csv_file}", highlight=False)


def audit_csv(audit: tam_audit.TamAudit) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_FIELDS)
    for a in audit.accounts:
        row = [getattr(a, f) for f in AUDIT_FIELDS]
        writer.writerow(
            ["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row]
        )
    return out.getvalue()


def write_audit_csv(audit: tam_audit.TamAudit, path: Path) -> None:
    try:
        path.write_text(audit_csv(audit), encoding="utf-8")
    except OSError as exc:
        raise ArgumentInvalid(f"--csv {path}: cannot write it ({exc.strerror or exc})") from None


def show_audit(audit: tam_audit.TamAudit, top: int) -> None:
    tiers = audit.tiers()
    share = f"{audit.phantom / audit.owned:.1%}" if audit.owned else "—"
    console.print(
        f"TAM audit at {audit.at:%Y-%m-%d %H:%M} UTC (policy v{audit.policy_version}): "
        f"{len(audit.accounts)} accounts — tier 1: {tiers[1]}, tier 2: {tiers[2]}, "
        f"tier 3: {tiers[3]}; phantom equity {audit.phantom}/{audit.owned} owned ({share}); "
        f"dead zones {audit.dead_zones} (score ≥ {audit.threshold:g}, nobody works them)",
        highlight=False,
    )
    table = Table(title=f"top {top} accounts by score")
    for column in ("account", "score", "tier", "why", "owner", "leased to", "flags"):
        table.add_column(column, no_wrap=column in ("account", "score", "tier"))
    for a in audit.accounts[:top]:
        flags = ", ".join(f for f, on in (("phantom", a.phantom), ("dead zone", a.dead_zone)) if on)
        score = "—" if a.score is None else f"{a.score:.1f}"
        table.add_row(a.account, score, str(a.tier), a.tier_reason, a.static_owner or "",
                      a.leased_to or "", flags)  # fmt: skip
    console.print(table)


# --- dtem pilot -------------------------------------------------------------------------
@pilot_app.command("create")
@handle_errors
def pilot_create(
    name: Annotated[str, typer.Option("--name", help="The pilot's name (unique).")],
    reps: Annotated[str, typer.Option("--reps", help="Pod reps' external ids, comma-separated.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Start a pilot: from now on routing feeds only these reps; the rest keep their owners.

    Example:  dtem pilot create --name tank-1 --reps R-001,R-002,R-003
    """
    c = open_ledger(db)
    view = pilots.create_pilot(c.ledger, c.clock, name, reps.split(","), c.settings.actor)
    if json_out:
        print_json(view)
        return
    started = f" started {view.started_at:%Y-%m-%d %H:%M} UTC; pod: {', '.join(view.reps)}"
    console.print(styled("pilot ", (view.name, "bold"), started), highlight=False)


@pilot_app.command("end")
@handle_errors
def pilot_end(
    name: Annotated[str, typer.Argument(help="The pilot's name.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """End a pilot: routing feeds every rep again.

    Example:  dtem pilot end tank-1
    """
    c = open_ledger(db)
    view = pilots.end_pilot(c.ledger, c.clock, name, c.settings.actor)
    if json_out:
        print_json(view)
        return
    console.print(f"pilot {view.name} ended {view.ended_at:%Y-%m-%d %H:%M} UTC", highlight=False)


@pilot_app.command("list")
@handle_errors
def pilot_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Every pilot, running or ended.

    Example:  dtem pilot list --json
    """
    c = open_ledger(db)
    views = pilots.list_pilots(c.ledger)
    if json_out:
        print_json(views)
        return
    table = Table("pilot", "pod", "started", "ended")
    for v in views:
        ended = f"{v.ended_at:%Y-%m-%d}" if v.ended_at else "running"
        table.add_row(v.name, ", ".join(v.reps), f"{v.started_at:%Y-%m-%d}", ended)
    console.print(table)


@pilot_app.command("report")
@handle_errors
def pilot_report(
    name: Annotated[str, typer.Argument(help="The pilot's name.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """The pod against the floor since the pilot started: velocity, win rate, cycle length,
    each with the difference and a bootstrap 95% interval.

    Example:  dtem pilot report tank-1 --json
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    report = pilots.pilot_report(c.ledger, c.clock, name)
    if json_out:
        print_json(report)
        return
    p = report.pilot
    console.print(
        f"pilot {p.name} ({', '.join(p.reps)}): {p.started_at:%Y-%m-%d} → {report.until:%Y-%m-%d}; "
        f"leases granted: pod {report.pod_leases}, floor {report.floor_leases}",
        highlight=False,
    )
    table = Table("metric", "pod", "floor", "pod − floor", "95% interval", "deals (pod/floor)")
    for m in report.comparisons:
        unit = "days" if m.metric == "cycle days" else "share" if m.metric == "win rate" else ""
        interval = "—" if m.low is None else f"[{_fmt(m.low, unit)}, {_fmt(m.high, unit)}]"
        table.add_row(m.metric, _fmt(m.pod, unit), _fmt(m.floor, unit), _fmt(m.difference, unit),
                      interval, f"{m.pod_deals}/{m.floor_deals}")  # fmt: skip
    console.print(table)

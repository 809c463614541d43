"""The market maker on the command line: route, review, leases, overflow, rep availability."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.progress import Progress as RichProgress
from rich.table import Table

from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
    styled,
    to_jsonable,
)
from dtem.services import availability, directory, leases, review, routing
from dtem.services.governance import ensure_policy
from dtem.services.retention import RetentionSweep

lease_app = typer.Typer(help="List, show, release and reassign leases.", no_args_is_help=True)
overflow_app = typer.Typer(help="Accounts no rep could take (retried daily).", no_args_is_help=True)
reps_app = typer.Typer(help="Rep settings managed in DTEM.", no_args_is_help=True)
availability_app = typer.Typer(help="Leave windows: no routing to a rep on leave.")


def register(app: typer.Typer) -> None:
    app.command("route")(route)
    app.command("review")(run_review)
    app.add_typer(lease_app, name="lease")
    app.add_typer(overflow_app, name="overflow")
    reps_app.add_typer(availability_app, name="availability", no_args_is_help=True)
    app.add_typer(reps_app, name="reps")


@handle_errors
def route(
    account: Annotated[str, typer.Argument(help="Account external id.")],
    trigger: Annotated[str, typer.Option(help="Why: manual, hand_raise, crossed_up…")] = "manual",
    explain: Annotated[bool, typer.Option(help="Show candidates and exclusions.")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Route one account now: lease it to the best eligible rep, or say why not.

    Example:  dtem route ACME-001 --trigger hand_raise --explain
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    res = routing.route(c.ledger, c.clock, account, trigger, c.settings.actor)
    if json_out:
        print_json(res)
        return
    who = f" → {res.rep} (lease #{res.lease.id})" if res.lease else ""
    console.print(styled((res.account, "bold"), f": {res.outcome}{who}"), highlight=False)
    console.print(f"  {res.reason}  (policy v{res.policy_version})", highlight=False)
    if explain:
        _print_explanation(res.candidates, res.exclusions)


def _print_explanation(candidates: list[dict[str, Any]], exclusions: dict[str, str]) -> None:
    table = Table("rank", "rep", "EV", "q", "free capacity", title="top candidates")
    for i, cand in enumerate(candidates, 1):
        table.add_row(
            str(i),
            cand["rep"],
            f"{cand['ev']:,.0f}",
            f"{cand['q']:.3f}",
            str(cand["free_capacity"]),
        )
    console.print(table)
    if exclusions:
        excluded = Table("rep", "excluded because", title="excluded reps")
        for rep, why in sorted(exclusions.items()):
            excluded.add_row(rep, why)
        console.print(excluded)


@handle_errors
def run_review(
    on: Annotated[
        datetime | None, typer.Option("--date", help="Review date (default today, UTC).")
    ] = None,
    rebalance: Annotated[
        bool, typer.Option(help="Then solve the whole assignment (services.rebalance).")
    ] = False,
    move_leases: Annotated[
        bool, typer.Option("--move-leases", help="With --rebalance: also move active leases.")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Run the daily review: expiries, re-routing, overflow retries, new triggers.

    Idempotent for a date: running it twice leaves the ledger as the first run did.
    Example:  dtem review --date 2027-01-05 --json
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    day: date | None = on.date() if on else None
    if json_out:
        report = review.run_review(c.ledger, c.clock, day, c.settings.actor)
    else:
        report = _review_with_progress(c, day)
    out: dict[str, Any] = {"review": report}
    if rebalance:
        from dtem.services import rebalance as rb

        out["rebalance"] = rb.rebalance(c.ledger, c.clock, move_leases=move_leases)
    if json_out:
        print_json(out)
        return
    console.print(
        f"review {report.date} (at {report.at:%H:%M} UTC, policy v{report.policy_version}, "
        f"λ {report.lambda_hourly:.2f}/h): {report.revoked} revoked, "
        f"{report.expired_to_pool} back to the pool, {report.overflow_retried} overflow "
        f"retried, {report.triggers_consumed} triggers; outcomes {report.outcomes or '{}'}"
        + (
            f"; {report.conflicts_retried} leases read again (moved during the review)"
            if report.conflicts_retried
            else ""
        )
        + _retention_line(report.retention),
        highlight=False,
    )
    if report.lambda_before:
        console.print(
            f"λ {report.lambda_before:.2f} → {report.lambda_hourly:.2f}/h at utilisation "
            f"{report.utilisation:.0%}: threshold in force {report.threshold_in_force:.1f}"
            + (
                f"; {report.lowered_routed} accounts routed under the lowered bar"
                if report.lowered_routed
                else ""
            ),
            highlight=False,
        )
    if rebalance:
        from dtem.entrypoints.cli.optim import show_rebalance

        show_rebalance(out["rebalance"], json_out=False)


def _retention_line(swept: RetentionSweep) -> str:
    """`; retention: 412 signals deleted (bombora 400, website 12), 57 accounts rescored`"""
    if not swept.signals:
        return ""
    per = ", ".join(f"{source} {n}" for source, n in sorted(swept.deleted.items()))
    return (
        f"; retention: {swept.signals} signals deleted ({per}), "
        f"{swept.accounts_rescored} accounts rescored"
    )


def _review_with_progress(c: Any, day: date | None) -> review.ReviewReport:
    with RichProgress(console=err_console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done)

        return review.run_review(c.ledger, c.clock, day, c.settings.actor, progress)


# --- leases -----------------------------------------------------------------------------
@lease_app.command("list")
@handle_errors
def lease_list(
    rep: Annotated[str | None, typer.Option(help="Only this rep's leases.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include ended leases.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List leases (active ones by default).  Example:  dtem lease list --rep R-007 --json"""
    c = open_ledger(db)
    views = leases.list_leases(c.ledger, rep, not all_, limit)
    if json_out:
        print_json([_lease_json(v) for v in views])
        return
    table = Table("id", "account", "rep", "state", "granted", "expires", "score")
    for v in views:
        x = v.lease
        table.add_row(
            str(x.id),
            v.account,
            v.rep,
            x.state.value,
            f"{x.granted_at:%Y-%m-%d}",
            f"{x.expires_at:%Y-%m-%d}",
            f"{x.score_at_grant:.1f}",
        )
    console.print(table)


@lease_app.command("show")
@handle_errors
def lease_show(
    lease_id: Annotated[int, typer.Argument(help="Lease id.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show a lease and every transition.  Example:  dtem lease show 12"""
    c = open_ledger(db)
    view = leases.show_lease(c.ledger, lease_id)
    if json_out:
        print_json(_lease_json(view) | {"events": view.events})
        return
    x = view.lease
    console.print(
        styled(
            (f"lease #{x.id}", "bold"),
            f" {view.account} → {view.rep}: {x.state.value} (version {x.version}), "
            f"expires {x.expires_at:%Y-%m-%d %H:%M}, score at grant {x.score_at_grant:.1f}",
        ),
        highlight=False,
    )
    table = Table("v", "at", "event", "actor", "reason")
    for e in view.events:
        table.add_row(str(e.seq), f"{e.at:%Y-%m-%d %H:%M}", e.kind, e.actor, e.reason)
    console.print(table)


@lease_app.command("release")
@handle_errors
def lease_release(
    lease_id: Annotated[int, typer.Argument(help="Lease id.")],
    reason: Annotated[str, typer.Option(help="Why it is given back.")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Give a lease back early (the account returns to the market).

    Example:  dtem lease release 12 --reason "no budget this year"
    """
    c = open_ledger(db)
    lease = leases.release_lease(c.ledger, c.clock, lease_id, c.settings.actor, reason)
    if json_out:
        print_json(lease)
    else:
        console.print(f"lease #{lease.id} released")


@lease_app.command("reassign")
@handle_errors
def lease_reassign(
    lease_id: Annotated[int, typer.Argument(help="Lease id.")],
    to: Annotated[str, typer.Option("--to", help="External id of the new rep.")],
    reason: Annotated[str, typer.Option(help="Why (required; audited).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Move a lease to another rep (a manager's decision, with a reason).

    Example:  dtem lease reassign 12 --to R-009 --reason "language: German"
    """
    c = open_ledger(db)
    new = leases.reassign_lease(c.ledger, c.clock, lease_id, to, reason, c.settings.actor)
    if json_out:
        print_json(new)
    else:
        console.print(f"lease #{lease_id} reassigned to {to} as lease #{new.id}")


def _lease_json(v: leases.LeaseView) -> dict[str, Any]:
    lease: dict[str, Any] = to_jsonable(v.lease)
    return {"account": v.account, "rep": v.rep, **lease}


# --- overflow and availability -----------------------------------------------------------
@overflow_app.command("list")
@handle_errors
def overflow_list(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved entries.")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Accounts waiting for a rep, with the reason.  Example:  dtem overflow list --json"""
    c = open_ledger(db)
    entries = routing.overflow(c.ledger, open_only=not all_)
    if json_out:
        print_json(entries)
        return
    table = Table("id", "account", "queued", "reason", "resolved")
    for e in entries:
        resolved = f"{e['resolution']} {e['resolved_at']:%Y-%m-%d}" if e["resolved_at"] else ""
        table.add_row(
            str(e["id"]), e["account"], f"{e['queued_at']:%Y-%m-%d %H:%M}", e["reason"], resolved
        )
    console.print(table)


@availability_app.command("add")
@handle_errors
def availability_add(
    rep: Annotated[str, typer.Argument(help="Rep external id.")],
    start: Annotated[datetime, typer.Option("--from", help="First day away (UTC).")],
    end: Annotated[datetime, typer.Option("--to", help="First day back (UTC).")],
    reason: Annotated[str, typer.Option(help="Leave, training…")] = "leave",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Record a leave window: the rep gets no new leases from --from until --to.

    Example:  dtem reps availability add R-007 --from 2027-02-01 --to 2027-02-15
    """
    c = open_ledger(db)
    window = availability.add_leave(
        c.ledger, c.clock, rep, _utc(start), _utc(end), reason, c.settings.actor
    )
    if json_out:
        print_json(window)
    else:
        console.print(f"{rep} away {window.starts_at:%Y-%m-%d} → {window.ends_at:%Y-%m-%d}")


@reps_app.command("list")
@handle_errors
def reps_list(
    manager: Annotated[str | None, typer.Option(help="Only this manager's reps.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """The reps: capacity, manager, team, region.  Example:  dtem reps list --team Enterprise"""
    c = open_ledger(db)
    reps = directory.list_reps(c.ledger, manager=manager, team=team, region=region)
    if json_out:
        print_json(reps)
        return
    table = Table("rep", "name", "manager", "team", "region", "pod", "capacity", "active")
    for r in reps:
        table.add_row(
            r.external_id, r.name, r.manager or "", r.team or "", r.region or "", r.pod or "",
            str(r.capacity), "yes" if r.active else "no",
        )  # fmt: skip
    console.print(table)


@availability_app.command("list")
@handle_errors
def availability_list(
    rep: Annotated[str | None, typer.Argument(help="Rep external id (default: all).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List leave windows.  Example:  dtem reps availability list R-007"""
    c = open_ledger(db)
    windows = availability.leaves(c.ledger, rep)
    if json_out:
        print_json(windows)
        return
    table = Table("id", "rep id", "from", "to", "reason")
    for w in windows:
        table.add_row(
            str(w.id), str(w.rep_id), f"{w.starts_at:%Y-%m-%d}", f"{w.ends_at:%Y-%m-%d}", w.reason
        )
    console.print(table)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)

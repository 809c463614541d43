"""`dtem policy`: show, list, schema, store, diff, activate and roll back policy versions."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid, PolicyInvalid
from dtem.domain.policy import NOT_USED_YET
from dtem.domain.ports import PolicySchedule
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
    read_mapping,
)
from dtem.services import capacity_rate, governance
from dtem.services.policy_schema import policy_schema
from dtem.services.preview import Preview, preview_policy

policy_app = typer.Typer(
    help=(
        "Policy versions: show, schema, store (full or partial), diff, preview, activate, roll\n"
        "back; the capacity interest rate λ (`dtem policy lambda`).\n\n"
        "Example:  dtem policy store lower-threshold.yaml && dtem policy diff 1 2"
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


@policy_app.command("show")
@handle_errors
def policy_show(
    version: Annotated[int | None, typer.Argument(help="Version (default: active).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Print a policy version (the active one by default); fields no rule reads yet are
    marked "not used yet" (`unused_fields` in JSON).

    Example:  dtem policy show --json | jq .policy.threshold
    """
    c = open_ledger(db)
    active = governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    with c.ledger.transaction() as tx:
        v = version or active.version
        doc = tx.policy_document(v)
    unused = [key for key in NOT_USED_YET if key in doc]
    if json_out:
        print_json(
            {"version": v, "active": v == active.version, "policy": doc, "unused_fields": unused}
        )
        return
    title = f"policy v{v}" + (" (active)" if v == active.version else "")
    table = Table("field", "value", "note", title=title)
    for key, value in doc.items():
        table.add_row(key, json.dumps(value), "not used yet" if key in unused else "")
    console.print(table)


@policy_app.command("list")
@handle_errors
def policy_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List stored policy versions.  Example:  dtem policy list"""
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    versions = governance.list_policies(c.ledger)
    if json_out:
        print_json(versions)
        return
    table = Table("version", "active", "created", "by", "note")
    for v in versions:
        table.add_row(
            str(v.version),
            "*" if v.active else "",
            f"{v.created_at:%Y-%m-%d %H:%M}",
            v.created_by,
            v.note,
        )
    console.print(table)


@policy_app.command("store")
@handle_errors
def policy_store(
    file: Annotated[Path, typer.Argument(help="JSON or YAML policy document.", exists=True)],
    note: Annotated[str, typer.Option(help="Why this version exists.")] = "",
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="The file is the whole policy: what it leaves out takes the default."
        ),
    ] = False,
    base: Annotated[
        int | None, typer.Option(help="Merge onto this version instead of the active one.")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Validate and store a new policy version (not activated).

    The file is a partial document merged onto the active policy (or --base N) field by
    field, at every depth: `signal_types: {hand_raise: {weight: 8}}` changes one weight
    and keeps the rest; `null` resets a field to its default or removes a mapping entry
    (JSON Merge Patch, RFC 7396). Every problem is listed at once (exit 6).

    Example:  dtem policy store policy.yaml --note "threshold 65"
    """
    doc = read_mapping(file, "a policy document", lambda problem: PolicyInvalid([problem]))
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    version = governance.store_policy(
        c.ledger, doc, c.clock, c.settings.actor, note, merge=not replace, base=base
    )
    if json_out:
        print_json({"version": version})
    else:
        console.print(f"stored policy v{version}; activate it with: dtem policy activate {version}")


@policy_app.command("activate")
@handle_errors
def policy_activate(
    version: Annotated[int, typer.Argument(help="Stored version to make active.")],
    force: Annotated[
        bool, typer.Option("--force", help="Activate a trained version the gate refused.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why --force (audited).")] = "",
    at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"],
            help="Activate at this future instant instead of now (ISO 8601 with a zone, "
            "e.g. 2027-02-01T06:00:00+00:00).",
        ),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Make a stored version the active policy (audited), now or --at a future instant.

    A version `dtem train` stored must pass its holdout gate (it beats the best
    baseline, no leakage warning, a positive calibration slope, enough rows to judge);
    otherwise this exits 6 with the reasons, unless --force --reason TEXT. A scheduled
    version is activated by the first review, worker, command or API call at or after
    --at (its gate is checked then; a refusal is audited, never forced); `dtem policy
    scheduled` lists and cancels schedules.

    Example:  dtem policy activate 2 --at 2027-02-01T06:00:00+00:00
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    if at is not None:
        if force:
            raise ArgumentInvalid("--force applies now only: activate without --at to force")
        sched = governance.schedule_activation(c.ledger, version, at, c.clock, c.settings.actor)
        if json_out:
            print_json(_schedule_dict(sched))
        else:
            console.print(
                f"policy v{version} will be activated at {sched.at.isoformat()} "
                f"(schedule {sched.id}; cancel with: dtem policy scheduled --cancel {sched.id})"
            )
        return
    active = governance.activate_policy(
        c.ledger, version, c.clock, c.settings.actor, force=force, reason=reason
    )
    if json_out:
        print_json({"active_version": active.version})
    else:
        console.print(f"policy v{active.version} is now active")


@policy_app.command("scheduled")
@handle_errors
def policy_scheduled(
    cancel: Annotated[int | None, typer.Option(help="Cancel this pending schedule.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Pending scheduled activations (`dtem policy activate N --at TS`), soonest first;
    --cancel ID cancels one (audited).

    Example:  dtem policy scheduled --cancel 1
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    if cancel is not None:
        governance.cancel_schedule(c.ledger, cancel, c.clock, c.settings.actor)
        if not json_out:
            console.print(f"schedule {cancel} cancelled")
    pending = governance.pending_schedules(c.ledger)
    if json_out:
        print_json({"scheduled": [_schedule_dict(x) for x in pending]})
        return
    if not pending:
        console.print("no scheduled activation")
        return
    table = Table("schedule", "version", "at", "by", title="scheduled activations")
    for x in pending:
        table.add_row(str(x.id), f"v{x.version}", x.at.isoformat(), x.actor)
    console.print(table)


def _schedule_dict(x: PolicySchedule) -> dict[str, object]:
    return {
        "id": x.id, "version": x.version, "at": x.at.isoformat(), "actor": x.actor,
        "created_at": x.created_at.isoformat(), "outcome": x.outcome,
    }  # fmt: skip


@policy_app.command("schema")
@handle_errors
def policy_schema_cmd() -> None:
    """Print the JSON Schema (draft 2020-12) of a policy document.

    Example:  dtem policy schema > policy.schema.json
    """
    print_json(policy_schema())


@policy_app.command("diff")
@handle_errors
def policy_diff(
    a: Annotated[int, typer.Argument(help="From this version.")],
    b: Annotated[int | None, typer.Argument(help="To this version (default: active).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every field that differs between two versions, nested fields by dotted path.

    Example:  dtem policy diff 3 4
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    diff = governance.diff_policies(c.ledger, a, b)
    if json_out:
        print_json(diff.to_dict())
        return
    if not diff.changes:
        console.print(f"policy v{diff.a} and v{diff.b} are the same")
        return
    table = Table("field", f"v{diff.a}", f"v{diff.b}", title=f"policy v{diff.a} → v{diff.b}")
    for change in diff.changes:
        table.add_row(change.path, _cell(change.before), _cell(change.after))
    console.print(table)


@policy_app.command("rollback")
@handle_errors
def policy_rollback(
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    to: Annotated[
        int | None, typer.Option(help="Roll back to this earlier active version.")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Activate again the version in force before the current one (or --to N), as a new
    version: history is never rewritten. Audited with the reason.

    Example:  dtem policy rollback --reason "threshold 55 flooded the reps"
    """
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    active = governance.rollback_policy(c.ledger, c.clock, c.settings.actor, reason, to)
    if json_out:
        print_json({"active_version": active.version})
    else:
        console.print(f"rolled back: policy v{active.version} is now active")


@policy_app.command("preview")
@handle_errors
def policy_preview(
    version: Annotated[int, typer.Argument(help="Stored version to compare with the active one.")],
    examples: Annotated[int, typer.Option(help="Accounts shown per crossing direction.")] = 10,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """What activating a version would change now, writing nothing: threshold crossings up
    and down, tier changes, each rep's load before and after, the expected commission on
    the hot pool, and the price of capacity λ.

    Example:  dtem policy store lower.yaml && dtem policy preview 2
    """
    from dtem.bootstrap import batch_scorer  # loads the batch engine: not at start-up

    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    with console.status("scoring every account under both policies"):
        p = preview_policy(c.ledger, version, batch_scorer("duckdb"), c.clock, examples)
    if json_out:
        print_json(p.to_dict())
        return
    _print_preview(p)


def _print_preview(p: Preview) -> None:
    console.print(
        f"policy v{p.version} against active v{p.active_version}: {p.accounts:,} accounts "
        f"scored as of {p.as_of:%Y-%m-%d %H:%M} UTC in {p.seconds:.1f} s (nothing written)"
    )
    console.print(
        f"hot accounts {p.hot_before:,} → {p.hot_after:,}: {p.crossed_up:,} would cross up, "
        f"{p.crossed_down:,} down"
    )
    for title, rows in (("would cross up", p.examples_up), ("would cross down", p.examples_down)):
        if rows:
            table = Table("account", "score now", "score then", title=title)
            for x in rows:
                table.add_row(x.account, f"{x.before:.1f}", f"{x.after:.1f}")
            console.print(table)
    changes = ", ".join(f"{k}: {v:,}" for k, v in p.tier_changes.items()) or "none"
    console.print(f"tier changes: {changes}")
    table = Table("rep", "capacity", "load now", "load then", title="rep load (projected)")
    for r in p.reps:
        cap = (
            str(r.capacity_after)
            if r.capacity_after == r.capacity_before
            else (f"{r.capacity_before} → {r.capacity_after}")
        )
        table.add_row(r.rep, cap, str(r.load_before), str(r.load_after))
    if p.reps:
        console.print(table)
    console.print(
        f"overflow (no rep with room): {p.overflow:,}; utilisation "
        f"{p.utilisation_before:.0%} → {p.utilisation_after:.0%}"
    )
    console.print(
        f"expected commission on the hot pool: {p.commission_before:,.2f} → "
        f"{p.commission_after:,.2f} ({p.commission_after - p.commission_before:+,.2f})"
    )
    console.print(
        f"price of capacity λ: {p.lambda_before:g} → {p.lambda_after:g}; the λ controller's "
        f"step at the projected utilisation: {p.lambda_controller_step:.2f}"
    )


def _cell(value: object) -> str:
    return "(absent)" if value is None else json.dumps(value)


@policy_app.command("lambda")
@handle_errors
def policy_lambda(
    limit: Annotated[int, typer.Option(min=1, help="Latest steps shown.")] = 30,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """The capacity interest rate λ: each daily review's step (λ ← λ × exp(k × (U − U*))
    within the policy's bounds), the utilisation U it read, the threshold in force it gave,
    and pipeline bloat (open pipeline on leased accounts ÷ (capacity × mean won deal)).

    Example:  dtem policy lambda --limit 7 --json | jq '.steps[-1].threshold_in_force'
    """
    c = open_ledger(db)
    active = governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    steps = capacity_rate.lambda_history(c.ledger, limit)
    if json_out:
        print_json(
            {
                "active_version": active.version,
                "lambda_ratio": active.lambda_ratio,
                "threshold": active.stored.threshold,
                "threshold_in_force": active.policy.threshold,
                "steps": [capacity_rate.step_to_dict(s) for s in steps],
            }
        )
        return
    console.print(
        f"policy v{active.version}: threshold {active.stored.threshold:g}, in force "
        f"{active.policy.threshold:.1f} (λ at {active.lambda_ratio:.2f}× the policy's)"
    )
    if not steps:
        console.print("no review has stepped λ yet (`dtem review` does, once a day)")
        return
    table = Table(
        "date", "U", "λ before", "λ after", "threshold in force", "leases / capacity",
        "pipeline bloat", title="λ steps, oldest first",
    )  # fmt: skip
    for s in steps:
        bloat = "—" if s.pipeline_bloat is None else f"{s.pipeline_bloat:.2f}"
        table.add_row(
            s.on.isoformat(), f"{s.utilisation:.0%}", f"{s.lambda_before:,.2f}",
            f"{s.lambda_after:,.2f}", f"{s.threshold_in_force:.1f}",
            f"{s.active_leases:,} / {s.capacity:,}", bloat,
        )  # fmt: skip
    console.print(table)

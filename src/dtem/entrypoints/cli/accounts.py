"""`dtem accounts`: look accounts up (tier and why, contact, lease) and set tier or contact."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import accounts
from dtem.services.governance import ensure_policy

accounts_app = typer.Typer(
    help="Accounts: show one, list them, set a tier or do-not-contact.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")


@accounts_app.command("show")
@handle_errors
def show(
    account: Annotated[str, typer.Argument(help="The account's external id.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """One account: tier and why, do-not-contact, score, lease and what routed it.

    Example:  dtem accounts show ACME-001 --json
    """
    c = open_ledger(db)
    view = accounts.show_account(c.ledger, c.clock, account)
    if json_out:
        print_json(accounts.account_json(view))
        return
    for line in account_lines(view):
        console.print(line, highlight=False)


def account_lines(v: accounts.AccountView) -> list[str]:
    """The lines `accounts show` prints (and `dtem explain` under the score)."""
    a = v.account
    lines = [
        f"{a.external_id}  {a.name}",
        f"tier {int(v.tier.tier)}: {v.tier.reason}"
        + (f" (policy v{v.tier.policy_version})" if v.tier.policy_version else ""),
        "do-not-contact: yes — no rep or agent is given it" if a.do_not_contact else
        "do-not-contact: no",
    ]  # fmt: skip
    if v.score is not None and v.scored_at is not None:
        lines.append(f"score {v.score:.1f} (as of {v.scored_at:%Y-%m-%d %H:%M} UTC)")
    if v.lease is not None:
        lines.append(
            f"lease #{v.lease.id} to {v.lease_rep} ({v.lease.state.value}, granted "
            f"{v.lease.granted_at:%Y-%m-%d %H:%M} UTC)"
        )
    if v.routed is not None:
        lines.append(v.routed.sentence)
    if v.claimed_by:
        lines.append(f"claimed by agent {v.claimed_by}")
    return lines


@accounts_app.command("list")
@handle_errors
def list_(
    tier: Annotated[int | None, typer.Option(min=1, max=3, help="Only this tier.")] = None,
    dnc: Annotated[
        bool | None, typer.Option("--dnc/--contactable", help="Only do-not-contact (or not).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Accounts by external id with their tier and reason.

    Example:  dtem accounts list --tier 1 --limit 20
    """
    c = open_ledger(db)
    rows = accounts.list_accounts(c.ledger, tier, dnc, limit)
    if json_out:
        print_json(
            [
                {
                    "account": r.account.external_id,
                    "name": r.account.name,
                    "do_not_contact": r.account.do_not_contact,
                    **(accounts.tier_json(r.tier) if r.tier else {"tier": None}),
                }
                for r in rows
            ]
        )
        return
    table = Table("account", "name", "tier", "reason", "do-not-contact")
    for r in rows:
        tier_text = str(int(r.tier.tier)) if r.tier else "-"
        reason = r.tier.reason if r.tier else "not computed yet"
        dnc_text = "yes" if r.account.do_not_contact else ""
        table.add_row(r.account.external_id, r.account.name, tier_text, reason, dnc_text)
    console.print(table)


@accounts_app.command("tier")
@handle_errors
def set_tier(
    account: Annotated[str, typer.Argument(help="The account's external id.")],
    set_: Annotated[str, typer.Option("--set", help="1, 2, 3, or auto (the policy decides).")],
    note: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Name an account's tier (1 = strategic, human only) or give it back to the rules.

    Example:  dtem accounts tier ACME-001 --set 1 --note "board-level relationship"
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    stored = accounts.set_tier(c.ledger, c.clock, account, set_, c.settings.actor, note)
    if json_out:
        print_json({"account": account, **accounts.tier_json(stored)})
        return
    console.print(f"{account}: tier {int(stored.tier)} — {stored.reason}", highlight=False)


@accounts_app.command("dnc")
@handle_errors
def do_not_contact(
    account: Annotated[str, typer.Argument(help="The account's external id.")],
    on: Annotated[bool, typer.Option("--on/--off", help="Do not contact it (or allow again).")],
    note: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Mark an account do-not-contact (no rep or agent is given it) or clear the mark.

    Example:  dtem accounts dnc ACME-001 --on --note "asked to be left alone"
    """
    c = open_ledger(db)
    stored = accounts.set_do_not_contact(c.ledger, c.clock, account, on, c.settings.actor, note)
    if json_out:
        print_json({"account": account, "do_not_contact": stored.do_not_contact})
        return
    state = "do-not-contact" if stored.do_not_contact else "contactable again"
    console.print(f"{account}: {state}", highlight=False)

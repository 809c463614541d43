"""`dtem opportunities …`: pipeline waiting for its account, and attaching it."""

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
from dtem.services.governance import ensure_policy
from dtem.services.imports.unattached import attach_opportunity, list_unattached

opportunities_app = typer.Typer(
    help="Opportunities: the pipeline waiting for its account.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(opportunities_app, name="opportunities")


@opportunities_app.command("unattached")
@handle_errors
def unattached(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Opportunities stored without an account (they attach when it is imported).

    Example:  dtem opportunities unattached --json
    """
    c = open_ledger(db)
    waiting = list_unattached(c.ledger)
    if json_out:
        print_json(waiting)
        return
    if not waiting:
        console.print("no opportunity is waiting for its account")
        return
    title = f"{len(waiting)} opportunit{'y' if len(waiting) == 1 else 'ies'} without an account"
    table = Table(title=title)
    table.add_column("opportunity", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("product", min_width=10)
    table.add_column("close", no_wrap=True)
    table.add_column("named by", overflow="fold", min_width=12)
    for w in waiting:
        named = f"{w.key_kind} {w.account_key}" if w.key_kind else "(nothing)"
        amount = f"{w.amount:,.2f}" if w.amount is not None else ""
        table.add_row(w.opportunity, w.stage, amount, w.product or "", w.close_date or "", named)
    console.print(table)
    console.print("attach one: dtem opportunities attach OPP --account ACCOUNT", soft_wrap=True)


@opportunities_app.command("attach")
@handle_errors
def attach(
    opportunity: Annotated[str, typer.Argument(help="The opportunity's external id.")],
    account: Annotated[
        str, typer.Option("--account", help="The account: external id, domain or exact name.")
    ],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Attach an opportunity to its account (audited).

    Example:  dtem opportunities attach 0065g00000XyZ9 --account acme.com
    """
    c = open_ledger(db)
    ensure_policy(c.ledger, c.clock, c.settings.actor)
    opp = attach_opportunity(c.ledger, c.clock, opportunity, account, c.settings.actor)
    if json_out:
        print_json({"opportunity": opp.external_id, "account": opp.account_external_id})
        return
    console.print(f"opportunity {opp.external_id} → account {opp.account_external_id}")

"""Privacy commands: erase a person's data on request (GDPR Art. 17)."""

from __future__ import annotations

from typing import Annotated

import typer

from dtem.domain.privacy import Person
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import privacy

privacy_app = typer.Typer(help="Erase a person's data on request.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


@privacy_app.command("erase")
@handle_errors
def erase(
    email: Annotated[str | None, typer.Option(help="The person's email address.")] = None,
    user_id: Annotated[str | None, typer.Option(help="The person's tracked user id.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Delete every signal and identity link naming a person, re-score what they moved.

    Give exactly one of --email and --user-id. The audit entry names the request by its
    printed request id only; keep that id with the request in your own records.

    Example:  dtem privacy erase --email ana@acme.com --json
    """
    person = Person.of(email=email, user_id=user_id)
    c = open_ledger(db)
    report = privacy.erase_person(c.ledger, person, c.clock, c.settings.actor)
    if json_out:
        print_json(report.as_dict())
    else:
        console.print(
            f"erasure {report.request_id}: {report.signals} signals, "
            f"{report.identity_links} identity links deleted; "
            f"{report.accounts_rescored} accounts re-scored"
        )

"""The `dtem` command line: a thin layer over the services, one module per command group."""

from __future__ import annotations

import typer

from dtem.entrypoints.cli import (
    accounts,
    admin,
    agent,
    comp,
    demo,
    imports,
    kpis,
    market,
    notify,
    opportunities,
    optim,
    policy,
    privacy,
    scoring,
    signals,
    simulate,
    training,
    webhooks,
)

app = typer.Typer(
    name="dtem",
    help=(
        "DTEM — the Dynamic Territory Equity Model.\n\n"
        "Keeps the whole market in one ledger, scores every account, and leases hot\n"
        "accounts to the reps who will get the most from them.\n\n"
        "Example:  dtem init && dtem import accounts accounts.csv --mapping salesforce"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)

admin.register(app)
policy.register(app)
imports.register(app)
demo.register(app)
market.register(app)
training.register(app)
signals.register(app)
optim.register(app)
scoring.register(app)
agent.register(app)
comp.register(app)
kpis.register(app)
simulate.register(app)
opportunities.register(app)
accounts.register(app)
privacy.register(app)
webhooks.register(app)
notify.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

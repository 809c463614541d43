"""`dtem agent run --simulate`: a reference agent that drives the gateway over HTTP.

It claims accounts, reports a few touches on each and, now and then, elicits a hand-raise
that hands the account to a human. It writes no email: it shows what an agent runtime
does with `dtem.client`.
"""

from __future__ import annotations

import random
from typing import Annotated

import typer
from rich.table import Table

from dtem.client import AgentClient, GatewayError
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.entrypoints.cli.scoring import parse_time
from dtem.services.agent_cost import agent_cost, agent_cost_json

agent_app = typer.Typer(help="The reference agent of the agent gateway.", no_args_is_help=True)

TOUCHES = ("email_sent", "reply", "call", "objection_handled", "contact_mapped")


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")


@agent_app.command("run")
def run_agent(
    token: Annotated[str, typer.Option(envvar="DTEM_AGENT_TOKEN", help="Token of role agent.")],
    url: Annotated[str, typer.Option(help="The server.")] = "http://127.0.0.1:8000",
    simulate: Annotated[bool, typer.Option("--simulate", help="Simulated outreach.")] = False,
    rounds: Annotated[int, typer.Option(min=1, help="Claim rounds.")] = 3,
    limit: Annotated[int, typer.Option(min=1, help="Accounts per claim.")] = 5,
    hand_raise_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.2,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 7,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Claim, touch and sometimes hand over accounts (only `--simulate` exists today).

    Example:  dtem agent run --simulate --token $DTEM_AGENT_TOKEN --rounds 2
    """
    if not simulate:
        err_console.print("only simulated outreach exists: pass --simulate")
        raise typer.Exit(2)
    rng = random.Random(seed)
    tally: dict[str, int] = {"claimed": 0, "touches": 0, "hand_raises": 0, "leased": 0}
    handed: list[dict[str, object]] = []
    try:
        with AgentClient(url, token) as gateway:
            for _ in range(rounds):
                for claim in gateway.claim(limit):
                    tally["claimed"] += 1
                    for kind in rng.sample(TOUCHES, k=rng.randint(1, 3)):
                        gateway.touch(claim.account, kind)
                        tally["touches"] += 1
                    if rng.random() < hand_raise_rate:
                        got = gateway.hand_raise(claim.account, note="simulated demo request")
                        tally["hand_raises"] += 1
                        tally["leased"] += got.lease_id is not None
                        handed.append(
                            {"account": got.account, "rep": got.rep, "lease": got.lease_id}
                        )
    except GatewayError as exc:
        err_console.print(f"error: {exc}")
        raise typer.Exit(8 if exc.status in (401, 403) else 5 if exc.status == 409 else 1) from exc
    if json_out:
        print_json({**tally, "handed": handed})
        return
    console.print(", ".join(f"{k} {v}" for k, v in tally.items()))
    for h in handed:
        console.print(f"  {h['account']} → rep {h['rep']} (lease {h['lease']})")


@agent_app.command("cost")
@handle_errors
def agent_cost_command(
    from_: Annotated[str, typer.Option("--from", help="Start (ISO date or time, UTC).")],
    to: Annotated[str, typer.Option("--to", help="End, excluded (ISO date or time, UTC).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """What agent touches cost in a period, each at the policy's agent_touch_cost of its day.

    Example:  dtem agent cost --from 2027-01-01 --to 2027-02-01
    """
    start, end = parse_time(from_), parse_time(to)
    assert start is not None and end is not None
    c = open_ledger(db)
    cost = agent_cost(c.ledger, start, end)
    if json_out:
        print_json(agent_cost_json(cost))
        return
    console.print(
        f"{cost.touches} agent touches from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
        f"cost {cost.total}",
        highlight=False,
    )
    table = Table("agent", "touches", "cost")
    for name, spend in cost.by_agent.items():
        table.add_row(name, str(spend.touches), str(spend.cost))
    console.print(table)

"""Administration commands: init, audit, token, serve."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dtem.domain.audit import ChainHead
from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import access, audit, governance

audit_app = typer.Typer(help="Inspect and verify the append-only audit log.", no_args_is_help=True)
token_app = typer.Typer(help="Create and revoke API bearer tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.add_typer(audit_app, name="audit")
    app.add_typer(token_app, name="token")


@handle_errors
def init(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Create or migrate the ledger and activate the default policy. Safe to run twice.

    Example:  dtem init --db postgresql://127.0.0.1/dtem
    """
    c = open_ledger(db, create=True)
    active = governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    url = c.engine.url.render_as_string(hide_password=True)
    if json_out:
        print_json({"database": url, "policy_version": active.version})
    else:
        console.print(f"ledger ready at {url}; active policy v{active.version}")


@handle_errors
def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    webhooks: Annotated[
        bool,
        typer.Option(
            help="Deliver outbound webhooks in the background (one dispatcher per worker); "
            "--no-webhooks leaves it to `dtem webhooks deliver`."
        ),
    ] = True,
) -> None:
    """Start the HTTP API (OpenAPI at /openapi.json, docs at /docs) on an existing ledger.

    Each worker process builds its own app from the environment (the ledger URL is passed
    down as DTEM_DATABASE_URL), so any number of workers share one ledger.

    Example:  dtem serve --port 8000 --workers 2   then   curl localhost:8000/health
    """
    import uvicorn

    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    os.environ["DTEM_DATABASE_URL"] = c.engine.url.render_as_string(hide_password=False)
    if not webhooks:
        os.environ["DTEM_WEBHOOK_DISPATCH"] = "false"
    c.engine.dispose()
    uvicorn.run(
        "dtem.entrypoints.api.app:app_from_environment",
        factory=True,
        host=host or c.settings.api_host,
        port=port or c.settings.api_port,
        workers=workers,
        log_level="info",
    )


# --- audit -------------------------------------------------------------------------------
@audit_app.command("verify")
@handle_errors
def audit_verify(
    anchor: Annotated[
        Path | None,
        typer.Option(help="A file saved by `dtem audit anchor --json`: the chain must reach it."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Walk the hash chain to its head; exit 7 naming the first missing or altered entry.

    Example:  dtem audit verify --anchor /safe/place/anchor.json
    """
    mark = _read_anchor(anchor) if anchor is not None else None
    c = open_ledger(db)
    n = audit.verify_audit(c.ledger, mark)
    if json_out:
        print_json({"ok": True, "entries": n})
    else:
        against = f"; reaches the anchor ({mark.entries} entries)" if mark else ""
        console.print(f"audit chain intact: {n} entries verified{against}")


@audit_app.command("anchor")
@handle_errors
def audit_anchor(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Verify the chain and print its end (count, last hash) to keep outside the database.

    A later `dtem audit verify --anchor FILE` then also catches entries cut off the end
    even if the chain head in the database was rewritten to match.

    Example:  dtem audit anchor --json > /safe/place/anchor.json
    """
    c = open_ledger(db)
    end = audit.take_anchor(c.ledger)
    if json_out:
        print_json({**end.to_dict(), "taken_at": c.clock()})
    else:
        console.print(f"audit anchor: {end.entries} entries, last hash {end.last_hash}")
        console.print("save it with `dtem audit anchor --json > FILE`, outside the database")


def _read_anchor(path: Path) -> ChainHead:
    """The anchor in `path`; a usage error (exit 2) naming the file when it is none."""
    try:
        return ChainHead.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:  # not UTF-8, not JSON, or not an anchor's fields
        raise ArgumentInvalid(f"--anchor {path}: not an audit anchor ({exc})") from None


@audit_app.command("list")
@handle_errors
def audit_list(
    limit: Annotated[int, typer.Option(help="How many of the latest entries.")] = 20,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show the latest audit entries.  Example:  dtem audit list --limit 5 --json"""
    c = open_ledger(db)
    entries = audit.recent_entries(c.ledger, limit)
    if json_out:
        print_json(entries)
        return
    table = Table("#", "at", "actor", "action", "payload")
    for e in entries:
        table.add_row(str(e.seq), e.at[:19], e.actor, e.action, json.dumps(e.payload)[:80])
    console.print(table)


# --- tokens ------------------------------------------------------------------------------
@token_app.command("create")
@handle_errors
def token_create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(access.ROLES)}.")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "",
    ttl_days: Annotated[
        float | None, typer.Option(help="Expire after this many days (> 0; default: never).")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="Rep external id (role rep, must exist) or agent name (role agent)."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a bearer token; it is printed once and only its hash is stored.

    Example:  dtem token create --role rep --subject R-001 --ttl-days 90
    """
    c = open_ledger(db)
    token_id, plaintext = access.create_token(
        c.ledger, c.clock, role, name, ttl_days, subject, c.settings.actor
    )
    if json_out:
        print_json({"id": token_id, "role": role, "token": plaintext})
    else:
        console.print(f"token #{token_id} ({role}); store it now, it is not shown again:")
        console.print(plaintext, highlight=False)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id from `dtem token list`.")],
    db: DbOption = None,
) -> None:
    """Revoke a token at once.  Example:  dtem token revoke 3"""
    c = open_ledger(db)
    at = access.revoke_token(c.ledger, c.clock, token_id, c.settings.actor)
    console.print(f"token #{token_id} revoked (at {_minute(at)} UTC)")


@token_app.command("list")
@handle_errors
def token_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List tokens (never their secrets).  Example:  dtem token list --json"""
    c = open_ledger(db)
    rows = [
        {
            "id": t.id,
            "role": t.role,
            "name": t.name,
            "subject": t.subject,
            "created_at": t.created_at,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
            "last_used_at": t.last_used_at,
        }
        for t in access.list_tokens(c.ledger)
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "role", "subject", "name", "created", "expires", "revoked", "last used")
    for r in rows:
        table.add_row(
            str(r["id"]), str(r["role"]), str(r["subject"] or ""), str(r["name"]),
            *(_minute(r[k]) for k in ("created_at", "expires_at", "revoked_at", "last_used_at")),
        )  # fmt: skip
    console.print(table)


def _minute(at: object) -> str:
    """A timestamp to the minute for the table; blank when unset."""
    return at.isoformat()[:16].replace("T", " ") if isinstance(at, datetime) else ""

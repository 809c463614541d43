"""What every command shares: the `--db` and `--json` options, output, error mapping."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from dtem.domain.errors import (
    AuditChainBroken,
    AuthError,
    DomainError,
    Forbidden,
    InputInvalid,
    LeaseConflict,
    LeaseTransitionInvalid,
    NotFound,
    PolicyInvalid,
    SourceExists,
    TrainingDataInsufficient,
)

if TYPE_CHECKING:  # bootstrap loads SQLAlchemy and Alembic: only commands that open a ledger pay
    from dtem.bootstrap import Container

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ledger URL (default: $DTEM_DATABASE_URL, else sqlite:///<data dir>/dtem.db).",
        envvar="DTEM_DATABASE_URL",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

EXIT_CODES: dict[type[DomainError], int] = {
    InputInvalid: 3,
    NotFound: 4,
    LeaseConflict: 5,
    LeaseTransitionInvalid: 5,
    PolicyInvalid: 6,
    AuditChainBroken: 7,
    AuthError: 8,
    Forbidden: 8,
    TrainingDataInsufficient: 9,
    SourceExists: 10,
}

P = ParamSpec("P")
R = TypeVar("R")


def open_ledger(db: str | None, *, create: bool = True) -> Container:
    """Build the container for a command (settings read once, here)."""
    from dtem.bootstrap import build
    from dtem.config import Settings

    return build(Settings(), db, create=create)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Map domain errors to a message on stderr and a documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            code = next((c for k, c in EXIT_CODES.items() if isinstance(exc, k)), 1)
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(code) from exc
        except (FileNotFoundError, IsADirectoryError, ValueError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from exc

    return wrapper


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, dates and paths as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=False) + "\n")


@contextmanager
def row_progress(quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress line on stderr while rows are read (none with --json).

    Yields a callback taking the number of rows read so far, or None when quiet.
    """
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("reading rows"), BarColumn(), TextColumn("{task.completed:,}"))
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("rows", total=None)
        yield lambda rows: bar.update(task, completed=rows)

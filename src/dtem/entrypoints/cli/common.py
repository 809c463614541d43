"""What every command shares: the `--db` and `--json` options, output, error mapping."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import click
import typer
from rich.console import Console
from rich.text import Text

from dtem.domain.errors import (
    ArgumentInvalid,
    AuditChainBroken,
    AuthError,
    ClaimNotHeld,
    DomainError,
    FileUnreadable,
    Forbidden,
    InputInvalid,
    LeaseConflict,
    LeaseTransitionInvalid,
    LedgerUnavailable,
    NotFound,
    PolicyInvalid,
    SourceExists,
    TrainingDataInsufficient,
)

if TYPE_CHECKING:  # bootstrap loads SQLAlchemy and Alembic: only commands that open a ledger pay
    from dtem.bootstrap import Container

# User data (names, file rows like `file.csv:100:`) is printed as it is: no Rich markup or
# emoji codes are interpreted anywhere. Styled words go through `styled()`.
console = Console(markup=False, emoji=False)
err_console = Console(stderr=True, markup=False, emoji=False)

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
    ArgumentInvalid: 2,
    FileUnreadable: 2,
    InputInvalid: 3,
    NotFound: 4,
    LeaseConflict: 5,
    ClaimNotHeld: 5,
    LeaseTransitionInvalid: 5,
    PolicyInvalid: 6,
    AuditChainBroken: 7,
    AuthError: 8,
    Forbidden: 8,
    TrainingDataInsufficient: 9,
    SourceExists: 10,
    LedgerUnavailable: 11,
}
BUG_EXIT = 1

P = ParamSpec("P")
R = TypeVar("R")


def open_ledger(db: str | None, *, create: bool = False) -> Container:
    """Build the container for a command (settings read once, here).

    Only commands that write (init, imports, demo…) pass `create=True`; a read command on a
    URL without a ledger fails with `LedgerMissing` instead of creating an empty one.
    """
    from dtem.bootstrap import build
    from dtem.config import Settings

    return build(Settings(), db, create=create)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Map every error to one message and a documented exit code (README, "Exit codes").

    With `--json` the message is a JSON object on stdout instead: `{"error", "code", …}`.
    Anything that is not a product error is a bug: one line saying so, exit 1, and the
    traceback only when `DTEM_DEBUG` is set.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            reported, code = classify(exc)
            fail(reported, code, as_json=bool(kwargs.get("json_out")))

    return wrapper


def classify(exc: Exception) -> tuple[Exception, int]:
    """The error to show and its exit code: product errors by the table, unreadable files
    as 2, anything else as a bug (exit 1; `DTEM_DEBUG=1` prints the traceback too)."""
    if isinstance(exc, DomainError):
        return exc, exit_code(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return FileUnreadable(str(exc.filename), _os_reason(exc)), EXIT_CODES[FileUnreadable]
    if os.environ.get("DTEM_DEBUG"):
        traceback.print_exception(exc)
        hint = ""
    else:
        hint = " (DTEM_DEBUG=1 shows the traceback)"
    what = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return RuntimeError(f"internal error, please report it: {what}{hint}"), BUG_EXIT


def exit_code(exc: DomainError) -> int:
    """The README's exit code for a product error."""
    return next((c for k, c in EXIT_CODES.items() if isinstance(exc, k)), BUG_EXIT)


def fail(exc: Exception, code: int, as_json: bool) -> NoReturn:
    """Report an error (text on stderr, or JSON on stdout) and exit with `code`."""
    lines = _error_lines(exc)
    if as_json:
        body: dict[str, Any] = {"error": lines[0], "code": code, "kind": type(exc).__name__}
        if isinstance(exc, InputInvalid):
            body["rows"] = [to_jsonable(e) for e in exc.errors]
        if isinstance(exc, PolicyInvalid):
            body["problems"] = exc.problems
        print_json(body)
    else:
        err_console.print(styled(("error: ", "bold red"), lines[0]), soft_wrap=True)
        for line in lines[1:]:
            err_console.print(line, soft_wrap=True, highlight=False)
    raise typer.Exit(code) from exc


def _error_lines(exc: Exception) -> list[str]:
    if isinstance(exc, InputInvalid):
        rows = len({e.row for e in exc.errors})
        head = f"{exc.source}: {rows} invalid row(s), nothing was written"
        return [head, *(str(e) for e in exc.errors)]
    return str(exc).splitlines() or [type(exc).__name__]


def _os_reason(exc: OSError) -> str:
    """`No such file or directory` for errno text, without Python's `[Errno 2]` prefix."""
    return (exc.strerror or str(exc)).lower()


def read_text(path: Path) -> str:
    """A small text file the user named (UTF-8); `FileUnreadable` says why not.

    >>> read_text(Path("/nonexistent.yaml"))
    Traceback (most recent call last):
    ...
    dtem.domain.errors.FileUnreadable: /nonexistent.yaml: no such file or directory
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        reason = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})"
        raise FileUnreadable(str(path), reason, line, "save it as UTF-8") from None
    except OSError as exc:
        raise FileUnreadable(str(path), _os_reason(exc)) from None


def read_mapping(
    file: Path, what: str, invalid: Callable[[str], Exception] = ArgumentInvalid
) -> dict[str, Any]:
    """The mapping in a YAML or JSON file; `invalid(problem)` names the line where it breaks.

    `what` names the document in messages ("a policy document", "a comp plan").
    """
    import yaml

    try:
        doc = yaml.safe_load(read_text(file))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise invalid(f"{where}: not valid YAML or JSON: {problem}") from None
    if not isinstance(doc, dict):
        raise invalid(f"{file}: {what} must be a mapping of keys to values")
    return doc


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text with some parts styled, e.g. `styled(("error: ", "bold red"), message)`.

    The parts are never read as markup, so user data prints exactly as it is.
    """
    return Text.assemble(*parts)


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

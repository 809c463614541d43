"""`dtem import …`: accounts, reps, opportunities, activities from CSV, Parquet, JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
    row_progress,
    styled,
)
from dtem.services.imports import ImportResult, load_mapping, run
from dtem.services.imports.mapping import shipped_mappings

import_app = typer.Typer(help="Import records from CSV, Parquet or JSONL.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="CSV, Parquet or JSONL file.", show_default=False)]
MappingOption = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        "-m",
        help="Mapping YAML path or shipped name (salesforce, hubspot, olist, olist-deals). "
        "Default: columns named like DTEM fields.",
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of a CSV or JSONL file, e.g. latin-1, cp1252, utf-16. "
        "Default: UTF-8 (UTF-16 when the file starts with its byte-order mark).",
        show_default=False,
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Validate and count; write nothing.")]
OnErrorOption = Annotated[
    str,
    typer.Option(
        "--on-error",
        help="fail: any bad row aborts the import (exit 3). "
        "skip: import the good rows, write bad ones to <file>.rejects.csv.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


def run_import(
    kind: str,
    file: Path,
    mapping: str | None,
    dry_run: bool,
    on_error: str,
    db: str | None,
    json_out: bool,
    encoding: str | None = None,
) -> None:
    """Shared body of every `dtem import <kind>` command."""
    c = open_ledger(db, create=True)
    loaded = load_mapping(mapping) if mapping else None
    with row_progress(quiet=json_out) as tick:
        result = run.run_import(
            c.ledger, c.clock, kind, file, loaded, pipeline=c.pipeline, actor=c.settings.actor,
            dry_run=dry_run, on_error=on_error, encoding=encoding, progress=tick,
        )  # fmt: skip
    failed = bool(result.errors) and on_error == "fail"  # a dry run that found bad rows
    if not (failed and json_out):  # with --json, stdout carries one document: the error
        _report(result, json_out)
    run.refuse_bad_rows(result, on_error, str(file))


def _report(result: ImportResult, json_out: bool) -> None:
    if json_out:
        print_json(result)
        return
    verb = "would import" if result.dry_run else "imported"
    n = result.counts
    console.print(
        f"{verb} {result.kind} from {result.file}: {n['inserted']} new, {n['updated']} updated, "
        f"{n['unchanged']} unchanged, {n['rejected']} rejected (of {n['rows']} rows)",
        highlight=False,
        soft_wrap=True,
    )
    if result.absent_columns:
        console.print(
            "optional column(s) not in the file, not imported: " + ", ".join(result.absent_columns),
            soft_wrap=True,
        )
    if n.get("unattached"):
        console.print(
            f"{n['unattached']} opportunit{'y has' if n['unattached'] == 1 else 'ies have'} "
            "no account in the ledger yet: stored unattached (dtem opportunities unattached)",
            soft_wrap=True,
        )
    if result.attached:
        console.print(
            f"attached {len(result.attached)} waiting opportunit"
            f"{'y' if len(result.attached) == 1 else 'ies'} to these accounts: "
            + ", ".join(result.attached[:10])
            + (", …" if len(result.attached) > 10 else ""),
            soft_wrap=True,
        )
    for warning in result.warnings:
        err_console.print(styled(("warning: ", "yellow"), warning), highlight=False, soft_wrap=True)
    if result.notices:
        rows = len({x.row for x in result.notices})
        err_console.print(
            styled(("warning: ", "yellow"), f"{rows} row(s) kept with a value to check:"),
            highlight=False,
            soft_wrap=True,
        )
        for notice in result.notices:
            err_console.print(str(notice), highlight=False, markup=False, soft_wrap=True)
    if result.rejects_file:
        console.print(f"rejected rows and reasons: {result.rejects_file}", soft_wrap=True)
        for e in result.errors:
            err_console.print(str(e), highlight=False, markup=False, soft_wrap=True)


def _command(kind: str, example: str) -> None:
    @handle_errors
    def command(
        file: FileArg,
        mapping: MappingOption = None,
        dry_run: DryRunOption = False,
        on_error: OnErrorOption = "fail",
        encoding: EncodingOption = None,
        db: DbOption = None,
        json_out: JsonOption = False,
    ) -> None:
        run_import(kind, file, mapping, dry_run, on_error, db, json_out, encoding)

    command.__doc__ = (
        f"Import {kind}: insert new ones, update changed ones by external id.\n\n"
        "All or nothing: any invalid row aborts the import (exit 3) and every bad row is "
        "listed with its row number (CSV header = row 1), field, value and reason.\n\n"
        f"Example:  {example}"
    )
    import_app.command(kind)(command)


_command("accounts", "dtem import accounts accounts.csv --mapping salesforce --dry-run")
_command("reps", "dtem import reps reps.csv")
_command("opportunities", "dtem import opportunities deals.csv --mapping hubspot")
_command("activities", "dtem import activities activities.jsonl --on-error skip")


@import_app.command("mappings")
@handle_errors
def mappings(json_out: JsonOption = False) -> None:
    """List the shipped mappings and the entities each can import.

    Example:  dtem import mappings
    """
    rows = {name: list(load_mapping(name).entities) for name in shipped_mappings()}
    if json_out:
        print_json(rows)
        return
    for name, entities in rows.items():
        console.print(f"{name}: {', '.join(entities)}", highlight=False)

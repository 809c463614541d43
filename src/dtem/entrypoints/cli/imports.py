"""`dtem import …`: accounts, reps, opportunities, activities from CSV, Parquet, JSONL."""

from __future__ import annotations

import typer

import_app = typer.Typer(help="Import records from CSV, Parquet or JSONL.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")

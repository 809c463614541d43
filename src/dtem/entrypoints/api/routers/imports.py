"""Imports over HTTP: upload a file with a mapping (`dtem import <kind> FILE -m MAPPING`),
and the imports the ledger has recorded.

`POST /imports/{kind}` takes `multipart/form-data`: `file` (CSV, Parquet or JSONL), and
either `mapping` (a shipped mapping's name) or `mapping_file` (a mapping YAML); `dry_run`,
`on_error` (fail | skip) and `encoding` as the CLI's options. The same validation and
report as the CLI: all or nothing by default, so one bad row answers 422 with every bad
row (file, row, field, value, reason) and writes nothing. Manager or admin.

    curl -H "Authorization: Bearer $TOKEN" -F file=@accounts.csv -F mapping=salesforce \\
        localhost:8000/imports/accounts
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path, PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.api.callers import ManagerDep, ReaderDep, actor
from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services.imports import ImportResult, run
from dtem.services.imports.mapping import Mapping, mapping_from_yaml, shipped_mapping

router = APIRouter(tags=["imports"])

Kind = Literal["accounts", "reps", "opportunities", "activities"]


class RowErrorOut(BaseModel):
    file: str
    row: int = Field(description="the row number in the file (a CSV's header is row 1)")
    field: str
    value: str
    reason: str


class StageChangeOut(BaseModel):
    opportunity: str
    old_stage: str | None
    new_stage: str


class ImportReportOut(BaseModel):
    kind: str
    file: str
    sha256: str
    dry_run: bool
    counts: dict[str, int] = Field(description="rows, inserted, updated, unchanged, rejected…")
    batch_id: int | None = Field(description="the recorded import (null: nothing written)")
    errors: list[RowErrorOut] = Field(description="rows skipped (on_error=skip)")
    notices: list[RowErrorOut] = Field(description="rows kept with a value to check")
    warnings: list[str]
    absent_columns: list[str]
    attached: list[str] = Field(description="waiting opportunities now attached")
    stage_changes: list[StageChangeOut]

    @classmethod
    def of(cls, r: ImportResult) -> ImportReportOut:
        return cls(
            kind=r.kind, file=r.file, sha256=r.sha256, dry_run=r.dry_run, counts=r.counts,
            batch_id=r.batch_id,
            errors=[RowErrorOut(**vars(e)) for e in r.errors],
            notices=[RowErrorOut(**vars(e)) for e in r.notices],
            warnings=r.warnings, absent_columns=r.absent_columns, attached=r.attached,
            stage_changes=[
                StageChangeOut(opportunity=s.opportunity_external_id, old_stage=s.old_stage,
                               new_stage=s.new_stage)
                for s in r.stage_changes
            ],
        )  # fmt: skip


class ImportOut(BaseModel):
    id: int
    kind: str
    file: str
    sha256: str
    at: datetime
    actor: str
    counts: dict[str, int]


@router.post("/imports/{kind}", response_model=ImportReportOut)
def upload(
    kind: Kind,
    file: Annotated[UploadFile, File(description="CSV, Parquet or JSONL")],
    c: ContainerDep,
    token: ManagerDep,
    mapping: Annotated[str | None, Form(description="a shipped mapping's name")] = None,
    mapping_file: Annotated[UploadFile | None, File(description="a mapping YAML")] = None,
    dry_run: Annotated[bool, Form(description="validate and count; write nothing")] = False,
    on_error: Annotated[Literal["fail", "skip"], Form()] = "fail",
    encoding: Annotated[str | None, Form(examples=["latin-1"])] = None,
) -> ImportReportOut:
    """Import an uploaded file of `kind`: new records inserted, changed ones updated by
    external id; the report as `dtem import … --json` prints it."""
    loaded = _mapping(mapping, mapping_file)
    name = PurePath(file.filename or f"upload.{kind}.csv").name  # never a client's path
    with tempfile.TemporaryDirectory(prefix="dtem-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        result = run.run_import(
            c.ledger, c.clock, kind, path, loaded, pipeline=c.pipeline, actor=actor(token),
            dry_run=dry_run, on_error=on_error, encoding=encoding, shown_as=name,
        )  # fmt: skip
    run.refuse_bad_rows(result, on_error, name)
    return ImportReportOut.of(result)


@router.get("/imports", response_model=Page[ImportOut])
def list_imports(c: ContainerDep, _t: ReaderDep, page: PageDep) -> Page[ImportOut]:
    """The imports the ledger recorded, newest first (what, which file, by whom, counts)."""
    found = run.list_imports(c.ledger, page.after(int), page.fetch)
    return page.of(found, key=lambda b: b.id, item=lambda b: ImportOut(**vars(b)))


def _mapping(name: str | None, upload: UploadFile | None) -> Mapping | None:
    if name and upload is not None:
        raise ArgumentInvalid("mapping: give a mapping name or a mapping_file, not both")
    if upload is not None:
        text = upload.file.read().decode("utf-8", errors="replace")
        return mapping_from_yaml(text, PurePath(upload.filename or "mapping").stem)
    return shipped_mapping(name) if name else None

"""Validation: a mapping applied to batches of source rows gives clean records or RowErrors.

Work is column by column in tight loops (one parser call per cell), which is what keeps a
million-row file within seconds. A row with any error is rejected as a whole.

>>> from dtem.services.imports.mapping import FieldRule, EntityMapping
>>> from dtem.services.imports.readers import SourceBatch
>>> m = EntityMapping("accounts", {"external_id": FieldRule("Id"), "name": FieldRule("Name"),
...     "employees": FieldRule("Staff")})
>>> v = Validator(m, "a.csv", ["Id", "Name", "Staff"])
>>> out = v.apply(SourceBatch(2, {"Id": ["A1", "A2"], "Name": ["Acme", ""],
...     "Staff": ["1,200", "x"]}))
>>> out.records, [(e.row, e.field, e.reason) for e in out.errors]
([(2, {'external_id': 'A1', 'name': 'Acme', 'employees': 1200})], \
[(3, 'name', 'missing required field'), (3, 'employees', 'not a number')])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from dtem.domain.errors import ArgumentInvalid, RowError
from dtem.domain.policy import Policy, default_policy
from dtem.services.imports import columnar, dates
from dtem.services.imports import transforms as tf
from dtem.services.imports.columnar import BoolArray
from dtem.services.imports.limits import ATTRIBUTE_MAX_LENGTH, TEXT_KINDS, check_text, plain_text
from dtem.services.imports.mapping import EntityMapping, FieldRule
from dtem.services.imports.readers import SourceBatch
from dtem.services.imports.specs import PARSERS, SPECS, FieldSpec

ATTR = "attr:"
_FEW_VALUES = frozenset(
    {"category", "country", "bool", "stage", "actor_kind", "tier"}
)  # prefix of attribute fields in a record
Record = tuple[int, dict[str, Any]]  # (row number, {field: value})


@dataclass
class BatchResult:
    """Clean records of the good rows, every error of the bad ones, and notices: values
    kept as given but reported (a country no country list knows)."""

    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notices: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class _Converter:
    target: str
    rule: FieldRule
    parse: tf.Parser
    required: bool
    default: Any
    kind: str = "text"
    max_length: int | None = None

    def run(
        self,
        values: list[Any],
        fail: Callable[[int, Any, str], None],
        column: pa.Array | None = None,
    ) -> list[Any]:
        """Convert one column; report each bad cell through `fail(index, value, reason)`.

        With the column as Arrow, clean cells are parsed in one vectorised pass and only
        the rest go through the per-cell parser below.
        """
        fast = self._vectorised(column)
        if fast is not None:
            out, final = fast
            todo = np.flatnonzero(~final).tolist()
            for i in np.flatnonzero(final & self._empty(out)).tolist():
                out[i] = self.default
                if self.required:
                    fail(i, values[i], "missing required field")
            self._cells(values, out, todo, fail)
            return out
        out = [self.default] * len(values)
        self._cells(values, out, range(len(values)), fail)
        return out

    def _vectorised(self, column: pa.Array | None) -> columnar.Parsed | None:
        rule = self.rule
        if column is None or rule.transform or rule.map or rule.null_values:
            return None
        return columnar.parse_column(self.kind, column)

    @staticmethod
    def _empty(out: list[Any]) -> BoolArray:
        return np.fromiter((v is None for v in out), dtype=bool, count=len(out))

    def _cells(
        self,
        values: list[Any],
        out: list[Any],
        indices: Iterable[int],
        fail: Callable[[int, Any, str], None],
    ) -> None:
        cleaners = [tf.CLEANERS[name] for name in self.rule.transform]
        nulls, parse = set(self.rule.null_values), self.parse
        vmap = {**{k.strip().lower(): v for k, v in self.rule.map.items()}, **self.rule.map}
        for i in indices:
            raw = values[i]
            if raw.__class__ in (list, dict):  # JSONL/Parquet nesting: no field holds one
                fail(
                    i,
                    raw,
                    f"{'a list' if raw.__class__ is list else 'an object'} where one value belongs",
                )
                continue
            if (
                raw is None
                or raw == ""
                or raw in nulls
                or (raw.__class__ is not str and tf.is_null(raw))
                or (raw.__class__ is str and raw.isspace())
            ):
                if self.required:
                    fail(i, raw, "missing required field")
                continue
            v = raw
            try:
                for clean in cleaners:
                    v = clean(v)
                if vmap:  # exact label first, then case-insensitive; others pass through
                    v = vmap.get(v, vmap.get(str(v).strip().lower(), v))
                out[i] = parse(v)
            except ValueError as exc:
                fail(i, raw, str(exc))


def any_yes(columns: list[list[Any]]) -> list[Any]:
    """Per row: True when any column's value reads as yes, else the first given value
    (a no, or a value the field's parser then rejects with its row), else None.

    >>> any_yes([["no", "", "maybe"], ["yes", "", "no"]])
    [True, None, 'maybe']
    """
    out: list[Any] = []
    for values in zip(*columns, strict=True):
        given = [v for v in values if not tf.is_null(v)]
        out.append(True if any(_yes(v) for v in given) else (given[0] if given else None))
    return out


def _yes(value: Any) -> bool:
    try:
        return tf.parse_bool(value)
    except ValueError:
        return False


class Validator:
    """Applies one entity mapping to the batches of one file."""

    def __init__(
        self,
        mapping: EntityMapping,
        file: str,
        columns: list[str],
        policy: Policy | None = None,
        now: datetime | None = None,
    ) -> None:
        """`now` is the import time: dates of facts may not be after it (None: unchecked).

        Optional columns the file lacks are left out of the mapping (`absent` names them).
        """
        self.absent = mapping.absent(columns)
        mapping = mapping.for_columns(columns)
        self.mapping, self.file, self.columns = mapping, file, columns
        self.policy, self.now = policy or default_policy(), now
        self.spec = SPECS[mapping.entity]
        self.converters = [
            self._converter(name, rule, self.spec.fields[name])
            for name, rule in mapping.fields.items()
        ]
        self.converters += [
            self._converter(ATTR + name, rule, FieldSpec(rule.kind or "text"))
            for name, rule in mapping.attributes.items()
        ]

    def header_errors(self, header_row: int) -> list[RowError]:
        """Mapped columns missing from the file, required fields the mapping leaves out,
        and an entity that needs one of several fields (a signal's account) with none."""
        have = ", ".join(self.columns)
        errors = [
            RowError(
                self.file,
                header_row,
                c.target,
                column,
                f"unknown column {column!r} in the mapping; the file has: {have}",
            )
            for c in self.converters
            for column in c.rule.all_columns
            if column not in self.columns
        ]
        errors += [
            RowError(
                self.file,
                header_row,
                name,
                "",
                f"no column for required field {name!r}; the file has: {have}",
            )
            for name, spec in self.spec.fields.items()
            if spec.required and name not in self.mapping.fields
        ]
        one_of = self.spec.one_of
        if one_of and not any(name in self.mapping.fields for name in one_of):
            names = ", ".join(one_of)
            reason = f"no column for any of {names} (one is needed); the file has: {have}"
            errors.append(RowError(self.file, header_row, one_of[0], "", reason))
        return errors

    def apply(self, batch: SourceBatch) -> BatchResult:
        """Validate one batch: clean records for good rows, every error for bad ones."""
        result = BatchResult()
        bad: set[int] = set()
        columns: dict[str, list[Any]] = {}
        n = len(batch)

        def fail_on(target: str) -> Callable[[int, Any, str], None]:
            def fail(i: int, value: Any, reason: str) -> None:
                bad.add(i)
                result.errors.append(
                    RowError(self.file, batch.start_row + i, target, _show(value), reason)
                )

            return fail

        for conv in self.converters:
            raw = batch.data[conv.rule.column] if conv.rule.column else [conv.rule.value] * n
            arrow = batch.arrow.get(conv.rule.column) if conv.rule.column else None
            if conv.rule.also:  # any_of: yes when any column says yes
                raw, arrow = any_yes([raw, *(batch.data[c] for c in conv.rule.also)]), None
            fail = fail_on(conv.target)
            columns[conv.target] = out = conv.run(raw, fail, arrow)
            if conv.kind in TEXT_KINDS and not plain_text(arrow, conv.max_length):
                check_text(out, conv.max_length, raw, fail)
            if conv.kind == "country":
                result.notices += self._unknown_countries(conv.target, out, raw, batch.start_row)
        self._check_dates(columns, fail_on)
        names, start = list(columns), batch.start_row
        values = zip(*columns.values(), strict=True) if columns else [()] * n  # no column read
        rows = zip(range(start, start + n), values, strict=True)
        result.records = [
            (row, dict(zip(names, values, strict=True)))
            for row, values in rows
            if not bad or row - start not in bad
        ]
        result.errors.sort(key=lambda e: e.row)
        result.notices = [x for x in result.notices if x.row - start not in bad]
        return result

    def _unknown_countries(
        self, target: str, values: list[Any], raw: list[Any], start: int
    ) -> list[RowError]:
        """A country no country list knows is kept as given, and reported row by row."""
        out: list[RowError] = []
        for i, value in enumerate(values):
            if value is None or tf.country_name(value) is not None:
                continue
            hint = tf.country_suggestion(value)
            reason = "unknown country (kept as given" + (
                f"; did you mean {hint}?)" if hint else ")"
            )
            out.append(RowError(self.file, start + i, target, _show(raw[i]), reason))
        return out

    def _check_dates(
        self,
        columns: dict[str, list[Any]],
        fail_on: Callable[[str], Callable[[int, Any, str], None]],
    ) -> None:
        """Report each implausible date (see `imports.dates`), by row and field."""
        closed = set(self.policy.won_stages) | set(self.policy.lost_stages)
        stages = columns.get("stage")
        for name, values in columns.items():
            spec = self.spec.fields.get(name)
            if spec is None or spec.kind not in ("date", "datetime"):
                continue
            fail = fail_on(name)
            low, high = dates.surely_fine(spec.kind, self.now)
            for i, value in enumerate(values):
                if value is None or low <= value <= high:
                    continue
                dated = spec.dated
                if dated == dates.PAST_IF_CLOSED:
                    dated = dates.PAST if stages and stages[i] in closed else dates.FUTURE
                problem = dates.date_problem(value, dated, self.now)
                if problem:
                    fail(i, value, problem)

    def _converter(self, target: str, rule: FieldRule, spec: FieldSpec) -> _Converter:
        limit = spec.max_length if spec.max_length else None
        if target.startswith(ATTR):
            limit = ATTRIBUTE_MAX_LENGTH
        default = rule.default if rule.default is not None else spec.default
        parse = self._parser(spec.kind, rule.formats or self.mapping.date_formats)
        if spec.kind in _FEW_VALUES:  # labels repeat: parse each distinct one once
            parse = functools.lru_cache(maxsize=65_536)(parse)
        if default is not None:
            default = parse(default)
        required = spec.required and default is None
        return _Converter(target, rule, parse, required, default, spec.kind, limit)

    def _parser(self, kind: str, formats: tuple[str, ...]) -> tf.Parser:
        if kind == "date":
            return tf.date_parser(formats)
        if kind == "datetime":
            return tf.datetime_parser(formats)
        if kind == "stage":
            return self._stage
        if kind not in PARSERS:
            raise ArgumentInvalid(f"unknown field kind {kind!r}")
        return PARSERS[kind]

    def _stage(self, value: Any) -> str:
        stage = self.policy.canonical_stage(str(value))
        if stage is None:
            stages = ", ".join(self.policy.stages)
            raise ValueError(f"unknown stage (the policy's stages: {stages})")
        return stage


def duplicate_errors(
    records: list[Record], key: str, file: str
) -> tuple[list[Record], list[RowError]]:
    """Reject every row whose key appeared on an earlier row of the same file."""
    keys = [rec.get(key) for _, rec in records]
    if len(set(keys)) == len(keys):  # the usual file: no duplicates, nothing to rebuild
        return records, []
    first: dict[Any, int] = {}
    kept: list[Record] = []
    errors: list[RowError] = []
    for row, rec in records:
        value = rec.get(key)
        if value is not None and value in first:
            reason = f"duplicate id in file (first seen on row {first[value]})"
            errors.append(RowError(file, row, key, str(value), reason))
            continue
        if value is not None:
            first[value] = row
        kept.append((row, rec))
    return kept, errors


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)

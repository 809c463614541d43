"""Whole-column parsing agrees with the per-cell parsers on every cell it claims."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.services.imports import transforms as tf
from dtem.services.imports.columnar import parse_column

PER_CELL = {
    "text": tf.parse_text,
    "category": tf.parse_category,
    "domain": tf.parse_domain,
    "number": tf.parse_number,
    "money": tf.parse_money,
    "count": tf.parse_count,
}
# the characters dirty exports are made of, including the awkward ones
cells = st.text(alphabet="0123456789 ,.$-()_eE:/@#?wW\t\u00a0aAbc", max_size=14)
samples = st.sampled_from(
    ["1,200", "$3", " 12 ", "1 234 567", "https://www.Acme.com/x", "WWW.b.io", "  Retail "]
)


def _per_cell(kind: str, cell: str) -> Any:
    if not cell.strip():
        return None
    try:
        return PER_CELL[kind](cell)
    except ValueError:
        return "rejected"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PER_CELL)), st.lists(st.one_of(cells, samples), max_size=20))
def test_vectorised_cells_equal_per_cell_parse(kind: str, column: list[str]) -> None:
    parsed = parse_column(kind, pa.array(column, pa.string()))
    assert parsed is not None
    values, final = parsed
    for cell, value, done in zip(column, values, final.tolist(), strict=True):
        if done:
            expected = _per_cell(kind, cell)
            assert value == expected and type(value) is type(expected), (cell, value)


def test_dirty_and_invalid_cells_are_left_to_the_per_cell_parser() -> None:
    parsed = parse_column("money", pa.array(["(1,200)", "12 EUR", "-5", "1,2"]))
    assert parsed is not None and not parsed[1].any()


def test_typed_columns_have_no_vectorised_rule() -> None:
    assert parse_column("number", pa.array([1.5, 2.0])) is None
    assert parse_column("country", pa.array(["usa"])) is None

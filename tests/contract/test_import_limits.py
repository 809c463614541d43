"""Import specs declare the same text limits as the ledger's columns (tables.py)."""

from __future__ import annotations

import sqlalchemy as sa

from dtem.adapters.ledger import tables
from dtem.services.imports.limits import ATTRIBUTE_MAX_LENGTH
from dtem.services.imports.specs import SPECS

# spec field -> the column it is stored in, where the names differ
STORED_IN = {
    "account_external_id": tables.accounts.c.external_id,
    "rep_external_id": tables.reps.c.external_id,
}
TABLES = {
    "accounts": tables.accounts,
    "reps": tables.reps,
    "opportunities": tables.opportunities,
    "activities": tables.activities,
}


def test_every_text_field_has_its_columns_length() -> None:
    checked = 0
    for entity, table in TABLES.items():
        for name, spec in SPECS[entity].fields.items():
            column = STORED_IN.get(name, table.c.get(name))
            if column is None or not isinstance(column.type, sa.String):
                continue
            assert spec.max_length == column.type.length, f"{entity}.{name}"
            checked += 1
    assert checked >= 20
    assert tables.account_attributes.c.value.type.length == ATTRIBUTE_MAX_LENGTH

"""Imports of accounts, reps, opportunities and activities from CSV, Parquet and JSONL.

The pieces are reusable for other kinds of records (signals, say):

- `readers.read_batches(path)` → `SourceBatch`es of columns with user-visible row numbers;
- `mapping.load_mapping(name_or_path)` → a `Mapping` (YAML; shipped: salesforce, hubspot,
  olist…), `identity_mapping(entity, columns)` when there is none;
- `specs.EntitySpec` → the fields of an entity and how each parses;
- `validate.Validator(mapping, file, columns, policy).apply(batch)` → clean records and
  `RowError`s;
- `service.import_file(...)` → the whole use case (see its module docstring).
"""

from dtem.services.imports.mapping import Mapping, identity_mapping, load_mapping
from dtem.services.imports.plans import StageChange
from dtem.services.imports.service import ImportResult, import_file

KINDS = ("accounts", "reps", "opportunities", "activities")

__all__ = [
    "KINDS",
    "ImportResult",
    "Mapping",
    "StageChange",
    "identity_mapping",
    "import_file",
    "load_mapping",
]

"""Mappings: which source column feeds which DTEM field, and how its values are cleaned.

A mapping file (YAML) has one section per entity it can import. A field is either a
column name, or a rule with `column` (or a constant `value`), `transform` (clean-ups in
order: trim, lower, upper, title, collapse_spaces), `map` (source value -> value, e.g.
CRM stage names), `formats` (strptime date formats), `null_values`, `default` and
`optional: true` (a file without the column is read as if the field were not mapped).
Account sections may add `attributes`: fields kept as named text on the account.

>>> m = parse_mapping({"accounts": {"fields": {"external_id": "Id",
...     "name": {"column": "Name", "transform": ["trim"]}}}}, "example")
>>> m.section("accounts").fields["name"].column
'Name'

Without a mapping, columns named like DTEM fields map directly (`identity_mapping`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dtem.domain.errors import ArgumentInvalid
from dtem.services.imports.specs import SPECS, EntitySpec
from dtem.services.imports.transforms import CLEANERS

_RULE_KEYS = {
    "column",
    "value",
    "transform",
    "map",
    "formats",
    "null_values",
    "default",
    "kind",
    "optional",
}


@dataclass(frozen=True)
class FieldRule:
    """How one DTEM field is read from a source row."""

    column: str | None = None
    value: Any = None  # a constant, when there is no column
    transform: tuple[str, ...] = ()
    map: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ()
    default: Any = None
    kind: str | None = None  # attributes only: parse as this kind, store as text
    optional: bool = False  # a file without the column: the field is simply not mapped


@dataclass(frozen=True)
class EntityMapping:
    """The rules for one entity (accounts, reps, opportunities, activities)."""

    entity: str
    fields: dict[str, FieldRule]
    attributes: dict[str, FieldRule] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Every source column this mapping reads."""
        rules = [*self.fields.values(), *self.attributes.values()]
        return list(dict.fromkeys(r.column for r in rules if r.column is not None))

    def for_columns(self, columns: Collection[str]) -> EntityMapping:
        """This mapping for a file with these columns: optional rules whose column the file
        lacks are left out (a missing column that is not optional stays, to be reported)."""
        have = set(columns)

        def present(rule: FieldRule) -> bool:
            return not rule.optional or rule.column is None or rule.column in have

        return replace(
            self,
            fields={k: r for k, r in self.fields.items() if present(r)},
            attributes={k: r for k, r in self.attributes.items() if present(r)},
        )

    def absent(self, columns: Collection[str]) -> list[str]:
        """The optional columns this file lacks (their fields are not imported)."""
        have = set(columns)
        rules = [*self.fields.values(), *self.attributes.values()]
        return list(
            dict.fromkeys(
                r.column for r in rules if r.optional and r.column and r.column not in have
            )
        )


@dataclass(frozen=True)
class Mapping:
    """A named set of entity mappings, usually one YAML file."""

    name: str
    entities: dict[str, EntityMapping]
    description: str = ""

    def section(self, entity: str) -> EntityMapping:
        if entity not in self.entities:
            have = ", ".join(self.entities) or "none"
            raise ArgumentInvalid(
                f"mapping {self.name!r} has no {entity!r} section (it has: {have})"
            )
        return self.entities[entity]


def shipped_mappings() -> list[str]:
    """Names of the mappings that ship with DTEM (`salesforce`, `hubspot`, `olist`…)."""
    folder = resources.files("dtem") / "mappings"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_mapping(name_or_path: str) -> Mapping:
    """Load a mapping from a YAML path, or a shipped one by name."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such mapping file")
        return parse_mapping(yaml.safe_load(path.read_text()), path.stem)
    shipped = resources.files("dtem") / "mappings" / f"{name_or_path}.yaml"
    if not shipped.is_file():
        names = ", ".join(shipped_mappings())
        raise ArgumentInvalid(f"no mapping named {name_or_path!r}; shipped mappings: {names}")
    return parse_mapping(yaml.safe_load(shipped.read_text()), name_or_path)


def parse_mapping(doc: Any, name: str) -> Mapping:
    """Build a mapping from its YAML document; ValueError lists every problem."""
    if not isinstance(doc, dict):
        raise ArgumentInvalid(f"mapping {name!r}: expected a YAML mapping at the top level")
    meta = {k: doc.pop(k) for k in ("name", "description") if k in doc}
    problems: list[str] = []
    entities = {
        entity: _section(entity, body, problems)
        for entity, body in (doc.get("entities") or doc).items()
    }
    if problems:
        raise ArgumentInvalid(f"mapping {name!r} is invalid: " + "; ".join(problems))
    return Mapping(str(meta.get("name", name)), entities, str(meta.get("description", "")))


def identity_mapping(entity: str, columns: list[str]) -> EntityMapping:
    """Columns named like DTEM fields (any case; spaces, dashes = underscores) map directly."""
    spec = SPECS[entity]
    by_key = {_key(c): c for c in columns}
    rules = {f: FieldRule(column=by_key[_key(f)]) for f in spec.fields if _key(f) in by_key}
    return EntityMapping(entity, rules)


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _section(entity: str, body: Any, problems: list[str]) -> EntityMapping:
    spec: EntitySpec | None = SPECS.get(entity)
    if spec is None:
        problems.append(f"unknown entity {entity!r} (use {', '.join(SPECS)})")
        return EntityMapping(entity, {})
    if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
        problems.append(f"{entity}: needs a 'fields' mapping")
        return EntityMapping(entity, {})
    fields = {k: _rule(f"{entity}.{k}", v, problems) for k, v in body["fields"].items()}
    problems += [
        f"{entity}: unknown field {k!r} (fields: {', '.join(spec.fields)})"
        for k in fields
        if k not in spec.fields
    ]
    attrs = {
        k: _rule(f"{entity}.attributes.{k}", v, problems)
        for k, v in body.get("attributes", {}).items()
    }
    if attrs and entity != "accounts":
        problems.append(f"{entity}: only accounts have attributes")
    formats = tuple(body.get("date_formats", ()))
    return EntityMapping(entity, fields, attrs, formats)


def _rule(where: str, body: Any, problems: list[str]) -> FieldRule:
    if isinstance(body, str):
        return FieldRule(column=body)
    if not isinstance(body, dict):
        problems.append(f"{where}: expected a column name or a rule")
        return FieldRule()
    problems += [f"{where}: unknown key {k!r}" for k in body if k not in _RULE_KEYS]
    transform = tuple(body.get("transform", ()))
    problems += [f"{where}: unknown transform {t!r}" for t in transform if t not in CLEANERS]
    if "column" not in body and "value" not in body:
        problems.append(f"{where}: needs 'column' or 'value'")
    optional = body.get("optional", False)
    if not isinstance(optional, bool):
        problems.append(f"{where}: 'optional' must be true or false")
    elif optional and "column" not in body:
        problems.append(f"{where}: 'optional' needs a 'column'")
    return FieldRule(
        column=body.get("column"),
        value=body.get("value"),
        transform=transform,
        map={str(k): v for k, v in (body.get("map") or {}).items()},
        formats=tuple(body.get("formats", ())),
        null_values=tuple(str(v) for v in body.get("null_values", ())),
        default=body.get("default"),
        kind=body.get("kind"),
        optional=optional is True,
    )

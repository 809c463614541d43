"""Mappings: which source column feeds which DTEM field, and how its values are cleaned.

A mapping file (YAML) has one section per entity it can import. A field is either a
column name, or a rule with `column` (or a constant `value`), `transform` (clean-ups in
order: trim, lower, upper, title, collapse_spaces), `map` (source value -> value, e.g.
CRM stage names), `formats` (strptime date formats), `null_values`, `default` and
`optional: true` (a file without the column is read as if the field were not mapped).
A yes/no field may read `any_of: [column, …]`: yes when any of them says yes (two
opt-out columns feeding `do_not_contact`); with `optional` the absent ones are skipped.
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
    "any_of",
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
    also: tuple[str, ...] = ()  # `any_of`: more yes/no columns, yes when any says yes

    @property
    def all_columns(self) -> tuple[str, ...]:
        return (self.column, *self.also) if self.column is not None else ()


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
        return list(dict.fromkeys(c for r in rules for c in r.all_columns))

    def for_columns(self, columns: Collection[str]) -> EntityMapping:
        """This mapping for a file with these columns: optional rules whose column the file
        lacks are left out (a missing column that is not optional stays, to be reported)."""
        have = set(columns)

        def kept(rules: dict[str, FieldRule]) -> dict[str, FieldRule]:
            out = {}
            for k, r in rules.items():
                found = [c for c in r.all_columns if c in have]
                if not r.optional or r.column is None:
                    out[k] = r
                elif found:  # an optional any_of reads the columns the file has
                    out[k] = replace(r, column=found[0], also=tuple(found[1:]))
            return out

        return replace(self, fields=kept(self.fields), attributes=kept(self.attributes))

    def absent(self, columns: Collection[str]) -> list[str]:
        """The optional columns this file lacks (their fields are not imported); an
        `any_of` rule is named only when the file has none of its columns."""
        have = set(columns)
        rules = [*self.fields.values(), *self.attributes.values()]
        lacking = [r for r in rules if r.optional and not have & set(r.all_columns)]
        return list(dict.fromkeys(c for r in lacking for c in r.all_columns))


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


def shipped_mapping(name: str) -> Mapping:
    """A shipped mapping by name, never a path (what a remote caller may name)."""
    if name not in shipped_mappings():
        names = ", ".join(shipped_mappings())
        raise ArgumentInvalid(f"mapping: no mapping named {name!r}; shipped mappings: {names}")
    return load_mapping(name)


def mapping_from_yaml(text: str, name: str) -> Mapping:
    """A mapping from YAML text (an uploaded mapping file); unreadable YAML is refused."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ArgumentInvalid(f"mapping {name!r}: not YAML ({exc})") from None
    return parse_mapping(doc, name)


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
    any_of = body.get("any_of")
    if any_of is not None:
        if "column" in body or not isinstance(any_of, list) or not any_of:
            problems.append(f"{where}: 'any_of' is a list of columns, instead of 'column'")
            any_of = None
        else:
            body = {**body, "column": str(any_of[0])}
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
        also=tuple(str(c) for c in any_of[1:]) if any_of else (),
    )

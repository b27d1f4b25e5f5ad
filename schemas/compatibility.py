"""Pure Avro schema-resolution checks: can data written with one schema be read by another.

`incompatibilities(reader, writer)` applies the resolution rules of the Avro
specification and lists what would fail; BACKWARD compatibility of a new schema is
`not incompatibilities(new, old)`. No registry involved, so tests and CI can run it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from fastavro import parse_schema

from schemas.shapes import PRIMITIVES, type_name

__all__ = ["backward_compatible", "incompatibilities"]

_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
_NAMED = ("record", "enum", "fixed")


def _parsed(schema: Mapping[str, Any] | str) -> dict[str, Any]:
    raw = json.loads(schema) if isinstance(schema, str) else dict(schema)
    return cast(dict[str, Any], parse_schema(raw))


def incompatibilities(
    reader: Mapping[str, Any] | str, writer: Mapping[str, Any] | str
) -> list[str]:
    """Return why data written with WRITER cannot be read with READER (empty: it can)."""
    r, w = _parsed(reader), _parsed(writer)
    return _Check(r.get("__named_schemas", {}), w.get("__named_schemas", {})).run(r, w, "")


def backward_compatible(new: Mapping[str, Any] | str, old: Mapping[str, Any] | str) -> bool:
    """Return True when NEW can read everything written with OLD (BACKWARD)."""
    return not incompatibilities(new, old)


def _short(name: object) -> str:
    return str(name).rsplit(".", 1)[-1]


class _Check:
    def __init__(self, reader_named: Mapping[str, Any], writer_named: Mapping[str, Any]) -> None:
        self.reader_named = reader_named
        self.writer_named = writer_named
        self.seen: set[tuple[str, str]] = set()

    def run(self, reader: Any, writer: Any, path: str) -> list[str]:
        reader, writer = (
            self._resolve(reader, self.reader_named),
            self._resolve(writer, self.writer_named),
        )
        rkind, wkind = type_name(reader), type_name(writer)
        if wkind == "union":
            return [e for branch in writer for e in self.run(reader, branch, path)]
        if rkind == "union":
            if any(not self.run(branch, writer, path) for branch in reader):
                return []
            return [f"{path or '<root>'}: no branch of {_describe(reader)} reads {wkind}"]
        if rkind != wkind:
            if rkind in _PROMOTIONS.get(wkind, ()):
                return []
            return [f"{path or '<root>'}: {wkind} cannot be read as {rkind}"]
        if rkind in _NAMED and _short(reader["name"]) != _short(writer["name"]):
            return [f"{path or '<root>'}: {rkind} {writer['name']} read as {reader['name']}"]
        return self._same_kind(rkind, reader, writer, path)

    def _same_kind(self, kind: str, reader: Any, writer: Any, path: str) -> list[str]:
        where = path or "<root>"
        if kind == "record":
            key = (str(reader["name"]), str(writer["name"]))
            if key in self.seen:  # recursive types: already being checked
                return []
            self.seen.add(key)
            return self._record(reader, writer, path)
        if kind == "enum":
            missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
            if missing and "default" not in reader:
                return [f"{where}: enum symbols {missing} unknown to the reader"]
        elif kind == "fixed" and reader["size"] != writer["size"]:
            return [f"{where}: fixed size {writer['size']} read as {reader['size']}"]
        elif kind == "array":
            return self.run(reader["items"], writer["items"], f"{path}[]")
        elif kind == "map":
            return self.run(reader["values"], writer["values"], f"{path}{{}}")
        return []

    def _record(self, reader: Any, writer: Any, path: str) -> list[str]:
        writer_fields = {f["name"]: f for f in writer["fields"]}
        for field in writer["fields"]:
            for alias in field.get("aliases", ()):
                writer_fields.setdefault(alias, field)
        errors: list[str] = []
        for field in reader["fields"]:
            name = field["name"]
            field_path = f"{path}.{name}" if path else name
            match = next(
                (writer_fields[n] for n in (name, *field.get("aliases", ())) if n in writer_fields),
                None,
            )
            if match is not None:
                errors += self.run(field["type"], match["type"], field_path)
            elif "default" not in field:
                errors.append(f"{field_path}: missing in the writer, and the reader has no default")
        return errors

    @staticmethod
    def _resolve(schema: Any, named: Mapping[str, Any]) -> Any:
        if isinstance(schema, str) and schema not in PRIMITIVES:
            return named[schema]
        return schema


def _describe(schema: Any) -> str:
    return "[" + ", ".join(s if isinstance(s, str) else str(s.get("type")) for s in schema) + "]"

"""Explain why a record does not fit its schema: the slow path behind every EncodeError."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from schemas.exceptions import EncodeError
from schemas.primitives import decimal_writer
from schemas.shapes import NO_DEFAULT, field_default, resolve, type_name

__all__ = ["encode_failure", "first_error"]

_INT_RANGES = {"int": (-(2**31), 2**31), "long": (-(2**63), 2**63)}


def first_error(schema: dict[str, Any], record: object) -> str | None:
    """Return "<Record>.<field>: <problem>" for the first field of RECORD that does not fit."""
    path = str(schema["name"]).rsplit(".", 1)[-1]
    return _check(schema, record, path, schema.get("__named_schemas", {}))


def encode_failure(schema: dict[str, Any]) -> Callable[[object, Exception], EncodeError]:
    """Return fail(record, exc) -> the EncodeError explaining why RECORD did not encode."""
    name = str(schema["name"]).rsplit(".", 1)[-1]

    def fail(record: object, exc: Exception) -> EncodeError:
        return EncodeError(first_error(schema, record) or f"{name}: cannot encode: {exc!r}")

    return fail


def _got(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _check(schema: Any, value: object, path: str, named: Mapping[str, Any]) -> str | None:  # noqa: C901
    schema = resolve(schema, named)
    kind = type_name(schema)
    if kind == "record":
        return _check_record(schema, value, path, named)
    if kind == "union":
        return _check_union(schema, value, path, named)
    if kind in ("array", "map"):
        return _check_collection(schema, kind, value, path, named)
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        if not isinstance(value, int):
            return f"{path}: expected {kind}, got {_got(value)}"
        return None if low <= value < high else f"{path}: {value} is out of the {kind} range"
    if kind in ("double", "float"):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return None if ok else f"{path}: expected {kind}, got {_got(value)}"
    if kind == "string":
        return _check_string(value, path)
    if kind == "enum":
        symbols = schema["symbols"]
        if value in symbols:
            return None
        return f"{path}: {_got(value)} is not one of {', '.join(symbols)}"
    if kind == "bytes":
        return _check_bytes(schema, value, path)
    if kind == "boolean":
        return None if isinstance(value, bool) else f"{path}: expected boolean, got {_got(value)}"
    if kind == "null":
        return None if value is None else f"{path}: expected null, got {_got(value)}"
    if kind == "fixed":
        ok = isinstance(value, bytes) and len(value) == schema["size"]
        return None if ok else f"{path}: expected {schema['size']} bytes, got {_got(value)}"
    return None


def _check_record(
    schema: dict[str, Any], value: object, path: str, named: Mapping[str, Any]
) -> str | None:
    if not isinstance(value, Mapping):
        return f"{path}: expected a mapping (record {schema['name']}), got {_got(value)}"
    for field in schema["fields"]:
        name = field["name"]
        if name not in value:
            if field_default(field) is NO_DEFAULT:
                return f"{path}.{name}: missing, and the field has no default"
            continue
        error = _check(field["type"], value[name], f"{path}.{name}", named)
        if error:
            return error
    return None


def _check_union(
    schema: list[Any], value: object, path: str, named: Mapping[str, Any]
) -> str | None:
    errors = [_check(branch, value, path, named) for branch in schema]
    if None in errors:
        return None
    if value is not None and len(schema) == 2 and "null" in schema:
        return next(e for e in errors if e and "expected null" not in e)
    return f"{path}: {_got(value)} matches no branch of {schema}"


def _check_collection(
    schema: dict[str, Any], kind: str, value: object, path: str, named: Mapping[str, Any]
) -> str | None:
    if kind == "array":
        if not isinstance(value, list | tuple):
            return f"{path}: expected a list, got {_got(value)}"
        items: Iterable[tuple[object, object]] = enumerate(value)
        item_type = schema["items"]
    else:
        if not isinstance(value, Mapping):
            return f"{path}: expected a mapping, got {_got(value)}"
        if not all(isinstance(key, str) for key in value):
            return f"{path}: map keys must be str"
        items = value.items()
        item_type = schema["values"]
    for key, item in items:
        error = _check(item_type, item, f"{path}[{key!r}]", named)
        if error:
            return error
    return None


def _check_string(value: object, path: str) -> str | None:
    if not isinstance(value, str):
        return f"{path}: expected string, got {_got(value)}"
    try:
        value.encode()
    except UnicodeEncodeError:
        return f"{path}: not encodable as UTF-8: {_got(value)}"
    return None


def _check_bytes(schema: Any, value: object, path: str) -> str | None:
    if isinstance(schema, dict) and schema.get("logicalType") == "decimal":
        try:
            decimal_writer(int(schema["precision"]), int(schema.get("scale", 0)))(value)
        except (TypeError, ValueError) as exc:
            return f"{path}: {exc}"
        return None
    ok = isinstance(value, bytes | bytearray | memoryview)
    return None if ok else f"{path}: expected bytes, got {_got(value)}"

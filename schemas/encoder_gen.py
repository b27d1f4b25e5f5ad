"""Generate a specialized Avro encoder for a record schema: Python source, compiled once.

The generated function flattens the record (nested records inline), packs every run of
fixed-size values (doubles, floats, enums, µs timestamps as 8-byte varints) with one
`struct` call, reads short strings' bytes from per-field caches, and joins the pieces
once. It writes exactly the bytes of `fastavro.schemaless_writer`. It does not validate
up front: a record it cannot encode goes to a general variant (timestamps as plain
varints), and what that one cannot encode either is explained field by field in an
EncodeError (schemas.validation).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

from schemas import primitives
from schemas.map_packer import FixedValueMapLayouts
from schemas.shapes import (
    NO_DEFAULT,
    UnsupportedSchemaError,
    field_default,
    is_timestamp_micros,
    nullable_branches,
    resolve,
    type_name,
)
from schemas.validation import encode_failure

__all__ = ["Encoder", "compile_encoder", "encoder_source"]

Encoder = Callable[[Mapping[str, Any]], bytes]

# Fields whose strings rarely repeat (ids, free text) skip the bytes cache: a miss costs
# more than encoding directly. Only speed depends on this, never the bytes written.
_UNIQUE_TEXT = re.compile(r"^id$|_ids?$|^(headline|body|message|reason|url)$")


def _base_namespace() -> dict[str, Any]:
    return {
        "VT": primitives.VT,
        "VZ": primitives.varint,
        "WL": primitives.write_long,
        "WI": primitives.write_int,
        "E0": primitives.TS_E0,
        "E": primitives.TS_E,
        "EH": primitives.TS_HIGH_WORD,
        "D": struct.Struct("<d").pack,
        "F": struct.Struct("<f").pack,
        "BYTES": primitives.write_bytes,
        "BOOL": {False: b"\x00", True: b"\x01"},
        "NUL": {None: b""},
        "Mapping": Mapping,
    }


class _Fixed(NamedTuple):
    """A fixed-size value: its struct format and the expressions packed."""

    fmt: str
    args: tuple[str, ...]


_Piece = str | _Fixed


class _Body:
    """Statements and pieces of one generated function."""

    def __init__(self, *, fast_ts: bool) -> None:
        self.fast_ts = fast_ts
        self.lines: list[str] = []
        self.pieces: list[_Piece] = []


class _Source:
    """Source text and namespace of one generated encoder."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.ns = _base_namespace()
        self.defs: list[str] = []
        self._count = 0
        self._open_records: set[str] = set()
        self._field = ""  # the field whose code is being generated

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, value: object, prefix: str = "K") -> str:
        name = self.fresh(prefix)
        self.ns[name] = value
        return name

    # --- records, flattened into the current function -------------------------------
    def record(self, schema: dict[str, Any], var: str, body: _Body) -> None:
        fullname = str(schema["name"])
        if fullname in self._open_records:
            raise UnsupportedSchemaError(f"recursive record {fullname}")
        self._open_records.add(fullname)
        for field in schema["fields"]:
            self._field = str(field["name"])
            self.value(field["type"], self._access(var, field), body)
        self._open_records.discard(fullname)

    def _access(self, var: str, field: Mapping[str, Any]) -> str:
        name = str(field["name"])
        default = field_default(field)
        if default is NO_DEFAULT:
            return f"{var}[{name!r}]"
        if default is None:
            return f"{var}.get({name!r})"
        return f"{var}.get({name!r}, {self.const(default)})"

    def value(self, schema: Any, expr: str, body: _Body) -> None:
        schema = resolve(schema, self.named)
        kind = type_name(schema)
        if kind == "record":
            var = self.fresh("o")
            body.lines.append(f"{var} = {expr}")
            self.record(schema, var, body)
        elif kind in ("double", "float"):
            body.pieces.append(_Fixed("d" if kind == "double" else "f", (expr,)))
        elif kind == "enum" and len(schema["symbols"]) <= 64:
            table = self.const({s: i << 1 for i, s in enumerate(schema["symbols"])}, "EN")
            body.pieces.append(_Fixed("B", (f"{table}[{expr}]",)))
        elif body.fast_ts and is_timestamp_micros(schema):
            # EH refuses timestamps that are not 8-byte varints; the general variant takes them.
            t = self.fresh("t")
            words = (f"E0[({t} := {expr}) & 8191]", f"E[({t} >> 13) & 16383]", f"EH[{t} >> 27]")
            body.pieces.append(_Fixed("HHI", words))
        else:
            body.pieces.append(self.bytes_expr(schema, expr))

    # --- values as one bytes expression --------------------------------------------
    def bytes_expr(self, schema: Any, expr: str) -> str:
        schema = resolve(schema, self.named)
        kind = type_name(schema)
        if kind in ("int", "long"):
            x, z = self.fresh("x"), self.fresh("z")
            bits, write = (31, "WI") if kind == "int" else (63, "WL")
            zigzag = f"(({x} := {expr}) << 1) ^ ({x} >> {bits})"
            return f"(VT[{z}] if ({z} := {zigzag}) < 16384 else {write}({z}))"
        if kind == "string":
            return self.string_expr(expr)
        if kind in ("double", "float"):
            return f"{'D' if kind == 'double' else 'F'}({expr})"
        if kind == "enum":
            table = {s: primitives.varint(i << 1) for i, s in enumerate(schema["symbols"])}
            return f"{self.const(table, 'EB')}[{expr}]"
        if kind == "union":
            null_index, value_index = nullable_branches(schema)
            x = self.fresh("x")
            inner = self.bytes_expr(schema[value_index], x)
            null_tag, value_tag = primitives.VT[null_index << 1], primitives.VT[value_index << 1]
            return f"({null_tag!r} if ({x} := {expr}) is None else {value_tag!r} + {inner})"
        if kind == "bytes":
            return f"{self._bytes_writer(schema)}({expr})"
        if kind == "map" and (packed := self.fixed_value_map(schema, expr)):
            return packed
        if kind in ("array", "map", "record"):
            return f"{self.helper(schema, kind)}({expr})"
        if kind in ("boolean", "null"):
            return f"{'BOOL' if kind == 'boolean' else 'NUL'}[{expr}]"
        raise UnsupportedSchemaError(f"type {kind!r} is not specialized")

    def string_expr(self, expr: str) -> str:
        if _UNIQUE_TEXT.search(self._field):
            e, n = self.fresh("e"), self.fresh("n")
            size = f"({n} := len({e} := {expr}.encode()) << 1)"
            return f"((VT[{n}] if {size} < 16384 else VZ({n})) + {e})"
        cache: dict[str, bytes] = {}
        get, miss = self.const(cache.get, "C"), self.const(primitives.string_writer(cache), "S")
        x = self.fresh("x")
        return f"({get}({x} := {expr}) or {miss}({x}))"

    def _bytes_writer(self, schema: Any) -> str:
        if isinstance(schema, dict) and schema.get("logicalType") == "decimal":
            writer = primitives.decimal_writer(
                int(schema["precision"]), int(schema.get("scale", 0))
            )
            return self.const(writer, "DEC")
        return "BYTES"

    def fixed_value_map(self, schema: dict[str, Any], expr: str) -> str | None:
        values = type_name(resolve(schema["values"], self.named))
        if values not in ("double", "float"):
            return None
        layouts = FixedValueMapLayouts(values[0])
        get, new = self.const(layouts.get, "MG"), self.const(layouts.new, "MN")
        x = self.fresh("x")
        return f"({get}(tuple({x} := {expr})) or {new}({x}))(*{x}.values())"

    def helper(self, schema: dict[str, Any], kind: str) -> str:
        fn = self.fresh(kind[0].upper())
        if kind == "record":
            body = _Body(fast_ts=False)
            self.record(schema, "o", body)
            lines = [f"def {fn}(o):", *_indent(body.lines), f"    return {self.join(body.pieces)}"]
        elif kind == "array":
            item = self.bytes_expr(schema["items"], "x")
            lines = [
                f"def {fn}(a):",
                "    if type(a) is not list and type(a) is not tuple:",
                "        raise TypeError(f'expected a list, got {type(a).__name__}')",
                "    n = len(a)",
                "    if n == 1:",
                "        x = a[0]",
                f"        return b''.join((b'\\x02', {item}, b'\\x00'))",
                "    if not n:",
                "        return b'\\x00'",
                f"    parts = [{item} for x in a]",
                "    parts.append(b'\\x00')",
                "    return (VT[n << 1] if n < 8192 else VZ(n << 1)) + b''.join(parts)",
            ]
        else:
            key = self.bytes_expr("string", "k")
            item = self.bytes_expr(schema["values"], "x")
            lines = [
                f"def {fn}(m):",
                "    if type(m) is not dict and not isinstance(m, Mapping):",
                "        raise TypeError(f'expected a mapping, got {type(m).__name__}')",
                "    n = len(m)",
                "    if not n:",
                "        return b'\\x00'",
                f"    parts = [{key} + {item} for k, x in m.items()]",
                "    parts.append(b'\\x00')",
                "    return (VT[n << 1] if n < 8192 else VZ(n << 1)) + b''.join(parts)",
            ]
        self.defs.append("\n".join(lines))
        return fn

    def join(self, pieces: list[_Piece]) -> str:
        exprs: list[str] = []
        run: list[_Fixed] = []
        for piece in [*pieces, ""]:
            if isinstance(piece, _Fixed):
                run.append(piece)
                continue
            if run:
                fmt = "<" + "".join(p.fmt for p in run)
                pack = self.const(struct.Struct(fmt).pack, "P")
                exprs.append(f"{pack}({', '.join(a for p in run for a in p.args)})")
                run = []
            if piece:
                exprs.append(piece)
        if not exprs:
            return "b''"
        return exprs[0] if len(exprs) == 1 else f"b''.join(({', '.join(exprs)},))"


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def encoder_source(
    schema: dict[str, Any], *, prefix: bytes = b"", fast_ts: bool = True
) -> tuple[str, dict[str, Any]]:
    """Return the generated source of SCHEMA's encoder and the namespace it runs in."""
    source = _Source(schema.get("__named_schemas", {}))
    body = _Body(fast_ts=fast_ts)
    if prefix:
        body.pieces.append(repr(prefix))
    source.record(schema, "r", body)
    lines = [
        "def encode(r):",
        "    try:",
        *_indent(_indent(body.lines)),
        f"        return {source.join(body.pieces)}",
        *(
            ["    except Exception:", "        return GENERAL(r)"]
            if fast_ts
            else ["    except Exception as exc:", "        raise FAIL(r, exc) from exc"]
        ),
    ]
    source.ns["FAIL"] = encode_failure(schema)
    return "\n\n".join([*source.defs, "\n".join(lines)]) + "\n", source.ns


def _compile(schema: dict[str, Any], prefix: bytes, *, fast_ts: bool) -> tuple[Encoder, bool]:
    text, namespace = encoder_source(schema, prefix=prefix, fast_ts=fast_ts)
    code = compile(text, f"<avro encoder of {schema['name']}>", "exec")
    # The source is generated here from a parsed schema, never from outside input.
    exec(code, namespace)  # noqa: S102
    return cast(Encoder, namespace["encode"]), "EH[" in text


def compile_encoder(schema: dict[str, Any], *, prefix: bytes = b"") -> Encoder:
    """Return a specialized encoder of records of the parsed record SCHEMA.

    PREFIX (the framing) is written before the body. The encoder raises EncodeError naming
    the field for a record that does not fit. Raises UnsupportedSchemaError for schemas the
    generator does not specialize (unions other than [null, T], fixed, recursion).
    """
    general, _ = _compile(schema, prefix, fast_ts=False)
    fast, uses_general = _compile(schema, prefix, fast_ts=True)
    if not uses_general:
        return general
    fast.__globals__["GENERAL"] = general
    return fast

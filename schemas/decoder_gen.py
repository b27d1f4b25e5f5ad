"""Generate a specialized Avro decoder for a record schema: Python source, compiled once.

Two variants are generated. The fast one reads fixed-size runs (doubles, floats, enums,
booleans and µs timestamps as 8-byte varints) with one `struct.unpack_from`, reads
one-byte varints inline, and builds the record as one dict literal; any surprise hands
the bytes to the general one, which reads timestamps as plain varints. What the general
one cannot read is corrupt: DecodeError. Both are strict where fastavro is lenient
(negative enum indexes, trailing bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, cast

from schemas import primitives
from schemas.exceptions import DecodeError
from schemas.shapes import (
    UnsupportedSchemaError,
    is_timestamp_micros,
    nullable_branches,
    resolve,
    type_name,
)

__all__ = ["Decoder", "compile_decoder", "decoder_source"]

Decoder = Callable[[bytes, int], dict[str, Any]]

_FIXED_FORMATS = {"double": "d", "float": "f", "boolean": "B"}


def _base_namespace() -> dict[str, Any]:
    return {
        "ZZ1": primitives.ZZ1,
        "LEN1": primitives.LEN1,
        "RL": primitives.read_long,
        "RI": primitives.read_int,
        "RLEN": primitives.read_len,
        "U0": primitives.TS_U0,
        "U": primitives.TS_U,
        "UH": primitives.TS_HIGH_VALUE,
        "BOOL": {0: False, 1: True},
    }


class _Body:
    """Statements of one block, with the fixed-size run not yet unpacked."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.lines: list[str] = []
        self._fmt = ""
        self._names: list[str] = []

    def fixed(self, fmt: str, count: int = 1) -> list[str]:
        names = [self.source.fresh("f") for _ in range(count)]
        self._fmt += fmt
        self._names += names
        return names

    def stmt(self, *lines: str) -> None:
        self.flush()
        self.lines += lines

    def block(self, inner: _Body) -> None:
        inner.flush()
        self.lines += ["    " + line for line in inner.lines] or ["    pass"]

    def flush(self) -> None:
        if not self._names:
            return
        unpack = struct.Struct("<" + self._fmt)
        name = self.source.const(unpack.unpack_from, "P")
        self.lines += [f"{', '.join(self._names)}, = {name}(b, pos)", f"pos += {unpack.size}"]
        self._fmt, self._names = "", []


class _Source:
    """Source text and namespace of one generated decoder."""

    def __init__(self, named: dict[str, Any], *, fast_ts: bool) -> None:
        self.named = named
        self.fast_ts = fast_ts
        self.ns = _base_namespace()
        self._count = 0
        self._open_records: set[str] = set()

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, value: object, prefix: str = "K") -> str:
        name = self.fresh(prefix)
        self.ns[name] = value
        return name

    def value(self, schema: Any, body: _Body) -> str:
        """Emit statements reading SCHEMA into BODY; return the expression of the value."""
        schema = resolve(schema, self.named)
        kind = type_name(schema)
        if kind in _FIXED_FORMATS:
            (name,) = body.fixed(_FIXED_FORMATS[kind])
            return f"BOOL[{name}]" if kind == "boolean" else name
        if self.fast_ts and is_timestamp_micros(schema):
            w = body.fixed("HHI", 3)
            return f"(U0[{w[0]}] | U[{w[1]}] << 13 | UH[{w[2]}])"
        if kind == "enum" and len(schema["symbols"]) <= 64:
            table = self.const({i << 1: s for i, s in enumerate(schema["symbols"])}, "EN")
            (name,) = body.fixed("B")
            return f"{table}[{name}]"
        if kind in ("int", "long", "enum"):
            return self._varint(schema, kind, body)
        if kind in ("string", "bytes"):
            return self._sized(schema, kind, body)
        if kind == "null":
            return "None"
        if kind == "record":
            return self._record(schema, body)
        if kind == "union":
            return self._union(schema, body)
        if kind in ("array", "map"):
            return self._collection(schema, kind, body)
        raise UnsupportedSchemaError(f"type {kind!r} is not specialized")

    def _varint(self, schema: Any, kind: str, body: _Body) -> str:
        x, v = self.fresh("x"), self.fresh("v")
        read = "RI" if kind == "int" else "RL"
        body.stmt(f"{x} = b[pos]", f"if {x} < 128:", f"    {v} = ZZ1[{x}]", "    pos += 1")
        body.stmt("else:", f"    {v}, pos = {read}(b, pos)")
        if kind == "enum":
            return f"{self.const(dict(enumerate(schema['symbols'])), 'ES')}[{v}]"
        return v

    def _sized(self, schema: Any, kind: str, body: _Body) -> str:
        n, v = self.fresh("n"), self.fresh("s")
        body.stmt(f"{n} = LEN1[b[pos]]", f"if {n} is None:", f"    {n}, pos = RLEN(b, pos)")
        body.stmt("else:", "    pos += 1")
        if kind == "string":
            body.stmt(f"{v} = b[pos:pos + {n}].decode()")
        elif isinstance(schema, dict) and schema.get("logicalType") == "decimal":
            reader = primitives.decimal_reader(
                int(schema["precision"]), int(schema.get("scale", 0))
            )
            body.stmt(f"{v} = {self.const(reader, 'DEC')}(b[pos:pos + {n}])")
        else:
            body.stmt(f"{v} = b[pos:pos + {n}]")
        body.stmt(f"pos += {n}")
        return v

    def _record(self, schema: dict[str, Any], body: _Body) -> str:
        fullname = str(schema["name"])
        if fullname in self._open_records:
            raise UnsupportedSchemaError(f"recursive record {fullname}")
        self._open_records.add(fullname)
        items = [
            f"{field['name']!r}: {self.value(field['type'], body)}" for field in schema["fields"]
        ]
        self._open_records.discard(fullname)
        return "{" + ", ".join(items) + "}"

    def _union(self, schema: list[Any], body: _Body) -> str:
        null_index, value_index = nullable_branches(schema)
        x, v = self.fresh("x"), self.fresh("u")
        inner = _Body(self)
        inner.stmt(f"{v} = {self.value(schema[value_index], inner)}")
        body.stmt(f"{x} = b[pos]", "pos += 1", f"if {x} == {null_index << 1}:", f"    {v} = None")
        body.stmt(f"elif {x} == {value_index << 1}:")
        body.block(inner)
        body.stmt("else:", f"    raise ValueError('union branch ' + str({x}))")
        return v

    def _collection(self, schema: dict[str, Any], kind: str, body: _Body) -> str:
        out, n, x = self.fresh("a"), self.fresh("n"), self.fresh("x")
        item = _Body(self)
        if kind == "array":
            item.stmt(f"{out}.append({self.value(schema['items'], item)})")
        else:
            key = self.value("string", item)
            item.stmt(f"{out}[{key}] = {self.value(schema['values'], item)}")
        body.stmt(f"{out} = {'[]' if kind == 'array' else '{}'}", "while True:")
        loop = _Body(self)
        loop.stmt(f"{x} = b[pos]", f"if {x} < 128:", f"    {n} = ZZ1[{x}]", "    pos += 1")
        loop.stmt("else:", f"    {n}, pos = RL(b, pos)")
        loop.stmt(f"if {n} <= 0:", f"    if not {n}:", "        break")
        loop.stmt(f"    {n} = -{n}", "    _, pos = RL(b, pos)", f"for _ in range({n}):")
        loop.block(item)
        body.block(loop)
        return out


def decoder_source(schema: dict[str, Any], *, fast_ts: bool) -> tuple[str, dict[str, Any]]:
    """Return the generated source of SCHEMA's decoder and the namespace it runs in.

    The fast variant (FAST_TS) calls GENERAL on any error; the general one raises FAIL(...).
    """
    source = _Source(schema.get("__named_schemas", {}), fast_ts=fast_ts)
    body = _Body(source)
    record = source.value(schema, body)
    body.stmt("if pos != len(b):", "    raise ValueError('trailing bytes')", f"return {record}")
    lines = ["def decode(b, start=0):", "    pos = start", "    try:"]
    lines += ["        " + line for line in body.lines]
    if fast_ts:
        lines += ["    except Exception:", "        return GENERAL(b, start)"]
    else:
        lines += ["    except Exception as exc:", "        raise FAIL(b, pos, exc) from exc"]
    return "\n".join(lines) + "\n", source.ns


def _failure(schema: dict[str, Any]) -> Callable[[bytes, int, Exception], DecodeError]:
    label = str(schema["name"]).rsplit(".", 1)[-1]

    def fail(data: bytes, pos: int, exc: Exception) -> DecodeError:
        if isinstance(exc, IndexError | struct.error) or pos > len(data):
            reason = f"{label}: truncated body ({len(data)} bytes)"
        else:
            reason = f"{label}: undecodable body near byte {pos}: {type(exc).__name__}: {exc}"
        return DecodeError(reason, raw=bytes(data))

    return fail


def _compile(schema: dict[str, Any], *, fast_ts: bool) -> tuple[Decoder, bool]:
    text, namespace = decoder_source(schema, fast_ts=fast_ts)
    namespace["FAIL"] = _failure(schema)
    code = compile(text, f"<avro decoder of {schema['name']}>", "exec")
    # The source is generated here from a parsed schema, never from outside input.
    exec(code, namespace)  # noqa: S102
    return cast(Decoder, namespace["decode"]), "UH[" in text


def compile_decoder(schema: dict[str, Any]) -> Decoder:
    """Return a specialized decoder `decode(data, offset)` of the parsed record SCHEMA.

    It raises DecodeError (with the raw bytes) on bytes that are not a record of SCHEMA,
    and UnsupportedSchemaError for schemas it does not specialize.
    """
    general, _ = _compile(schema, fast_ts=False)
    fast, uses_fast_ts = _compile(schema, fast_ts=True)
    if not uses_fast_ts:
        return general
    fast.__globals__["GENERAL"] = general
    return fast

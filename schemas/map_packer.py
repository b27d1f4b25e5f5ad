"""Encode Avro maps of doubles (or floats) with one `struct` call per map.

Such maps keep the same keys record after record (a strategy's params, an indicator's
features), so the encoding of a key set is a constant layout: the count, each key's
bytes, a hole for each value, the end marker. Per key set we build a `struct` format
whose `s` fields carry the constant key bytes, and a small generated function that
interleaves them with the values.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, cast

from schemas import primitives

__all__ = ["MAX_KEY_SETS", "MAX_PACKED_ENTRIES", "FixedValueMapLayouts"]

MAX_KEY_SETS = 1024  # per map field; past it new key sets are encoded without caching
MAX_PACKED_ENTRIES = 64  # larger maps are joined piece by piece

MapEncoder = Callable[[Mapping[str, Any]], bytes]


@cache
def _interleaver(n: int) -> Callable[..., Callable[..., bytes]]:
    """Return make(pack, c0..cn-1) -> (v0..vn-1 -> pack(c0, v0, ..., cn-1, vn-1))."""
    consts = ", ".join(f"c{i}" for i in range(n))
    values = ", ".join(f"v{i}" for i in range(n))
    pairs = ", ".join(f"c{i}, v{i}" for i in range(n))
    text = f"def make(pack, {consts}):\n    return lambda {values}: pack({pairs})\n"
    namespace: dict[str, Any] = {}
    # Generated from an integer only; no outside input reaches the source.
    exec(compile(text, f"<map packer {n}>", "exec"), namespace)  # noqa: S102
    return cast(Callable[..., Callable[..., bytes]], namespace["make"])


def _key_bytes(key: object) -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"map keys must be str, got {type(key).__name__}")
    raw = key.encode()
    return primitives.varint(len(raw) << 1) + raw


class FixedValueMapLayouts:
    """The layouts of one map field: `(layouts.get(tuple(m)) or layouts.new(m))(*m.values())`.

    Generated encoders inline that expression; `encode` spells it out.
    """

    def __init__(self, value_format: str) -> None:
        """Serve maps whose values have struct format VALUE_FORMAT ("d" or "f")."""
        self._item = struct.Struct("<" + value_format)
        self._format = value_format
        self._packers: dict[tuple[Any, ...], Callable[..., bytes]] = {(): lambda: b"\x00"}
        self.get = self._packers.get

    def new(self, m: Mapping[str, Any]) -> Callable[..., bytes]:
        """Return the packer of M's key set, building (and remembering) it."""
        if not isinstance(m, Mapping):
            raise TypeError(f"expected a mapping, got {type(m).__name__}")
        keys = tuple(m)
        consts = [_key_bytes(k) for k in keys]
        if len(keys) > MAX_PACKED_ENTRIES:
            return self._joiner(consts)
        consts[0] = primitives.varint(len(keys) << 1) + consts[0]
        fmt = "<" + "".join(f"{len(c)}s{self._format}" for c in consts) + "x"
        packer = _interleaver(len(keys))(struct.Struct(fmt).pack, *consts)
        if len(self._packers) < MAX_KEY_SETS:
            self._packers[keys] = packer
        return packer

    def _joiner(self, consts: list[bytes]) -> Callable[..., bytes]:
        count, pack = primitives.varint(len(consts) << 1), self._item.pack

        def join(*values: Any) -> bytes:
            body = b"".join([c + pack(v) for c, v in zip(consts, values, strict=True)])
            return count + body + b"\x00"

        return join

    def encode(self, m: Mapping[str, Any]) -> bytes:
        """Return the Avro bytes of map M."""
        return (self.get(tuple(m)) or self.new(m))(*m.values())

"""Avro primitive encodings (zig-zag varints, decimals) and the lookup tables generated code uses.

The tables trade ~6 MB of memory and ~25 ms of import time for speed: a µs timestamp in
[2**48, 2**55) is always an 8-byte varint, which the specialized codecs move through
`struct` as two 16-bit words (one table lookup each) and one 32-bit word (a small cache:
it changes every ~134 s of event time) instead of a 7-bit loop.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

__all__ = [
    "TS_FAST_MAX",
    "TS_FAST_MIN",
    "decimal_reader",
    "decimal_writer",
    "read_int",
    "read_len",
    "read_long",
    "string_writer",
    "varint",
    "write_bytes",
    "write_int",
    "write_long",
]

# µs timestamps in this range (1978-11-05 to 3111-11-20) are 8-byte varints.
TS_FAST_MIN = 1 << 48
TS_FAST_MAX = 1 << 55

_LONG_Z_LIMIT = 1 << 64
_INT_Z_LIMIT = 1 << 32


def _varint_loop(z: int) -> bytes:
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


# Encoded varint of every z < 2**14 (one or two bytes).
VT: tuple[bytes, ...] = tuple(_varint_loop(z) for z in range(1 << 14))
# Two continuation bytes carrying 14 bits, for the low part of longer varints.
_HI2: tuple[bytes, ...] = tuple(bytes(((c & 0x7F) | 0x80, (c >> 7) | 0x80)) for c in range(1 << 14))


def varint(z: int) -> bytes:
    """Return the varint bytes of non-negative Z (already zig-zagged, or a count)."""
    if z < 16384:
        return VT[z]
    out = b""
    while z >= 16384:
        out += _HI2[z & 16383]
        z >>= 14
    return out + VT[z]


def write_long(z: int) -> bytes:
    """Return the varint of zig-zagged Z; raise OverflowError past the 64-bit range."""
    if z >= _LONG_Z_LIMIT:
        raise OverflowError("long out of the 64-bit range")
    return varint(z)


def write_bytes(value: bytes) -> bytes:
    """Return Avro `bytes`: the length, then VALUE."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return varint(len(value) << 1) + bytes(value)


def string_writer(
    cache: dict[str, bytes], max_bytes: int = 64, max_entries: int = 4096
) -> Callable[[str], bytes]:
    """Return an encoder of Avro strings that remembers short ones in CACHE (bounded)."""

    def write(text: str) -> bytes:
        if not isinstance(text, str):
            raise TypeError(f"expected str, got {type(text).__name__}")
        raw = text.encode()
        size = len(raw)
        out = (VT[size << 1] if size < 8192 else varint(size << 1)) + raw
        if size <= max_bytes and len(cache) < max_entries:
            cache[text] = out
        return out

    return write


def write_int(z: int) -> bytes:
    """Return the varint of zig-zagged Z; raise OverflowError past the 32-bit range."""
    if z >= _INT_Z_LIMIT:
        raise OverflowError("int out of the 32-bit range")
    return varint(z)


def _spread(c: int, last: bool) -> int:
    # 14 bits -> two 7-bit groups in one little-endian 16-bit word, continuation bits set
    # on both bytes, or only on the first one for the last word of the varint.
    return (c & 0x7F) | ((c >> 7) << 8) | (0x0080 if last else 0x8080)


# Encoder: four 16-bit words of the 8-byte varint of a timestamp t >= 0 (z = 2t).
TS_E0: tuple[int, ...] = tuple(_spread(c << 1, last=False) for c in range(1 << 13))
TS_E: tuple[int, ...] = tuple(_spread(c, last=False) for c in range(1 << 14))
TS_EL: tuple[int, ...] = tuple(_spread(c, last=True) for c in range(1 << 14))


def _word_table(cont: int, shift_out_sign: bool) -> list[int | None]:
    table: list[int | None] = [None] * 65536
    for c in range(1 << 14):
        word = (c & 0x7F) | ((c >> 7) << 8) | cont
        if not shift_out_sign:
            table[word] = c
        elif not c & 1:
            table[word] = c >> 1
    return table


# Decoder: inverse tables; None marks a word that is not part of an 8-byte varint of a
# non-negative long, so the generated code fails (TypeError) and the caller falls back.
TS_U0 = _word_table(0x8080, shift_out_sign=True)
TS_U = _word_table(0x8080, shift_out_sign=False)
TS_UL = _word_table(0x0080, shift_out_sign=False)


class _BoundedTable(dict[int, int]):
    """A dict that computes missing entries and forgets them all when it is full."""

    def __init__(self, compute: Callable[[int], int], limit: int = 4096) -> None:
        super().__init__()
        self._compute = compute
        self._limit = limit

    def __missing__(self, key: int) -> int:
        value = self._compute(key)
        if len(self) >= self._limit:
            self.clear()
        self[key] = value
        return value


def _high_word_value(word: int) -> int:
    low, high = TS_U[word & 0xFFFF], TS_UL[word >> 16]
    if low is None or high is None:
        raise ValueError("not the high half of an 8-byte varint")
    return low << 27 | high << 41


def _high_word(t_high: int) -> int:
    # t_high = t >> 27: in range exactly when t is in [TS_FAST_MIN, TS_FAST_MAX).
    if not 1 << 21 <= t_high < 1 << 28:
        raise ValueError("timestamp is not an 8-byte varint")
    return TS_E[t_high & 16383] | TS_EL[t_high >> 14] << 16


# The high 32-bit word of a timestamp's varint (its bits 27..54) changes every ~134 s of
# event time, so both directions look it up in a small cache instead of two tables.
TS_HIGH_VALUE = _BoundedTable(_high_word_value)
TS_HIGH_WORD = _BoundedTable(_high_word)

# One-byte varints: value of each byte < 0x80; string lengths (None: negative or longer).
ZZ1: tuple[int, ...] = tuple((x >> 1) ^ -(x & 1) for x in range(128))
LEN1: tuple[int | None, ...] = tuple(x >> 1 if x < 0x80 and not x & 1 else None for x in range(256))


def read_long(b: bytes, pos: int) -> tuple[int, int]:
    """Read a zig-zag varint long at POS; return (value, next position)."""
    # Unrolled for the 1-3 byte varints of counts and sequence numbers.
    x = b[pos]
    if x < 0x80:
        return (x >> 1) ^ -(x & 1), pos + 1
    z = x & 0x7F
    x = b[pos + 1]
    if x < 0x80:
        z |= x << 7
        return (z >> 1) ^ -(z & 1), pos + 2
    z |= (x & 0x7F) << 7
    x = b[pos + 2]
    if x < 0x80:
        z |= x << 14
        return (z >> 1) ^ -(z & 1), pos + 3
    z |= (x & 0x7F) << 14
    pos += 3
    shift = 21
    while True:
        x = b[pos]
        pos += 1
        z |= (x & 0x7F) << shift
        if x < 0x80:
            return (z >> 1) ^ -(z & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def read_int(b: bytes, pos: int) -> tuple[int, int]:
    """Read a zig-zag varint int at POS; reject values past the 32-bit range."""
    value, pos = read_long(b, pos)
    if not -(1 << 31) <= value < 1 << 31:
        raise ValueError("int out of the 32-bit range")
    return value, pos


def read_len(b: bytes, pos: int) -> tuple[int, int]:
    """Read a non-negative length at POS."""
    value, pos = read_long(b, pos)
    if value < 0:
        raise ValueError("negative length")
    return value, pos


def decimal_writer(precision: int, scale: int) -> Callable[[object], bytes]:
    """Return an encoder of Decimal/int/float to Avro `bytes` (length-prefixed).

    Values are quantized to SCALE (half-even), like a SQL DECIMAL column; the bytes are
    those fastavro writes for the quantized Decimal.
    """
    quantum = Decimal(1).scaleb(-scale)
    limit = 10**precision

    def write(value: object) -> bytes:
        if isinstance(value, Decimal):
            dec = value
        elif isinstance(value, int) and not isinstance(value, bool):
            dec = Decimal(value)
        elif isinstance(value, float):
            dec = Decimal(repr(value))
        else:
            raise TypeError(f"expected Decimal, int or float, got {type(value).__name__}")
        try:
            unscaled = int(dec.quantize(quantum, rounding=ROUND_HALF_EVEN).scaleb(scale))
        except (InvalidOperation, ValueError, OverflowError) as exc:
            raise ValueError(f"{value!r} is not a finite decimal of scale {scale}") from exc
        if not -limit < unscaled < limit:
            raise ValueError(f"{value!r} exceeds decimal precision {precision}")
        raw = unscaled.to_bytes((abs(unscaled).bit_length() + 8) // 8, "big", signed=True)
        return VT[len(raw) << 1] + raw

    return write


def decimal_reader(precision: int, scale: int) -> Callable[[bytes], Decimal]:
    """Return a decoder of a decimal's two's-complement bytes, as fastavro reads it."""
    context = Context(prec=precision)

    def read(raw: bytes) -> Decimal:
        unscaled = int.from_bytes(raw, "big", signed=True)
        return context.create_decimal(unscaled).scaleb(-scale, context)

    return read

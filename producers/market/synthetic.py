"""Seeded synthetic quotes or bars: geometric Brownian motion per symbol, made in numpy blocks.

Model. Each symbol's mid price follows GBM in event time,
`log S(t+dt) = log S(t) + (drift - vol**2 / 2) dt + vol sqrt(dt) Z`, with drift and vol per
year (a calendar year of 365.25 days) and `dt = interval_ms` in years. Every step each symbol
gets one record, symbols interleaved round-robin, and `seq` is the step number.

- Quotes: the spread is `spread_bps` scaled by vol / 25 %, times log-normal noise, around
  the mid; bid is rounded down and ask up to the tick (0.01, or 0.0001 below 1.00), so
  bid < ask always and low-priced names quote wider in bps. Sizes are round lots of
  100-5000 shares; `last` is the bid or the ask (a trade at the touch).
- Bars: each bar walks 16 sub-steps from the previous close; high/low are the extremes of
  that walk, `ts_event_us` is the bar's close time and `interval_secs = interval_ms / 1000`.

The same options give the same records (only `ts_ingest_us` comes from the clock), and a
larger `count` only appends. Spec options, `synthetic:k=v,...`:

| option      | default                  | meaning                                         |
| ----------- | ------------------------ | ----------------------------------------------- |
| kind        | quote                    | quote or bar                                    |
| symbols     | AAPL,MSFT,GOOG           | comma-separated                                 |
| seed        | 0                        | random seed                                     |
| count       | 10000                    | records in total, all symbols together          |
| interval_ms | 1000 (quote), 60000 (bar)| event time between steps                        |
| start       | 2024-01-02T14:30:00Z     | event time of the first step (ISO or epoch)     |
| drift       | 0.05                     | GBM drift per year, every symbol                |
| vol         | 0.25                     | GBM volatility per year, every symbol           |
| price       | per symbol (AAPL 190...) | start price, every symbol                       |
| spread_bps  | 2.0                      | typical spread at 25 % vol, before tick rounding|

Per-symbol drifts, vols and start prices are `SyntheticSource` fields (mappings by symbol).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from infra.clock import Clock
from producers.exceptions import SourceError
from producers.market.base import MarketKind, parse_options
from producers.rows import SourceRow
from producers.timestamps import parse_timestamp_us

__all__ = ["DEFAULT_START_PRICES", "SyntheticSource", "synthetic_source"]

DEFAULT_START_PRICES: Mapping[str, float] = {
    "AAPL": 190.0, "MSFT": 375.0, "GOOG": 140.0, "AMZN": 150.0, "TSLA": 250.0,
    "NVDA": 480.0, "META": 350.0, "NFLX": 480.0, "SPY": 475.0, "QQQ": 410.0,
}  # fmt: skip
"""Start prices of well-known symbols; others get a price derived from the symbol name."""

_US_PER_YEAR = 365.25 * 86_400 * 1_000_000
_BLOCK_RECORDS = 10_000
_BAR_SUBSTEPS = 16
_DEFAULT_START_US = 1_704_205_800_000_000  # 2024-01-02T14:30:00Z, a US market open

Floats = npt.NDArray[np.float64]


def _default_price(symbol: str) -> float:
    # Stable across runs (unlike hash()): 10.00 to 500.00, from the name.
    return DEFAULT_START_PRICES.get(symbol, 10.0 + zlib.crc32(symbol.encode()) % 49_000 / 100)


def _ticks_per_unit(prices: Floats) -> Floats:
    return np.where(prices >= 1.0, 100.0, 10_000.0)


@dataclass(frozen=True)
class SyntheticSource:
    """Seeded GBM quotes or bars for SYMBOLS; see the module doc for the model and options."""

    clock: Clock
    symbols: tuple[str, ...] = ("AAPL", "MSFT", "GOOG")
    kind: MarketKind = "quote"
    seed: int = 0
    count: int = 10_000
    interval_ms: int | None = None
    start_us: int = _DEFAULT_START_US
    drift_per_year: float = 0.05
    vol_per_year: float = 0.25
    spread_bps: float = 2.0
    start_price: float | None = None
    start_prices: Mapping[str, float] = field(default_factory=dict)
    drifts: Mapping[str, float] = field(default_factory=dict)
    vols: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = {
            "symbols is empty": not self.symbols,
            "count is negative": self.count < 0,
            "interval_ms must be positive": self.step_ms <= 0,
            "bar interval_ms must be whole seconds": self.kind == "bar" and self.step_ms % 1000,
            "vol is negative": min(self._per_symbol(self.vols, self.vol_per_year)) < 0,
            "start price must be positive": min(self._start_prices()) <= 0,
            "kind must be quote or bar": self.kind not in ("quote", "bar"),
        }
        for problem, broken in problems.items():
            if broken:
                raise ValueError(problem)

    @classmethod
    def from_options(
        cls, options: Mapping[str, str], *, clock: Clock, spec: str
    ) -> SyntheticSource:
        """Build from `synthetic:` spec OPTIONS (module doc); SourceError naming SPEC if bad."""
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            names, accepted = ", ".join(sorted(unknown)), ", ".join(_OPTIONS)
            raise SourceError(spec, f"unknown option(s) {names}; accepted: {accepted}")
        kwargs: dict[str, Any] = {}
        try:
            for name, text in options.items():
                key, parse = _OPTIONS[name]
                kwargs[key] = parse(text)
            return cls(clock=clock, **kwargs)
        except ValueError as err:
            raise SourceError(spec, str(err)) from None

    @property
    def step_ms(self) -> int:
        """Event time between steps: interval_ms, or 1000 for quotes and 60000 for bars."""
        if self.interval_ms is not None:
            return self.interval_ms
        return 1_000 if self.kind == "quote" else 60_000

    @property
    def total(self) -> int:
        """Records the source yields: `count`."""
        return self.count

    def _per_symbol(self, overrides: Mapping[str, float], default: float) -> Floats:
        return np.array([overrides.get(s, default) for s in self.symbols], dtype=np.float64)

    def _default_start(self, symbol: str) -> float:
        return _default_price(symbol) if self.start_price is None else self.start_price

    def _start_prices(self) -> Floats:
        return np.array(
            [self.start_prices.get(s, self._default_start(s)) for s in self.symbols],
            dtype=np.float64,
        )

    def records(self) -> Iterator[SourceRow]:
        """Yield `count` records, symbols round-robin, generated in blocks of ~10k."""
        walk = _Walk(self)
        blocks = walk.quote_blocks() if self.kind == "quote" else walk.bar_blocks()
        rows = itertools.chain.from_iterable(blocks)
        clock = self.clock
        for row in itertools.islice(rows, self.count):
            row["ts_ingest_us"] = clock()
            yield SourceRow(None, row)


class _Walk:
    """The random state of one run: per-symbol GBM parameters and current log prices."""

    def __init__(self, source: SyntheticSource) -> None:
        self.symbols = list(source.symbols)
        self.rng = np.random.default_rng(source.seed)
        self.dt = source.step_ms * 1_000 / _US_PER_YEAR
        self.step_us = source.step_ms * 1_000
        self.start_us = source.start_us
        drift = source._per_symbol(source.drifts, source.drift_per_year)
        self.vol = source._per_symbol(source.vols, source.vol_per_year)
        self.mean = (drift - self.vol**2 / 2) * self.dt
        self.log_price = np.log(source._start_prices())
        self.spread_bps = source.spread_bps * self.vol / 0.25
        self.steps = max(1, _BLOCK_RECORDS // len(self.symbols))

    def _advance(self, shape: tuple[int, ...], dt_fraction: float = 1.0) -> Floats:
        """Return cumulative log prices for SHAPE[0] steps from now; move now to the last."""
        noise = self.rng.standard_normal((*shape, len(self.symbols)))
        increments = self.mean * dt_fraction + self.vol * np.sqrt(self.dt * dt_fraction) * noise
        flat = increments.reshape(-1, len(self.symbols))
        path: Floats = self.log_price + np.cumsum(flat, axis=0)
        self.log_price = path[-1]
        return path.reshape((*shape, len(self.symbols)))

    def _keys(self, first: int, ts_offset: int) -> dict[str, list[Any]]:
        steps = np.arange(first, first + self.steps)
        return {
            "symbol": self.symbols * self.steps,
            "ts_event_us": np.repeat(self.start_us + (steps + ts_offset) * self.step_us,
                                     len(self.symbols)).tolist(),
            "seq": np.repeat(steps, len(self.symbols)).tolist(),
        }  # fmt: skip

    def quote_blocks(self) -> Iterator[list[dict[str, Any]]]:
        rng, n = self.rng, len(self.symbols)
        for first in itertools.count(0, self.steps):
            # Step 0 quotes the start price; a block continues from the last price before it.
            start = self.log_price
            path = self._advance((self.steps,))
            mid = np.exp(np.vstack([start, path[:-1]]))
            half = mid * self.spread_bps / 20_000 * np.exp(0.3 * rng.standard_normal(mid.shape))
            tpu = _ticks_per_unit(mid)
            bid = np.maximum(np.floor((mid - half) * tpu), 1.0)
            ask = np.maximum(np.ceil((mid + half) * tpu), bid + 1.0)
            bid, ask = bid / tpu, ask / tpu
            sizes = rng.integers(1, 51, size=(2, self.steps, n)) * 100.0
            last = np.where(rng.random(mid.shape) < 0.5, bid, ask)
            yield _rows(
                self._keys(first, 0),
                ts_ingest_us=[0] * (self.steps * n),
                bid=bid.ravel().tolist(), ask=ask.ravel().tolist(),
                bid_size=sizes[0].ravel().tolist(), ask_size=sizes[1].ravel().tolist(),
                last=last.ravel().tolist(),
            )  # fmt: skip

    def bar_blocks(self) -> Iterator[list[dict[str, Any]]]:
        n, interval_secs = len(self.symbols), self.step_us // 1_000_000
        for first in itertools.count(0, self.steps):
            open_ = np.vstack([self.log_price, np.zeros((self.steps - 1, n))])
            path = self._advance((self.steps, _BAR_SUBSTEPS), 1 / _BAR_SUBSTEPS)
            open_[1:] = path[:-1, -1]
            tpu = _ticks_per_unit(np.exp(open_))
            prices = {
                "open": np.exp(open_),
                "high": np.exp(np.maximum(open_, path.max(axis=1))),
                "low": np.exp(np.minimum(open_, path.min(axis=1))),
                "close": np.exp(path[:, -1]),
            }
            mean_volume = 2_000_000 * interval_secs / 23_400  # ~2M shares per 6.5 h session
            noise = self.rng.standard_normal((self.steps, n))
            lots = mean_volume / 100 * np.exp(0.5 * noise - 0.125)  # log-normal, mean 1
            yield _rows(
                self._keys(first, 1),
                ts_ingest_us=[0] * (self.steps * n),
                interval_secs=[interval_secs] * (self.steps * n),
                **{k: _on_tick(v, tpu).ravel().tolist() for k, v in prices.items()},
                volume=(np.round(lots) * 100.0).ravel().tolist(),
            )


def _on_tick(prices: Floats, ticks_per_unit: Floats) -> Floats:
    """Round PRICES to the nearest tick, and never below one tick."""
    ticks: Floats = np.maximum(np.round(prices * ticks_per_unit), 1.0)
    return ticks / ticks_per_unit


def _rows(keys: dict[str, list[Any]], **columns: list[Any]) -> list[dict[str, Any]]:
    """Zip column lists into records, key fields first, `seq` last (the schema order)."""
    seq = keys.pop("seq")
    names = [*keys, *columns, "seq"]
    rows = zip(*keys.values(), *columns.values(), seq, strict=True)
    return [dict(zip(names, values, strict=True)) for values in rows]


_OPTIONS: dict[str, tuple[str, Callable[[str], object]]] = {
    "kind": ("kind", str),
    "symbols": ("symbols", lambda text: tuple(s.strip() for s in text.split(",") if s.strip())),
    "seed": ("seed", int),
    "count": ("count", int),
    "interval_ms": ("interval_ms", int),
    "start": ("start_us", parse_timestamp_us),
    "drift": ("drift_per_year", float),
    "vol": ("vol_per_year", float),
    "price": ("start_price", float),
    "spread_bps": ("spread_bps", float),
}


def synthetic_source(rest: str, *, clock: Clock, spec: str) -> SyntheticSource:
    """Return the `synthetic[:k=v,...]` source."""
    return SyntheticSource.from_options(parse_options(spec, rest), clock=clock, spec=spec)

"""Signal records (Signal.avsc) from strategy views, with deterministic ids."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from streams.exceptions import InvalidInputError
from streams.strategies.base import SIDE_TEXT, Params, Side, StrategyView

__all__ = ["make_signal", "numeric_params", "signal_id", "view_from_signal"]

_ID_BYTES = 12
# The string encoder json.dumps(..., ensure_ascii=False) uses (C where available).
_JSON_STR = json.encoder.encode_basestring


def signal_id(
    symbol: str, strategy_name: str, ts_event_us: int, trigger_ids: Sequence[str] = ()
) -> str:
    """Return the signal's id: 24 hex chars of BLAKE2b over its identifying fields.

    Same inputs, same id, in every process and replay: a replayed signal overwrites (or is
    deduplicated against) the original. The order of TRIGGER_IDS matters.
    """
    # JSON keeps the fields apart unambiguously ("a|b" + "c" != "a" + "b|c").
    payload: str | None = None
    if type(symbol) is str and type(strategy_name) is str and type(ts_event_us) is int:
        # What json.dumps gives for these fields, written out: the same text, faster.
        parts: list[str] = []
        triggers: Sequence[object] = trigger_ids  # checked here, not at the compiled call
        for trigger in triggers:
            if type(trigger) is not str:
                break
            parts.append(_JSON_STR(trigger))
        else:
            payload = (
                "[" + _JSON_STR(symbol) + "," + _JSON_STR(strategy_name) + ","
                + str(ts_event_us) + ",[" + ",".join(parts) + "]]"
            )  # fmt: skip
    if payload is None:
        fields = [symbol, strategy_name, int(ts_event_us), list(trigger_ids)]
        payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(payload.encode(), digest_size=_ID_BYTES).hexdigest()


def numeric_params(params: Params) -> dict[str, float]:
    """Return PARAMS as Signal's `map<string, double>`: numbers as floats, booleans as 1/0.

    String parameters (the kind of a moving average) are left out; the feature names
    (`ema_10`) carry them.
    """
    return {k: float(v) for k, v in params.items() if not isinstance(v, str)}


def make_signal(
    symbol: str,
    strategy: str,
    view: StrategyView,
    *,
    ref_price: float,
    ts_event_us: object,
    params: Params,
    trigger_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Return the Signal record of VIEW, fired by STRATEGY (its configured name) on SYMBOL.

    Raise InvalidInputError for a non-finite or non-positive REF_PRICE, a non-integer
    TS_EVENT_US or a non-finite feature: corrupt data does not flow on.
    """
    if not (math.isfinite(ref_price) and ref_price > 0.0):
        raise InvalidInputError(
            f"{symbol} {strategy}: ref_price must be positive, not {ref_price!r}"
        )
    if isinstance(ts_event_us, bool) or not isinstance(ts_event_us, int):
        raise InvalidInputError(f"{symbol} {strategy}: ts_event_us must be int µs: {ts_event_us!r}")
    features: dict[str, float] = {}
    for key, value in view.features.items():
        number = float(value)
        if not math.isfinite(number):
            bad = [k for k, v in view.features.items() if not math.isfinite(float(v))]
            raise InvalidInputError(f"{symbol} {strategy}: non-finite features {bad}")
        features[key] = number
    triggers = [str(t) for t in trigger_ids]
    return {
        "id": signal_id(symbol, strategy, ts_event_us, triggers),
        "symbol": symbol,
        "strategy": strategy,
        "side": SIDE_TEXT[view.side],
        "strength": float(view.strength),
        "confidence": float(view.confidence),
        "ref_price": float(ref_price),
        "ts_event_us": ts_event_us,
        "params": numeric_params(params),
        "features": features,
        "trigger_ids": triggers,
    }


def view_from_signal(record: Mapping[str, Any]) -> StrategyView:
    """Return the view a Signal record carries (for an ensemble fed from the signals topic).

    Raise InvalidInputError if the record's side, strength or confidence do not make a view.
    """
    try:
        return StrategyView(
            Side(record["side"]),
            float(record["strength"]),
            float(record["confidence"]),
            {k: float(v) for k, v in record.get("features", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"signal {record.get('id')!r} is not a valid view: {exc}") from exc

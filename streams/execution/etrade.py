"""The E*TRADE live adapter: `BrokerAdapter` over pyetrade, and an order is never placed twice.

- **submit** previews, then places, with a clientOrderId derived from our order id
  (`etrade_orders.client_order_id`). When placing times out or the connection fails, the
  order may or may not be at E*TRADE, so the adapter does not resend blindly: it lists the
  account's orders and looks for our clientOrderId, and places again only if it is not
  there. E*TRADE's own refusal of a duplicate clientOrderId also means "already placed".
  After `max_attempts` it raises `BrokerUnavailableError`; the order stays tracked as
  pending and a later `poll` (or the same order submitted again) resolves it by
  clientOrderId. An order we already placed is not sent again (EMPTY report).
  E*TRADE's refusals (preview or place) become REJECTED events carrying its message.
- **poll** lists the account's orders and reports, for the orders we placed and still
  track, each status change (OrderEvent) and each executed quantity (Fill, id
  `etrade-<orderId>-<n>`). It sends nothing when no order is open.
- **cancel** asks E*TRADE to cancel, then lists the orders: what is already known of the
  outcome (CANCELED, or the fills that beat the cancel) comes back at once, the rest with
  a later poll. Cancelling an order we do not track is a no-op.
- **positions** reads the portfolio (equities; shorts negative).
- Reads are retried `max_attempts` times on timeouts, connection errors and 5xx, with
  exponential backoff from `retry_backoff_secs`, then `BrokerUnavailableError`.
- Tokens, hosts, timeouts and secret redaction: `streams.execution.etrade_session`.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from infra.clock import Clock
from infra.settings import Settings
from streams.execution.broker import BrokerConfigError, BrokerUnavailableError
from streams.execution.etrade_auth import read_tokens
from streams.execution.etrade_orders import (
    VENUE,
    UnsupportedOrderError,
    VenueOrder,
    as_list,
    client_order_id,
    order_request,
    parse_positions,
    venue_order,
)
from streams.execution.etrade_session import (
    REDACTOR,
    TRANSIENT_ERRORS,
    ETradeApiError,
    ETradeConfig,
    ETradeSession,
    VenueServerError,
)
from streams.execution.etrade_tracker import OrderTracker, TrackedOrder, find_venue_order
from streams.execution.reports import EMPTY, ExecutionReport, order_event

__all__ = ["ETradeBroker", "ETradeConfig", "config_from_settings", "is_duplicate_client_id"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# E*TRADE's duplicate-clientOrderId error is matched by its wording (its code is not in
# the public v1 documentation): "client order id" near "duplicate"/"already"/"unique".
_DUPLICATE = re.compile(r"client\s*order\s*id", re.I)
_DUPLICATE_WORDS = re.compile(r"duplicate|already|unique", re.I)


def is_duplicate_client_id(err: ETradeApiError) -> bool:
    """Return True when ERR is E*TRADE refusing a clientOrderId it has already seen."""
    return bool(_DUPLICATE.search(err.message) and _DUPLICATE_WORDS.search(err.message))


def config_from_settings(settings: Settings, **overrides: Any) -> ETradeConfig:
    """Return the adapter config from SETTINGS; raise `BrokerConfigError` naming what is unset.

    The access token comes from PRIMESTREAM_ETRADE_ACCESS_TOKEN / _SECRET when set, else
    from the token file `primestream etrade auth` wrote (with the time it was issued).
    """
    values: dict[str, Any] = {
        "consumer_key": settings.etrade_consumer_key,
        "consumer_secret": settings.etrade_consumer_secret,
        "access_token": settings.etrade_access_token,
        "access_token_secret": settings.etrade_access_token_secret,
        "account_id_key": settings.etrade_account_id_key,
    }
    tokens = ("access_token", "access_token_secret")
    if not any(values[name] for name in tokens) and settings.etrade_tokens_path.exists():
        stored = read_tokens(settings.etrade_tokens_path)
        values |= {"access_token": stored.access_token, "token_issued_us": stored.issued_us}
        values["access_token_secret"] = stored.access_token_secret
    missing = [f"PRIMESTREAM_ETRADE_{name.upper()}" for name, v in values.items() if not v]
    if missing:
        hint = (
            " (or run `primestream etrade auth`)"
            if set(tokens) & {name for name, v in values.items() if not v}
            else ""
        )
        raise BrokerConfigError(f"live trading on E*TRADE needs {', '.join(missing)}{hint}")
    return ETradeConfig(
        **values,
        sandbox=settings.etrade_sandbox,
        base_url=settings.etrade_base_url,
        timeout_secs=settings.etrade_timeout_secs,
        **overrides,
    )


def _describe(err: BaseException) -> str:
    return REDACTOR.scrub(f"{type(err).__name__}: {err}")


def _preview_id(preview: Mapping[str, Any]) -> str:
    ids = as_list((preview.get("PreviewOrderResponse") or {}).get("PreviewIds"))
    try:
        return str(ids[0]["previewId"])
    except (IndexError, KeyError, TypeError):
        raise VenueServerError("PreviewOrderResponse without a previewId") from None


def _placed_id(placed: Mapping[str, Any]) -> int | None:
    response = placed.get("PlaceOrderResponse") or {}
    ids = as_list(response.get("OrderIds"))
    try:
        return int(ids[0]["orderId"] if ids else response["orderId"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


class ETradeBroker:
    """Live execution at E*TRADE; see the module docstring for the rules."""

    venue = VENUE

    def __init__(
        self,
        config: ETradeConfig,
        *,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        state: Mapping[str, Any] | None = None,
        token_issued_us: int | None = None,
    ) -> None:
        self._config = config
        self._session = ETradeSession(config, clock=clock, token_issued_us=token_issued_us)
        self._tracker = OrderTracker.from_state(state) if state else OrderTracker()
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock, **kwargs: Any) -> ETradeBroker:
        """Return an adapter configured from SETTINGS (see `config_from_settings`)."""
        return cls(config_from_settings(settings), clock=clock, **kwargs)

    def state(self) -> dict[str, Any]:
        """Return the tracked orders as a JSON-able dict (for a changelogged table)."""
        return self._tracker.state()

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Track the orders STATE (a `state()` result) holds instead; None tracks none.

        One session serves several partitions: each batch restores its partition's orders.
        """
        self._tracker = OrderTracker.from_state(state) if state else OrderTracker()

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], config: ETradeConfig, *, clock: Clock, **kwargs: Any
    ) -> ETradeBroker:
        """Return an adapter that resumes the orders `state()` saved."""
        return cls(config, clock=clock, state=state, **kwargs)

    def submit(self, order: Mapping[str, Any]) -> ExecutionReport:
        """Preview and place ORDER: NEW, REJECTED with E*TRADE's message, or EMPTY if placed."""
        ts_us = int(order["ts_event_us"])
        tracked = self._tracker.get(order["id"])
        if tracked is not None and tracked.status != "PENDING":
            return EMPTY
        cid, account_key = client_order_id(order["id"]), self._config.account_id_key
        try:
            request = order_request(order, account_id_key=account_key, client_id=cid)
        except UnsupportedOrderError as err:
            return _rejected(order, str(err), ts_us)
        if tracked is not None:  # an earlier submit could not tell whether it was placed
            found = self._retrying("list orders", functools.partial(self._find, tracked))
            if found is not None:
                return self._tracker.apply(tracked.id, found, ts_us)
        tracked = TrackedOrder(
            id=order["id"], symbol=order["symbol"], account=order.get("account", "default"),
            side=order["side"], qty=float(order["qty"]), client_id=cid,
        )  # fmt: skip
        try:
            preview = self._retrying("preview order", lambda: self._session.preview(request))
            preview_id = _preview_id(preview)
            self._tracker.track(tracked)  # before placing: a lost answer leaves it pending
            etrade_id = self._place(request, preview_id, tracked)
        except ETradeApiError as err:
            self._tracker.forget(order["id"])
            log.info("E*TRADE rejected order %s: %s", order["id"], err)
            return _rejected(order, err.message or str(err), ts_us)
        log.info("order %s placed at E*TRADE as %s (clientOrderId %s)", order["id"], etrade_id, cid)
        return self._tracker.confirm(order["id"], etrade_id, ts_us)

    def cancel(self, order_id: str, symbol: str, ts_event_us: int) -> ExecutionReport:
        """Ask E*TRADE to cancel ORDER_ID; return what the listing already shows of it."""
        tracked = self._tracker.get(order_id)
        if tracked is None:
            return EMPTY
        report = EMPTY
        if tracked.etrade_id is None:
            report = self._refresh([order_id], ts_event_us)
            tracked = self._tracker.get(order_id)
            if tracked is None or tracked.etrade_id is None:
                log.warning("cannot cancel %s: E*TRADE's order number is not known yet", order_id)
                return report
        etrade_id = tracked.etrade_id
        try:
            self._retrying("cancel order", lambda: self._session.cancel(etrade_id))
        except ETradeApiError as err:
            # Typically the order filled or was cancelled first: the listing tells which.
            log.warning("E*TRADE refused to cancel %s (%s): %s", order_id, etrade_id, err)
        try:
            return report + self._refresh([order_id], ts_event_us)
        except BrokerUnavailableError as err:
            log.warning("cancel of %s sent; a later poll tells its outcome (%s)", order_id, err)
            return report

    def open_orders(self) -> list[tuple[str, str]]:
        """Return (order id, symbol) of every order this tracker holds open, oldest first."""
        return [(order.id, order.symbol) for order in self._tracker.open_orders()]

    def poll(self, ts_event_us: int) -> ExecutionReport:
        """Return the order events and fills E*TRADE shows since the last poll."""
        return self._refresh([order.id for order in self._tracker.open_orders()], ts_event_us)

    def positions(self) -> dict[str, float]:
        """Return symbol -> signed quantity of the account's equity positions."""
        totals: dict[str, float] = {}
        for page in range(1, self._config.max_pages + 1):
            body = self._retrying("portfolio", functools.partial(self._session.portfolio, page))
            for symbol, qty in parse_positions(body).items():
                totals[symbol] = totals.get(symbol, 0.0) + qty
            accounts = as_list((body.get("PortfolioResponse") or {}).get("AccountPortfolio"))
            pages = max((int(a.get("totalPages") or 1) for a in accounts), default=1)
            if page >= pages:
                break
        return totals

    def _refresh(self, order_ids: list[str], ts_us: int) -> ExecutionReport:
        if not order_ids:
            return EMPTY
        listing = self._retrying("list orders", self._list_orders)
        by_id = {venue.etrade_id: venue for venue in listing}
        report = EMPTY
        for order_id in order_ids:
            tracked = self._tracker.get(order_id)
            if tracked is None:
                continue
            if tracked.etrade_id is not None:
                venue = by_id.get(tracked.etrade_id)
            else:
                venue = find_venue_order(listing, tracked, self._tracker.venue_ids())
            if venue is not None:
                report = report + self._tracker.apply(order_id, venue, ts_us)
        return report

    def _list_orders(self) -> list[VenueOrder]:
        orders: list[VenueOrder] = []
        marker: str | None = None
        for _ in range(self._config.max_pages):
            body = self._session.list_orders(marker).get("OrdersResponse") or {}
            orders += [venue_order(entry) for entry in as_list(body.get("Order"))]
            marker = body.get("marker") or None
            if marker is None:
                break
        return orders

    def _find(self, tracked: TrackedOrder) -> VenueOrder | None:
        return find_venue_order(self._list_orders(), tracked, self._tracker.venue_ids())

    def _place(self, request: dict[str, Any], preview_id: str, tracked: TrackedOrder) -> int | None:
        attempts, last = self._config.max_attempts, ""
        for attempt in range(attempts):
            if attempt:  # the last place may have landed: look before sending it again
                self._backoff(attempt)
                try:
                    found = self._find(tracked)
                except TRANSIENT_ERRORS as err:
                    last = _describe(err)
                    continue
                if found is not None:
                    return found.etrade_id
            try:
                etrade_id = _placed_id(self._session.place(request, preview_id))
            except TRANSIENT_ERRORS as err:
                last = _describe(err)
            except ETradeApiError as err:
                return self._already_placed(tracked, err)
            else:
                if etrade_id is not None:
                    return etrade_id
                last = "PlaceOrderResponse without an order number"
            log.warning("placing clientOrderId %s: %s", tracked.client_id, last)
        raise BrokerUnavailableError(
            VENUE, f"place clientOrderId {tracked.client_id}", attempts,
            f"{last}; the order may be at E*TRADE: a later poll or submit resolves it",
        )  # fmt: skip

    def _already_placed(self, tracked: TrackedOrder, err: ETradeApiError) -> int | None:
        """Return the order number of a duplicate clientOrderId (None: not listed yet)."""
        if not is_duplicate_client_id(err):
            raise err
        log.info("clientOrderId %s is already at E*TRADE: not placed again", tracked.client_id)
        found = self._retrying("list orders", functools.partial(self._find, tracked))
        return None if found is None else found.etrade_id

    def _retrying(self, operation: str, request: Callable[[], T]) -> T:
        attempts, last = self._config.max_attempts, ""
        for attempt in range(attempts):
            if attempt:
                self._backoff(attempt)
            try:
                return request()
            except TRANSIENT_ERRORS as err:
                last = _describe(err)
                log.warning("E*TRADE %s, attempt %d/%d: %s", operation, attempt + 1, attempts, last)
        raise BrokerUnavailableError(VENUE, operation, attempts, last)

    def _backoff(self, attempt: int) -> None:
        self._sleep(self._config.retry_backoff_secs * 2 ** (attempt - 1))


def _rejected(order: Mapping[str, Any], reason: str, ts_us: int) -> ExecutionReport:
    event = order_event(
        order, "REJECTED", filled_qty=0.0, leaves_qty=0.0, avg_fill_price=None,
        ts_event_us=ts_us, reason=REDACTOR.scrub(reason),
    )  # fmt: skip
    return ExecutionReport(events=(event,))

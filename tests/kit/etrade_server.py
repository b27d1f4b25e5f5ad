"""A local fake of E*TRADE's v1 REST API for tests: real HTTP on 127.0.0.1, scripted failures.

It answers what pyetrade asks, in the shapes E*TRADE documents: XML for preview, place and
cancel (pyetrade posts XML there and parses the answer with xmltodict), JSON for
`orders.json` and `portfolio.json`, 204 for an empty listing, plain text for
`/oauth/renew_access_token`, and `{"Error": {"code", "message"}}` / `<Error>` bodies with
HTTP 400 for refusals. Signatures are not verified, but every request is recorded
(method, path, query, headers, body), so tests can count places and inspect the OAuth
header. `script(endpoint, ...)` queues behaviours for the next requests to an endpoint:
`slow(secs)` (do the work, answer late: the client has timed out), `stall(secs)` (answer
late with a 500, doing nothing), `stale()` (a listing that lags: no newest order yet),
`api_error(code, message)`, `unauthorized()`, `server_error()`. The duplicate-clientOrderId
error uses code 1089 and E*TRADE-like wording; its real code is not in E*TRADE's public
documentation. Orders are listed newest first, with `clientOrderId` unless
`list_client_ids=False` (E*TRADE documents that it "does not appear in any API responses").

OAuth: `/oauth/request_token` hands out a request token, `/e/t/etws/authorize?key&token`
plays the user's browser step and answers the verifier as text, `/oauth/access_token`
gives the access token only for that request token and verifier (else 401, as E*TRADE).
Market: `/v1/market/quote/{symbols}.json` answers `quotes[symbol]` (set by `set_quote`) in
E*TRADE's QuoteResponse shape, and an ERROR Message for a symbol it does not know.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import xmltodict

__all__ = [
    "DUPLICATE_CODE",
    "Action",
    "FakeETrade",
    "FakeOrder",
    "RecordedRequest",
    "api_error",
    "server_error",
    "slow",
    "stale",
    "stall",
    "unauthorized",
]

DUPLICATE_CODE = "1089"
_ACCOUNT_ID = "84010429"
_T0_MS = 1_704_205_800_000  # 2024-01-02 14:30 UTC
_ROUTES = {
    ("GET", r"/oauth/renew_access_token"): "renew",
    ("POST", r"/oauth/request_token"): "request_token",
    ("GET", r"/oauth/request_token"): "request_token",
    ("POST", r"/oauth/access_token"): "access_token",
    ("GET", r"/oauth/access_token"): "access_token",
    ("GET", r"/e/t/etws/authorize"): "authorize",
    ("GET", r"/v1/market/quote/(?P<symbols>[^/]+)\.json"): "quote",
    ("POST", r"/v1/accounts/(?P<key>[^/]+)/orders/preview"): "preview",
    ("POST", r"/v1/accounts/(?P<key>[^/]+)/orders/place"): "place",
    ("PUT", r"/v1/accounts/(?P<key>[^/]+)/orders/cancel"): "cancel",
    ("GET", r"/v1/accounts/(?P<key>[^/]+)/orders\.json"): "orders",
    ("GET", r"/v1/accounts/(?P<key>[^/]+)/portfolio\.json"): "portfolio",
}
_XML_ENDPOINTS = frozenset({"preview", "place", "cancel"})


@dataclass(frozen=True)
class Action:
    """A scripted behaviour for one request to an endpoint."""

    kind: str  # slow | stall | stale | error | unauthorized | server_error
    delay_secs: float = 0.0
    status: int = 400
    code: str = ""
    message: str = ""


def slow(delay_secs: float) -> Action:
    """Do the work, then answer after DELAY_SECS (longer than the client's timeout)."""
    return Action("slow", delay_secs=delay_secs)


def stall(delay_secs: float) -> Action:
    """Do nothing and answer 500 after DELAY_SECS: the request is lost."""
    return Action("stall", delay_secs=delay_secs)


def stale() -> Action:
    """Answer a listing that lags: the newest order is not in it yet."""
    return Action("stale")


def api_error(code: str, message: str, status: int = 400) -> Action:
    """Refuse the request with E*TRADE's Error body."""
    return Action("error", status=status, code=code, message=message)


def unauthorized() -> Action:
    """Answer 401 as E*TRADE does for an expired or inactive token."""
    return Action("unauthorized")


def server_error() -> Action:
    """Answer 500."""
    return Action("server_error")


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str
    endpoint: str


@dataclass
class FakeOrder:
    """An order at the fake E*TRADE; fills are cumulative, as E*TRADE lists them."""

    order_id: int
    client_order_id: str
    symbol: str
    action: str
    quantity: int
    price_type: str
    limit_price: float | None
    term: str
    placed_ms: int
    status: str = "OPEN"
    filled: float = 0.0
    avg_price: float | None = None
    executed_ms: int | None = None
    commission: Decimal = field(default_factory=Decimal)


class FakeETrade:
    """The fake server; use as a context manager, or `start()` / `stop()`."""

    def __init__(self, *, account_id_key: str = "dBZOKt9xDrtRSAOl4MSiiA", list_client_ids=True):
        self.account_id_key = account_id_key
        self.list_client_ids = list_client_ids
        self.orders: dict[int, FakeOrder] = {}
        self.positions: dict[str, float] = {}
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[str, list[Action]] = {}
        self._previews: dict[str, str] = {}  # previewId -> clientOrderId
        self._next_id = 500
        self.quotes: dict[str, dict[str, Any]] = {}
        self.request_token, self.request_secret = "reqTok3n", "reqS3cret"
        self.verifier = "V3R1F"
        self.access_token, self.access_secret = "acc3ssTok", "acc3ssS3cret"
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> FakeETrade:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeETrade:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # --- what tests script and inspect ------------------------------------------------
    def script(self, endpoint: str, *actions: Action) -> None:
        with self._lock:
            self._scripts.setdefault(endpoint, []).extend(actions)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def endpoints(self) -> list[str]:
        return [r.endpoint for r in self.requests]

    def fill(self, order_id: int, qty: float, price: float, *, executed_ms: int, fee: str = "0"):
        """Execute QTY more of ORDER_ID at PRICE; the average is rounded to 4 places."""
        with self._lock:
            order = self.orders[order_id]
            old = Decimal(repr(order.avg_price or 0.0)) * Decimal(repr(order.filled))
            new_filled = order.filled + qty
            avg = (old + Decimal(repr(price)) * Decimal(repr(qty))) / Decimal(repr(new_filled))
            order.filled, order.avg_price = new_filled, float(round(avg, 4))
            order.executed_ms, order.commission = executed_ms, order.commission + Decimal(fee)
            order.status = "EXECUTED" if new_filled >= order.quantity else "INDIVIDUAL_FILLS"
            signed = qty if order.action == "BUY" else -qty
            self.positions[order.symbol] = self.positions.get(order.symbol, 0.0) + signed

    def set_quote(self, symbol: str, **fields: Any) -> None:
        """Answer SYMBOL with FIELDS: bid, ask, bidSize, askSize, lastTrade, dateTimeUTC."""
        with self._lock:
            self.quotes[symbol] = dict(fields)

    def set_status(self, order_id: int, status: str) -> None:
        with self._lock:
            self.orders[order_id].status = status

    # --- request handling -------------------------------------------------------------
    def handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8") if length else ""
        endpoint, params = "unknown", {}
        for (method, pattern), name in _ROUTES.items():
            match = re.fullmatch(pattern, split.path)
            if match and method == handler.command:
                endpoint, params = name, match.groupdict()
        recorded = RecordedRequest(
            handler.command, split.path, parse_qs(split.query),
            dict(handler.headers.items()), body, endpoint,
        )  # fmt: skip
        with self._lock:
            self._requests.append(recorded)
            queue = self._scripts.get(endpoint) or []
            action = queue.pop(0) if queue else None
        status, content_type, payload = self._answer(endpoint, params, body, action, recorded)
        if action is not None and action.kind in ("slow", "stall"):
            time.sleep(action.delay_secs)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the point of `slow`)

    def _answer(
        self,
        endpoint: str,
        params: dict[str, str],
        body: str,
        action: Action | None,
        recorded: RecordedRequest,
    ) -> tuple[int, str, bytes]:
        xml = endpoint in _XML_ENDPOINTS
        if action is not None and action.kind == "error":
            return _error(action.status, action.code, action.message, xml=xml)
        if action is not None and action.kind == "unauthorized":
            return 401, "text/plain", b"oauth_problem=token_rejected"
        if action is not None and action.kind in ("server_error", "stall"):
            return 500, "text/html", b"<html><body>Internal Server Error</body></html>"
        if endpoint == "unknown":
            return 404, "text/plain", b"not found"
        if endpoint == "renew":
            return 200, "text/plain", b"Access Token has been renewed"
        if endpoint in ("request_token", "access_token", "authorize", "quote"):
            with self._lock:
                return getattr(self, f"_{endpoint}")(params, recorded)
        if params.get("key") != self.account_id_key:
            return _error(400, "100", "Account key does not belong to user.", xml=xml)
        if endpoint == "orders":
            with self._lock:
                return self._orders(lag=1 if action is not None and action.kind == "stale" else 0)
        with self._lock:
            return getattr(self, f"_{endpoint}")(body)

    def _request_token(
        self, params: dict[str, str], req: RecordedRequest
    ) -> tuple[int, str, bytes]:
        if 'oauth_callback="oob"' not in req.headers.get("Authorization", ""):
            return (
                400,
                "text/plain",
                b"oauth_problem=parameter_absent&oauth_parameters_absent=oauth_callback",
            )
        body = (f"oauth_token={self.request_token}&oauth_token_secret={self.request_secret}"
                "&oauth_callback_confirmed=true")  # fmt: skip
        return 200, "application/x-www-form-urlencoded", body.encode()

    def _authorize(self, params: dict[str, str], req: RecordedRequest) -> tuple[int, str, bytes]:
        if req.query.get("token") != [self.request_token]:
            return 400, "text/plain", b"unknown request token"
        return 200, "text/plain", self.verifier.encode()

    def _access_token(self, params: dict[str, str], req: RecordedRequest) -> tuple[int, str, bytes]:
        header = req.headers.get("Authorization", "")
        wanted = (f'oauth_token="{self.request_token}"', f'oauth_verifier="{self.verifier}"')
        if not all(part in header for part in wanted):
            return 401, "text/plain", b"oauth_problem=token_rejected"
        body = f"oauth_token={self.access_token}&oauth_token_secret={self.access_secret}"
        return 200, "application/x-www-form-urlencoded", body.encode()

    def _quote(self, params: dict[str, str], req: RecordedRequest) -> tuple[int, str, bytes]:
        data, messages = [], []
        for symbol in params["symbols"].split(","):
            fields = self.quotes.get(symbol)
            if fields is None:
                messages.append({"description": f"{symbol} is not a valid symbol.",
                                 "code": 10033, "type": "ERROR"})  # fmt: skip
                continue
            quote = {k: v for k, v in fields.items() if k != "dateTimeUTC"}
            data.append({"dateTimeUTC": fields.get("dateTimeUTC"), "quoteStatus": "REALTIME",
                         "ahFlag": "false", "All": quote,
                         "Product": {"symbol": symbol, "securityType": "EQ"}})  # fmt: skip
        response: dict[str, Any] = {"QuoteData": data}
        if messages:
            response["Messages"] = {"Message": messages}
        return 200, "application/json", json.dumps({"QuoteResponse": response}).encode()

    def _preview(self, body: str) -> tuple[int, str, bytes]:
        request = xmltodict.parse(body)["PreviewOrderRequest"]
        cid = request["clientOrderId"]
        if not (cid.isalnum() and len(cid) <= 20):
            return _error(400, "1028", "Invalid clientOrderId.", xml=True)
        preview_id = str(3_000_000 + len(self._previews))
        self._previews[preview_id] = cid
        order = request["Order"]
        response = {
            "PreviewOrderResponse": {
                "orderType": "EQ",
                "totalOrderValue": "0",
                "totalCommission": "0",
                "Order": order,
                "PreviewIds": {"previewId": preview_id},
                "previewTime": str(_T0_MS),
                "dstFlag": "false",
                "accountId": _ACCOUNT_ID,
            }
        }
        return 200, "application/xml", xmltodict.unparse(response).encode()

    def _place(self, body: str) -> tuple[int, str, bytes]:
        request = xmltodict.parse(body)["PlaceOrderRequest"]
        cid, preview_id = request["clientOrderId"], request["PreviewIds"]["previewId"]
        if self._previews.get(preview_id) != cid:
            return _error(400, "101", "For your protection, we have timed out your original "
                          "order request. Please try again.", xml=True)  # fmt: skip
        if any(order.client_order_id == cid for order in self.orders.values()):
            return _error(400, DUPLICATE_CODE, "Duplicate clientOrderId: an order with this "
                          "client order id has already been placed.", xml=True)  # fmt: skip
        order = request["Order"]
        instrument = order["Instrument"]
        self._next_id += 1
        fake = FakeOrder(
            order_id=self._next_id, client_order_id=cid, symbol=instrument["Product"]["symbol"],
            action=instrument["orderAction"], quantity=int(instrument["quantity"]),
            price_type=order["priceType"],
            limit_price=float(order["limitPrice"]) if "limitPrice" in order else None,
            term=order["orderTerm"], placed_ms=_T0_MS + self._next_id,
        )  # fmt: skip
        self.orders[fake.order_id] = fake
        response = {
            "PlaceOrderResponse": {
                "orderType": "EQ",
                "MessageList": {"Message": {
                    "description": "Your order was successfully entered during market hours.",
                    "code": "1026", "type": "WARNING",
                }},
                "totalOrderValue": "0",
                "totalCommission": "0",
                "Order": order,
                "OrderIds": {"orderId": str(fake.order_id)},
                "placedTime": str(fake.placed_ms),
                "accountId": _ACCOUNT_ID,
            }
        }  # fmt: skip
        return 200, "application/xml", xmltodict.unparse(response).encode()

    def _cancel(self, body: str) -> tuple[int, str, bytes]:
        order_id = int(xmltodict.parse(body)["CancelOrderRequest"]["orderId"])
        order = self.orders.get(order_id)
        if order is None or order.status not in ("OPEN", "INDIVIDUAL_FILLS"):
            return _error(400, "5001", "This order cannot be cancelled.", xml=True)
        order.status = "CANCELLED"
        response = {
            "CancelOrderResponse": {
                "accountId": _ACCOUNT_ID,
                "orderId": str(order_id),
                "cancelTime": str(_T0_MS),
                "Messages": {"Message": {
                    "code": "5011", "type": "WARNING",
                    "description": "Your request to cancel your order is being processed.",
                }},
            }
        }  # fmt: skip
        return 200, "application/xml", xmltodict.unparse(response).encode()

    def _orders(self, lag: int) -> tuple[int, str, bytes]:
        listed = sorted(self.orders.values(), key=lambda o: -o.order_id)[lag:]
        if not listed:
            return 204, "application/json", b""
        entries = [self._order_entry(order) for order in listed]
        return 200, "application/json", json.dumps({"OrdersResponse": {"Order": entries}}).encode()

    def _order_entry(self, order: FakeOrder) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "placedTime": order.placed_ms,
            "orderValue": 0,
            "status": order.status,
            "orderTerm": order.term,
            "priceType": order.price_type,
            "marketSession": "REGULAR",
            "allOrNone": False,
            "Instrument": [{
                "symbolDescription": order.symbol,
                "orderAction": order.action,
                "quantityType": "QUANTITY",
                "orderedQuantity": order.quantity,
                "filledQuantity": order.filled,
                "estimatedCommission": 0,
                "Product": {"symbol": order.symbol, "securityType": "EQ"},
            }],
        }  # fmt: skip
        if order.limit_price is not None:
            detail["limitPrice"] = order.limit_price
        if order.avg_price is not None:
            detail["Instrument"][0]["averageExecutionPrice"] = order.avg_price
        if order.executed_ms is not None:
            detail["executedTime"] = order.executed_ms
        entry: dict[str, Any] = {
            "orderId": order.order_id,
            "details": f"/v1/accounts/{self.account_id_key}/orders/{order.order_id}.json",
            "orderType": "EQ",
            "totalCommission": float(order.commission),
            "OrderDetail": [detail],
        }
        if self.list_client_ids:
            entry["clientOrderId"] = order.client_order_id
        return entry

    def _portfolio(self, body: str) -> tuple[int, str, bytes]:
        held = {s: q for s, q in self.positions.items() if q != 0}
        if not held:
            return 204, "application/json", b""
        positions = [
            {
                "positionId": 10_000 + n,
                "symbolDescription": symbol,
                "quantity": qty,
                "positionType": "LONG" if qty > 0 else "SHORT",
                "Product": {"symbol": symbol, "securityType": "EQ"},
            }
            for n, (symbol, qty) in enumerate(sorted(held.items()))
        ]
        response = {
            "PortfolioResponse": {
                "AccountPortfolio": [
                    {"accountId": _ACCOUNT_ID, "Position": positions, "totalPages": 1}
                ]
            }
        }
        return 200, "application/json", json.dumps(response).encode()


def _error(status: int, code: str, message: str, *, xml: bool) -> tuple[int, str, bytes]:
    body = {"Error": {"code": code, "message": message}}
    if xml:
        return status, "application/xml", xmltodict.unparse(body).encode()
    return status, "application/json", json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeETrade

    def do_GET(self) -> None:
        self.fake.handle(self)

    def do_POST(self) -> None:
        self.fake.handle(self)

    def do_PUT(self) -> None:
        self.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test reads `requests` instead

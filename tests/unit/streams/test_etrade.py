"""The E*TRADE adapter against a local fake E*TRADE server (real HTTP and OAuth signing)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from infra.clock import ManualClock
from infra.settings import Settings
from streams.execution.broker import (
    BrokerAdapter,
    BrokerConfigError,
    BrokerUnavailableError,
    PositionDifference,
    ReconciliationError,
    TokenExpiredError,
    reconcile,
    require_reconciled,
)
from streams.execution.etrade import ETradeBroker, ETradeConfig, config_from_settings
from streams.execution.etrade_auth import session_expired
from streams.execution.etrade_orders import CLIENT_ORDER_ID_CHARS, client_order_id
from streams.execution.etrade_session import IDLE_RENEW_US, token_expiry_us
from streams.execution.reports import ExecutionReport
from tests.kit.etrade_server import (
    FakeETrade,
    api_error,
    server_error,
    slow,
    stale,
    stall,
    unauthorized,
)
from tests.kit.readme import README

# Secrets with characters OAuth percent-encodes, so encoded forms are checked too.
SECRETS = {
    "consumer_key": "ck-Zm9vYmFy/consumer+KEY=",
    "consumer_secret": "cs-c2VjcmV0/consumer+SECRET=",
    "access_token": "at-dG9rZW4/access+TOKEN=",
    "access_token_secret": "ats-dG9rc2Vj/token+SECRET=",
}
T0_US = 1_704_225_600_000_000  # 2024-01-02 15:00 US Eastern (20:00 UTC), a Tuesday
MIDNIGHT_ET_US = 1_704_258_000_000_000  # 2024-01-03 00:00 EST = 05:00 UTC
TIMEOUT_SECS = 0.4
SLOW_SECS = 1.0  # longer than the client's timeout


def no_sleep(_secs: float) -> None:
    pass


@pytest.fixture
def server() -> Iterator[FakeETrade]:
    with FakeETrade() as fake:
        yield fake


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0_US)


def make_config(server: FakeETrade, **overrides: Any) -> ETradeConfig:
    values: dict[str, Any] = {name: SecretStr(value) for name, value in SECRETS.items()}
    values.update(
        account_id_key=server.account_id_key,
        base_url=server.url,
        timeout_secs=TIMEOUT_SECS,
        retry_backoff_secs=0.0,
    )
    values.update(overrides)
    return ETradeConfig(**values)


def make_broker(server: FakeETrade, clock: ManualClock, **kwargs: Any) -> ETradeBroker:
    config = kwargs.pop("config", None) or make_config(server)
    return ETradeBroker(config, clock=clock, sleep=kwargs.pop("sleep", no_sleep), **kwargs)


def order(order_id: str = "sig-1:AAPL", **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": order_id,
        "signal_id": "sig-1",
        "symbol": "AAPL",
        "account": "default",
        "side": "BUY",
        "qty": 10.0,
        "order_type": "LIMIT",
        "limit_price": 185.5,
        "tif": "DAY",
        "strategy": "sma_cross",
        "ts_event_us": T0_US,
    }
    rec.update(overrides)
    return rec


def event(status: str, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "order_id": "sig-1:AAPL",
        "symbol": "AAPL",
        "account": "default",
        "status": status,
        "filled_qty": 0.0,
        "leaves_qty": 10.0,
        "avg_fill_price": None,
        "reason": None,
        "ts_event_us": T0_US,
    }
    rec.update(overrides)
    return rec


def placed(broker: ETradeBroker, server: FakeETrade, **overrides: Any) -> int:
    report = broker.submit(order(**overrides))
    assert [e["status"] for e in report.events] == ["NEW"]
    (order_id,) = server.orders
    return order_id


# --- ids, config ----------------------------------------------------------------------


def test_client_order_id_is_20_alphanumerics_derived_from_the_order_id() -> None:
    cid = client_order_id("sig-1:AAPL")

    assert len(cid) == CLIENT_ORDER_ID_CHARS == 20
    assert cid.isalnum()
    assert cid.isupper()
    assert cid == client_order_id("sig-1:AAPL")
    assert cid != client_order_id("sig-2:AAPL")


def test_config_from_settings_names_every_missing_setting() -> None:
    settings = Settings(_env_file=None, etrade_consumer_key="k")  # type: ignore[call-arg]

    with pytest.raises(BrokerConfigError) as err:
        config_from_settings(settings)

    assert "PRIMESTREAM_ETRADE_CONSUMER_KEY" not in str(err.value)
    for name in ("CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET", "ACCOUNT_ID_KEY"):
        assert f"PRIMESTREAM_ETRADE_{name}" in str(err.value)


def test_config_from_settings_keeps_host_override_and_timeout() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        **{f"etrade_{name}": value for name, value in SECRETS.items()},
        etrade_account_id_key="acct",
        etrade_base_url="http://127.0.0.1:9/",
        etrade_timeout_secs=2.5,
    )

    config = config_from_settings(settings)

    assert config.host == "http://127.0.0.1:9"
    assert config.timeout_secs == 2.5
    assert config.sandbox is True
    assert config.access_token.get_secret_value() == SECRETS["access_token"]
    assert SECRETS["access_token"] not in repr(config)


@pytest.mark.parametrize(
    ("sandbox", "host"), [(True, "https://apisb.etrade.com"), (False, "https://api.etrade.com")]
)
def test_host_is_sandbox_or_live_without_override(sandbox: bool, host: str) -> None:
    config = ETradeConfig(
        **{name: SecretStr(value) for name, value in SECRETS.items()},
        account_id_key="acct",
        sandbox=sandbox,
    )
    assert config.host == host


# --- submit ---------------------------------------------------------------------------


def test_submit_previews_then_places_once_and_reports_new(
    server: FakeETrade, clock: ManualClock
) -> None:
    broker = make_broker(server, clock)

    report = broker.submit(order())

    assert report == ExecutionReport(events=(event("NEW"),))
    assert server.endpoints() == ["preview", "place"]
    (fake,) = server.orders.values()
    assert fake.client_order_id == client_order_id("sig-1:AAPL")
    assert (fake.symbol, fake.action, fake.quantity) == ("AAPL", "BUY", 10)
    assert (fake.price_type, fake.limit_price, fake.term) == ("LIMIT", 185.5, "GOOD_FOR_DAY")
    assert isinstance(broker, BrokerAdapter)
    assert broker.venue == "etrade"


def test_requests_carry_an_oauth1_authorization_header(
    server: FakeETrade, clock: ManualClock
) -> None:
    make_broker(server, clock).submit(order())

    for request in server.requests:
        header = request.headers["Authorization"]
        assert header.startswith("OAuth ")
        assert f'oauth_consumer_key="{quote(SECRETS["consumer_key"], safe="~")}"' in header
        assert f'oauth_token="{quote(SECRETS["access_token"], safe="~")}"' in header
        for param in ("oauth_nonce=", "oauth_timestamp=", "oauth_signature="):
            assert param in header
        assert 'oauth_signature_method="HMAC-SHA1"' in header
        assert 'oauth_version="1.0"' in header
        # The two secrets only key the HMAC; they never travel.
        sent = json.dumps([request.headers, request.body, request.path, request.query])
        for name in ("consumer_secret", "access_token_secret"):
            assert SECRETS[name] not in sent
            assert quote(SECRETS[name], safe="~") not in sent


def test_an_order_already_placed_is_not_sent_again(server: FakeETrade, clock: ManualClock) -> None:
    broker = make_broker(server, clock)
    broker.submit(order())

    again = broker.submit(order())

    assert again == ExecutionReport.EMPTY
    assert server.endpoints() == ["preview", "place"]


@pytest.mark.parametrize(
    ("endpoint", "status", "code", "message"),
    [
        ("preview", 400, "1036", "Insufficient funds for this order."),
        ("preview", 200, "1036", "Insufficient funds for this order."),  # pyetrade's path
        ("place", 400, "1009", "The symbol you entered is not tradable at this time."),
    ],
)
def test_etrade_errors_become_rejected_events(
    server: FakeETrade, clock: ManualClock, endpoint: str, status: int, code: str, message: str
) -> None:
    server.script(endpoint, api_error(code, message, status=status))
    broker = make_broker(server, clock)

    report = broker.submit(order())

    assert report.events == (event("REJECTED", leaves_qty=0.0, reason=message),)
    assert report.fills == ()
    assert server.orders == {}
    assert broker.state()["orders"] == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"qty": 2.5}, "E*TRADE takes whole positive share quantities, got 2.5"),
        ({"order_type": "MARKET", "limit_price": None, "tif": "IOC"},
         "E*TRADE takes IOC for limit orders only"),
        ({"limit_price": None}, "LIMIT order needs a positive limit_price, got None"),
    ],
)  # fmt: skip
def test_orders_etrade_cannot_take_are_rejected_without_a_request(
    server: FakeETrade, clock: ManualClock, overrides: dict[str, Any], reason: str
) -> None:
    report = make_broker(server, clock).submit(order(**overrides))

    assert report.events == (event("REJECTED", leaves_qty=0.0, reason=reason),)
    assert server.requests == []


# --- a retry never places twice -------------------------------------------------------


def test_place_answered_after_the_timeout_is_found_not_placed_again(
    server: FakeETrade, clock: ManualClock
) -> None:
    server.script("place", slow(SLOW_SECS))
    broker = make_broker(server, clock)

    report = broker.submit(order())

    assert report.events == (event("NEW"),)
    assert len(server.orders) == 1
    assert server.endpoints() == ["preview", "place", "orders"]


def test_place_lost_before_etrade_saw_it_is_sent_again_after_checking(
    server: FakeETrade, clock: ManualClock
) -> None:
    server.script("place", stall(SLOW_SECS))
    broker = make_broker(server, clock)

    report = broker.submit(order())

    assert report.events == (event("NEW"),)
    assert len(server.orders) == 1
    assert server.endpoints() == ["preview", "place", "orders", "place"]


def test_duplicate_client_order_id_means_already_placed(
    server: FakeETrade, clock: ManualClock
) -> None:
    # The place lands but answers late, and the listing does not show it yet: the resend
    # is refused by E*TRADE as a duplicate clientOrderId, which counts as placed.
    server.script("place", slow(SLOW_SECS))
    server.script("orders", stale())
    broker = make_broker(server, clock)

    report = broker.submit(order())

    assert report.events == (event("NEW"),)
    assert len(server.orders) == 1
    assert server.endpoints() == ["preview", "place", "orders", "place", "orders"]
    (order_id,) = server.orders
    assert broker.state()["orders"][0]["etrade_id"] == order_id


def test_listing_without_client_order_ids_matches_symbol_side_and_quantity(
    clock: ManualClock,
) -> None:
    # E*TRADE documents that clientOrderId "does not appear in any API responses".
    with FakeETrade(list_client_ids=False) as server:
        server.script("place", slow(SLOW_SECS))
        broker = make_broker(server, clock)

        assert broker.submit(order()).events == (event("NEW"),)
        assert server.endpoints() == ["preview", "place", "orders"]
        (order_id,) = server.orders
        server.fill(order_id, 10, 185.5, executed_ms=1_704_225_660_000)
        polled = broker.poll(T0_US + 60_000_000)
        assert [f["id"] for f in polled.fills] == ["sig-1:AAPL-1"]


def test_matching_by_looks_never_takes_an_order_of_ours_already_done(
    clock: ManualClock,
) -> None:
    with FakeETrade(list_client_ids=False) as server:
        first = make_broker(server, clock)
        done_id = placed(first, server)
        server.fill(done_id, 10, 185.5, executed_ms=1_704_225_660_000)
        assert [e["status"] for e in first.poll(T0_US + 1).events] == ["FILLED"]
        # Same symbol, side and quantity; the late answer and a stale listing hide it.
        broker = make_broker(server, clock, state=json.loads(json.dumps(first.state())))
        server.script("place", slow(SLOW_SECS))
        server.script("orders", stale())

        report = broker.submit(order("sig-2:AAPL"))

        assert [e["order_id"] for e in report.events] == ["sig-2:AAPL"]
        assert len(server.orders) == 2
        new_id = max(server.orders)
        assert broker.state()["orders"][0]["etrade_id"] == new_id != done_id


def test_place_that_never_answers_raises_after_bounded_attempts_and_stays_pending(
    server: FakeETrade, clock: ManualClock
) -> None:
    server.script("place", stall(SLOW_SECS))
    server.script("orders", server_error())
    broker = make_broker(server, clock, config=make_config(server, max_attempts=2))

    with pytest.raises(BrokerUnavailableError) as err:
        broker.submit(order())

    assert err.value.attempts == 2
    assert server.orders == {}
    # The second attempt looked first (500), so it did not resend: one place only.
    assert server.endpoints() == ["preview", "place", "orders"]
    assert [o["status"] for o in broker.state()["orders"]] == ["PENDING"]
    # Submitting the same order again checks, then places it.
    assert broker.submit(order()).events == (event("NEW"),)
    assert len(server.orders) == 1
    assert server.endpoints()[3:] == ["orders", "preview", "place"]


# --- poll: events and fills -----------------------------------------------------------


def test_poll_turns_executions_into_fills_with_ids_stable_across_replays(
    server: FakeETrade, clock: ManualClock
) -> None:
    broker = make_broker(server, clock)
    order_id = placed(broker, server)
    server.fill(order_id, 4, 185.40, executed_ms=1_704_225_660_000, fee="0.50")
    t1, t2 = T0_US + 60_000_000, T0_US + 120_000_000

    first = broker.poll(t1)

    assert first.fills == (
        {
            "id": "sig-1:AAPL-1", "order_id": "sig-1:AAPL", "symbol": "AAPL",
            "account": "default", "side": "BUY", "qty": 4.0, "price": Decimal("185.400000"),
            "fee": Decimal("0.500000"), "venue": "etrade", "ts_event_us": 1_704_225_660_000_000,
        },
    )  # fmt: skip
    assert first.events == (
        event("PARTIALLY_FILLED", filled_qty=4.0, leaves_qty=6.0, avg_fill_price=185.4,
              ts_event_us=t1),
    )  # fmt: skip

    # 6 more at 185.50: E*TRADE lists the cumulative average (4*185.40 + 6*185.50)/10
    # = 185.46; the second fill's price is (185.46*10 - 185.40*4)/6 = 1113/6 = 185.50.
    server.fill(order_id, 6, 185.50, executed_ms=1_704_225_720_000, fee="0.50")
    snapshot = json.loads(json.dumps(broker.state()))
    second = broker.poll(t2)
    replayed = ETradeBroker.from_state(
        snapshot, make_config(server), clock=clock, sleep=no_sleep
    ).poll(t2)

    assert [(f["id"], f["qty"], f["price"], f["fee"]) for f in second.fills] == [
        ("sig-1:AAPL-2", 6.0, Decimal("185.500000"), Decimal("0.500000"))
    ]
    assert second.events == (
        event("FILLED", filled_qty=10.0, leaves_qty=0.0, avg_fill_price=185.46, ts_event_us=t2),
    )
    assert replayed == second
    assert broker.poll(T0_US + 180_000_000) == ExecutionReport.EMPTY


def test_poll_reports_nothing_new_twice_and_sends_nothing_without_open_orders(
    server: FakeETrade, clock: ManualClock
) -> None:
    broker = make_broker(server, clock)

    assert broker.poll(T0_US) == ExecutionReport.EMPTY
    assert server.requests == []

    placed(broker, server)
    assert broker.poll(T0_US + 1) == ExecutionReport.EMPTY
    assert server.endpoints() == ["preview", "place", "orders"]


@pytest.mark.parametrize(
    ("etrade_status", "status", "reason"),
    [
        ("CANCELLED", "CANCELED", "canceled at E*TRADE"),
        ("EXPIRED", "CANCELED", "expired at E*TRADE"),
        ("REJECTED", "REJECTED", "rejected by E*TRADE"),
    ],
)
def test_terminal_statuses_end_the_order(
    server: FakeETrade, clock: ManualClock, etrade_status: str, status: str, reason: str
) -> None:
    broker = make_broker(server, clock)
    order_id = placed(broker, server)
    server.set_status(order_id, etrade_status)

    report = broker.poll(T0_US + 1)

    assert report.events == (event(status, leaves_qty=0.0, reason=reason, ts_event_us=T0_US + 1),)
    assert broker.state()["orders"] == []


def test_cancel_asks_etrade_and_reports_the_outcome(server: FakeETrade, clock: ManualClock) -> None:
    broker = make_broker(server, clock)
    order_id = placed(broker, server)
    server.fill(order_id, 4, 185.40, executed_ms=1_704_225_660_000)
    t1 = T0_US + 90_000_000

    report = broker.cancel("sig-1:AAPL", "AAPL", t1)

    cancel = next(r for r in server.requests if r.endpoint == "cancel")
    assert f"<orderId>{order_id}</orderId>" in cancel.body
    assert [f["qty"] for f in report.fills] == [4.0]
    assert report.events == (
        event("CANCELED", filled_qty=4.0, leaves_qty=0.0, avg_fill_price=185.4,
              reason="canceled at E*TRADE", ts_event_us=t1),
    )  # fmt: skip
    sent = len(server.requests)
    assert broker.poll(t1 + 1) == ExecutionReport.EMPTY
    assert broker.cancel("sig-1:AAPL", "AAPL", t1 + 2) == ExecutionReport.EMPTY
    assert len(server.requests) == sent


def test_cancel_refused_because_filled_reports_the_fill(
    server: FakeETrade, clock: ManualClock
) -> None:
    broker = make_broker(server, clock)
    order_id = placed(broker, server)
    server.fill(order_id, 10, 185.0, executed_ms=1_704_225_660_000)

    report = broker.cancel("sig-1:AAPL", "AAPL", T0_US + 1)

    assert [e["status"] for e in report.events] == ["FILLED"]
    assert [f["qty"] for f in report.fills] == [10.0]


# --- positions and reconciliation -----------------------------------------------------


def test_positions_come_from_the_portfolio(server: FakeETrade, clock: ManualClock) -> None:
    broker = make_broker(server, clock)
    assert broker.positions() == {}  # E*TRADE answers 204 for an empty portfolio

    server.positions.update({"AAPL": 10.0, "MSFT": -5.0, "GOOG": 0.0})

    assert broker.positions() == {"AAPL": 10.0, "MSFT": -5.0}


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        ({"AAPL": 10.0}, {"AAPL": 10.0}, []),
        ({"AAPL": 10.0, "MSFT": 0.0}, {"AAPL": 10.0 + 1e-12}, []),
        ({"AAPL": 10.0}, {"AAPL": 7.0}, [PositionDifference("AAPL", 10.0, 7.0)]),
        ({"MSFT": -5.0}, {}, [PositionDifference("MSFT", -5.0, 0.0)]),
        ({}, {"GOOG": 3.0, "AAPL": 1.0},
         [PositionDifference("AAPL", 0.0, 1.0), PositionDifference("GOOG", 0.0, 3.0)]),
    ],
)  # fmt: skip
def test_reconcile(
    ours: dict[str, float], theirs: dict[str, float], expected: list[PositionDifference]
) -> None:
    assert reconcile(ours, theirs) == expected


def test_reconciliation_error_lists_every_difference() -> None:
    with pytest.raises(ReconciliationError) as err:
        require_reconciled({"AAPL": 10.0, "MSFT": -5.0}, {"AAPL": 7.0}, venue="etrade")

    assert str(err.value) == (
        "positions disagree with etrade on 2 symbol(s); trading does not start until they "
        "agree:\n"
        "  AAPL: ours 10, venue 7 (venue - ours = -3)\n"
        "  MSFT: ours -5, venue 0 (venue - ours = +5)"
    )
    assert [d.delta for d in err.value.differences] == [-3.0, 5.0]
    require_reconciled({"AAPL": 1.0}, {"AAPL": 1.0}, venue="etrade")  # agreeing: no error


# --- tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued_us", "expiry_us"),
    [
        (T0_US, MIDNIGHT_ET_US),  # 15:00 EST -> 00:00 EST = 05:00 UTC next day
        (1_719_849_600_000_000, 1_719_892_800_000_000),  # 2024-07-01 12:00 EDT -> 04:00 UTC
        (MIDNIGHT_ET_US, MIDNIGHT_ET_US + 86_400_000_000),  # issued at midnight: next one
    ],
)
def test_token_expires_at_the_next_us_eastern_midnight(issued_us: int, expiry_us: int) -> None:
    assert token_expiry_us(issued_us) == expiry_us


@pytest.mark.parametrize(
    ("idle_us", "renewed"), [(IDLE_RENEW_US, False), (IDLE_RENEW_US + 1, True)]
)
def test_token_is_renewed_before_a_request_after_two_idle_hours(
    server: FakeETrade, clock: ManualClock, idle_us: int, renewed: bool
) -> None:
    broker = make_broker(server, clock)
    placed(broker, server)
    clock.advance(idle_us)

    broker.poll(clock())

    expected = ["renew", "orders"] if renewed else ["orders"]
    assert server.endpoints()[2:] == expected
    assert IDLE_RENEW_US == 7_200_000_000


def test_after_midnight_us_eastern_the_token_is_expired(
    server: FakeETrade, clock: ManualClock
) -> None:
    broker = make_broker(server, clock)
    placed(broker, server)
    clock.now_us = MIDNIGHT_ET_US - 1
    broker.poll(clock())  # still valid (renewed: idle for hours)
    sent = len(server.requests)

    clock.now_us = MIDNIGHT_ET_US
    with pytest.raises(TokenExpiredError, match="expired at midnight US Eastern") as expired:
        broker.poll(clock())

    assert len(server.requests) == sent
    line = f"error: {session_expired(str(expired.value))}"
    assert f"``{line}``" in README.read_text(), "the README quotes the worker's line exactly"
    assert line.count("primestream etrade auth") == 1, "one instruction"


@pytest.mark.parametrize(("rejections", "expired"), [(1, False), (2, True)])
def test_a_401_gets_one_renewal_and_one_retry(
    server: FakeETrade, clock: ManualClock, rejections: int, expired: bool
) -> None:
    server.script("portfolio", *[unauthorized()] * rejections)
    broker = make_broker(server, clock)

    if expired:
        with pytest.raises(TokenExpiredError, match="rejects the access token after renewal"):
            broker.positions()
    else:
        assert broker.positions() == {}

    assert server.endpoints() == ["portfolio", "renew", "portfolio"]


# --- network errors -------------------------------------------------------------------


def test_network_errors_raise_broker_unavailable_after_bounded_retries(clock: ManualClock) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    config = ETradeConfig(
        **{name: SecretStr(value) for name, value in SECRETS.items()},
        account_id_key="acct",
        base_url=f"http://127.0.0.1:{port}",
        timeout_secs=TIMEOUT_SECS,
        max_attempts=3,
        retry_backoff_secs=0.01,
    )
    broker = ETradeBroker(config, clock=clock, sleep=sleeps.append)

    with pytest.raises(BrokerUnavailableError) as err:
        broker.positions()

    assert (err.value.venue, err.value.operation, err.value.attempts) == ("etrade", "portfolio", 3)
    assert "ConnectionError" in err.value.cause
    assert sleeps == [0.01, 0.02]


def test_server_errors_are_retried_then_reported(server: FakeETrade, clock: ManualClock) -> None:
    server.script("portfolio", server_error(), server_error())
    broker = make_broker(server, clock)

    assert broker.positions() == {}
    assert server.endpoints() == ["portfolio"] * 3

    server.script("portfolio", *[server_error()] * 3)
    with pytest.raises(BrokerUnavailableError, match="500"):
        broker.positions()


# --- secrets --------------------------------------------------------------------------


def test_secrets_never_reach_logs_or_records(
    server: FakeETrade, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script("place", slow(SLOW_SECS))
    server.script("orders", unauthorized())
    broker = make_broker(server, clock)
    reports = [broker.submit(order())]
    (order_id,) = server.orders
    server.fill(order_id, 3, 185.0, executed_ms=1_704_225_660_000)
    clock.advance(IDLE_RENEW_US + 1)
    reports.append(broker.poll(clock()))
    reports.append(broker.cancel("sig-1:AAPL", "AAPL", clock()))
    server.script("preview", api_error("1036", "Insufficient funds for this order."))
    reports.append(broker.submit(order("sig-2:AAPL")))
    positions = broker.positions()

    records = json.dumps(
        [[list(r.events), list(r.fills)] for r in reports] + [positions, broker.state()],
        default=str,
    )
    logged = caplog.text
    assert "Authorization" in logged  # oauthlib did log the header...
    assert "***" in logged  # ...redacted
    for secret in SECRETS.values():
        for form in {secret, quote(secret, safe="~"), quote(quote(secret, safe="~"), safe="~")}:
            assert form not in logged
            assert form not in records
    assert {"renew", "cancel"} <= set(server.endpoints())

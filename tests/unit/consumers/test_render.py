from decimal import Decimal

from rich.console import Console

from consumers.render import (
    Received,
    flatten,
    format_cell,
    record_line,
    records_table,
    to_json_line,
)
from tests.kit import stubs


def test_flatten_dots_nested_records_but_keeps_maps_whole() -> None:
    flat = flatten(stubs.news_item())
    assert flat["sentiment.compound"] == 0.62
    assert flatten(stubs.signal())["params"] == {"fast": 10.0, "slow": 30.0}


def test_timestamps_render_as_utc_iso() -> None:
    assert format_cell("ts_event_us", stubs.T0_US) == "2024-01-02T14:30:00.000+00:00"


def test_json_line_keeps_coordinates_trace_and_decimals() -> None:
    received = Received(
        "fills",
        1,
        42,
        "AAPL",
        stubs.fill(),
        {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    )
    line = to_json_line(received)
    assert '"offset": 42' in line
    assert '"trace_id": "' + "a" * 32 in line
    assert '"price": "185.220000"' in line
    assert Decimal("185.220000") == stubs.fill()["price"]


def test_table_shows_one_row_per_record_and_marks_undecodable_ones() -> None:
    batch = [Received("market.quotes", 0, i, "AAPL", stubs.quote(seq=i)) for i in range(3)]
    batch.append(Received("market.quotes", 0, 3, "AAPL", None, error="undecodable: truncated"))
    console = Console(width=250, record=True)

    console.print(records_table("market.quotes", batch))

    text = console.export_text()
    assert text.count("AAPL") == 3
    assert "undecodable: truncated" in text
    assert "185.22" in text


def test_followed_record_line_names_where_it_came_from_and_its_fields() -> None:
    line = record_line(Received("market.quotes", 1, 7, "AAPL", stubs.quote()))
    assert "market.quotes[1]@7" in line
    assert "bid=[bold]185.2[/bold]" in line
    assert "ts_event_us=[bold]2024-01-02T14:30:00.000+00:00[/bold]" in line

"""Working dead letters without a broker: reading the headers, filters, redrive plans, views."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from rich.console import Console

from consumers.deadletter_render import letter_doc, letters_table, redrive_table, tail_view
from consumers.deadletters import (
    DeadLetterFilter,
    StoredDeadLetter,
    decode_marker,
    encode_marker,
    newest,
    plan_redrive,
)
from consumers.render import Received
from streams.deadletter import STAGE
from streams.edge import dead_letter


@dataclass(frozen=True)
class _Raw:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def _stored(
    at: int,
    error_type: str = "DecodeError",
    *,
    source: str = "ns.market.quotes",
    source_offset: int | None = None,
    key: bytes | None = b"AAPL",
    timestamp_ms: int = 1_700_000_000_000,
) -> StoredDeadLetter:
    """A dead letter at deadletter[0]@AT, written the way a stage writes one."""
    offset = at if source_offset is None else source_offset
    raw = _Raw(source, 1, offset, key, b"\x00bad", [("traceparent", b"00-x")])
    out = dead_letter(raw, error_type, f"{error_type} at {at}")
    headers = (*out.headers, (STAGE, b"trading"))
    return StoredDeadLetter(0, at, timestamp_ms, out.key, out.value, headers)


def test_a_stored_dead_letter_reads_its_source_reason_stage_and_original_headers() -> None:
    dead = _stored(5, "KeyMismatch", source_offset=41)

    assert dead.letter is not None
    assert (dead.letter.source_topic, dead.letter.partition, dead.letter.offset) == (
        "ns.market.quotes",
        1,
        41,
    )
    assert (dead.error_type, dead.stage, dead.key_text) == ("KeyMismatch", "trading", "AAPL")
    assert dead.original_headers() == [("traceparent", b"00-x")]
    assert dead.marker_key == b"0/5"


def test_a_record_no_stage_wrote_has_no_letter() -> None:
    dead = StoredDeadLetter(1, 2, 3, None, b"x", (("traceparent", b"00-x"),))

    assert (dead.letter, dead.error_type, dead.key_text) == (None, "", None)


@pytest.mark.parametrize(
    ("reason", "source", "expected"),
    [
        (None, None, [1, 2, 3]),
        ("DecodeError", None, [1, 3]),
        (None, "ns.news.items", [2, 3]),
        ("DecodeError", "ns.news.items", [3]),
        ("decodeerror", None, []),  # error types are class names: exact
        (None, "news.items", []),  # full topic names: the CLI applies the namespace
    ],
)
def test_the_filter_selects_by_reason_and_source(
    reason: str | None, source: str | None, expected: list[int]
) -> None:
    letters = [
        _stored(1, "DecodeError"),
        _stored(2, "LateRecord", source="ns.news.items"),
        _stored(3, "DecodeError", source="ns.news.items"),
    ]

    chosen = DeadLetterFilter(reason=reason, source=source).select(letters)

    assert [d.offset for d in chosen] == expected


def test_a_marker_round_trips_its_key_and_the_dead_letters_timestamp() -> None:
    dead = _stored(9, timestamp_ms=1_234)

    key, value = encode_marker(dead, redriven_at_ms=5_000)

    assert decode_marker(key, value) == (b"0/9", 1_234)
    assert json.loads(value)["source_offset"] == 9
    assert decode_marker(key, None) is None  # a tombstone claims nothing
    assert decode_marker(key, b"not json") is None


def test_the_plan_skips_what_markers_name_and_sends_the_rest_in_source_order() -> None:
    letters = [
        _stored(1, source_offset=30),
        _stored(2, source_offset=10),
        _stored(3, source_offset=20),
        _stored(4, "LateRecord", source_offset=40),
        StoredDeadLetter(0, 5, 1_700_000_000_000, None, b"x", ()),
    ]
    markers = dict([decode_marker(*encode_marker(letters[0], 1))])  # type: ignore[list-item]

    plan = plan_redrive(letters, DeadLetterFilter(), markers)

    assert [d.offset for d in plan.todo] == [2, 3, 4]  # source offsets 10, 20, 40
    assert [d.offset for d in plan.already] == [1]
    assert [d.offset for d in plan.unroutable] == [5]
    assert plan.summary() == [
        ("DecodeError", "ns.market.quotes", 2, 1),
        ("LateRecord", "ns.market.quotes", 1, 0),
    ]


def test_a_marker_for_an_older_dead_letter_at_the_same_offset_does_not_count() -> None:
    # the deadletter topic was deleted and created again: offsets start over
    old, new = _stored(1, timestamp_ms=1_000), _stored(1, timestamp_ms=2_000)
    markers = dict([decode_marker(*encode_marker(old, 1))])  # type: ignore[list-item]

    plan = plan_redrive([new], DeadLetterFilter(), markers)

    assert plan.todo == [new]


def test_a_dead_letter_from_outside_the_namespace_is_not_sent_back() -> None:
    ours, copied = _stored(1), _stored(2, source="market.quotes")  # a live topic

    plan = plan_redrive([ours, copied], DeadLetterFilter(), {}, routes={"ns.market.quotes"})

    assert (plan.todo, plan.unroutable) == ([ours], [copied])


def test_the_public_surface_is_pinned() -> None:
    import consumers.deadletter_reading
    import consumers.deadletter_render
    import consumers.deadletters
    import consumers.redrive

    surfaces = {
        consumers.deadletters: {
            "DeadLetterFilter",
            "RedrivePlan",
            "StoredDeadLetter",
            "decode_marker",
            "encode_marker",
            "newest",
            "plan_redrive",
        },
        consumers.deadletter_render: {
            "letter_doc",
            "letter_json",
            "letters_table",
            "redrive_table",
            "tail_view",
        },
        consumers.deadletter_reading: {"read_dead_letters", "read_markers"},
        consumers.redrive: {"open_redrive_producer", "redrive", "redrive_transactional_id"},
    }
    for module, names in surfaces.items():
        assert set(module.__all__) == names, module.__name__
        assert all(hasattr(module, name) for name in names)


def _text(renderable: object) -> str:
    console = Console(width=250, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_table_shows_key_source_reason_message_and_what_was_redriven() -> None:
    letters = [_stored(1, "DecodeError", source_offset=41), _stored(2, "LateRecord")]

    text = _text(letters_table("deadletter", letters, redriven={b"0/2"}))

    first, second = (line for line in text.splitlines() if "ns.market.quotes" in line)
    assert "AAPL" in first
    assert "ns.market.quotes[1]@41" in first
    assert "DecodeError at 1" in first
    assert "yes" not in first
    assert "LateRecord" in second
    assert "yes" in second


def test_json_has_the_same_facts() -> None:
    doc = letter_doc(_stored(1, "DecodeError", source_offset=41), redriven=False)

    assert doc["key"] == "AAPL"
    assert doc["source"] == {"topic": "ns.market.quotes", "partition": 1, "offset": 41}
    assert doc["error"] == {"type": "DecodeError", "message": "DecodeError at 1"}
    assert (doc["stage"], doc["bytes"], doc["hex"], doc["redriven"]) == (
        "trading",
        4,
        "00626164",
        False,
    )
    assert doc["time"] == "2023-11-14T22:13:20.000+00:00"


def test_the_redrive_summary_counts_per_reason_and_source_with_totals() -> None:
    letters = [_stored(1), _stored(2), _stored(3, "LateRecord")]
    markers = dict([decode_marker(*encode_marker(letters[0], 1))])  # type: ignore[list-item]
    plan = plan_redrive(letters, DeadLetterFilter(), markers)

    text = _text(redrive_table(plan, dry_run=True))

    assert "dry run" in text
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines()]
    rows = {row[0]: row[1:] for row in cells if row}
    assert rows["DecodeError"] == ["ns.market.quotes", "1", "1"]
    assert rows["LateRecord"] == ["ns.market.quotes", "1", "0"]
    assert rows["total"] == ["", "2", "1"]


def test_tail_shows_a_dead_letters_reason_and_source_beside_its_bytes() -> None:
    dead = _stored(1, "KeyMismatch", source_offset=8)
    headers = {k: v.decode() for k, v in dead.headers}
    received = Received("ns.deadletter", 0, 1, "AAPL", {"bytes": 4, "hex": "00626164"}, headers)

    view = tail_view(received).value

    assert view == {
        "key": "AAPL",
        "error": "KeyMismatch",
        "message": "KeyMismatch at 1",
        "source": "ns.market.quotes[1]@8",
        "bytes": 4,
        "hex": "00626164",
    }


def test_every_redrive_of_a_namespace_shares_one_transactional_id() -> None:
    from consumers.redrive import redrive_transactional_id
    from infra.settings import Settings

    def of(namespace: str) -> str:
        return redrive_transactional_id(Settings(_env_file=None, namespace=namespace))  # type: ignore[call-arg]

    assert of("") == "primestream-deadletter-redrive"
    assert of("bt1") == "primestream-bt1-deadletter-redrive"
    assert of("bt1") != of("bt2")


def test_newest_keeps_the_most_recent_in_their_order_and_zero_keeps_all() -> None:
    # Places 0..5; times out of place order (a later offset may be older on another partition).
    letters = [_stored(at, timestamp_ms=t) for at, t in enumerate([50, 10, 40, 20, 60, 30])]

    kept = newest(letters, 3)

    assert [d.offset for d in kept] == [0, 2, 4]  # times 50, 40, 60: in their listed order
    assert newest(letters, 0) == letters
    assert newest(letters, 10) == letters

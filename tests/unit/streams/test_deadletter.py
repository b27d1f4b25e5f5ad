import pytest

from streams.deadletter import STAGE, DeadLetter, original_headers, reason_of


def test_headers_name_the_source_and_the_error_and_keep_the_trace() -> None:
    letter = DeadLetter("market.quotes", 3, 1041, "DecodeError", "unknown magic byte 0x7b")

    headers = letter.headers([("traceparent", b"00-abc-def-01")])

    decoded = {k: v.decode() for k, v in headers}
    assert decoded["deadletter.source.topic"] == "market.quotes"
    assert decoded["deadletter.source.partition"] == "3"
    assert decoded["deadletter.source.offset"] == "1041"
    assert decoded["traceparent"] == "00-abc-def-01"
    assert reason_of(decoded) == ("DecodeError", "unknown magic byte 0x7b")


def test_a_redeadlettered_record_does_not_stack_old_reasons() -> None:
    first = DeadLetter("a", 0, 1, "X", "first").headers()

    second = DeadLetter("b", 0, 2, "Y", "second").headers(first)

    assert [k for k, _ in second].count("deadletter.error.type") == 1
    assert reason_of({k: v.decode() for k, v in second}) == ("Y", "second")


def test_plain_records_have_no_reason() -> None:
    assert reason_of({"traceparent": "x"}) is None


def test_decoded_headers_give_back_the_dead_letter_that_wrote_them() -> None:
    letter = DeadLetter("bt1.market.quotes", 2, 77, "KeyMismatch", "key 'MSFT' does not match")

    decoded = {k: v.decode() for k, v in letter.headers()}

    assert DeadLetter.from_headers(decoded) == letter


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"deadletter.source.partition": "1", "deadletter.source.offset": "2"},
        {
            "deadletter.source.topic": "t",
            "deadletter.source.partition": "one",
            "deadletter.source.offset": "2",
        },
        {"deadletter.source.topic": "t", "deadletter.source.partition": "1"},
    ],
)
def test_headers_without_usable_source_coordinates_are_no_dead_letter(
    headers: dict[str, str],
) -> None:
    assert DeadLetter.from_headers(headers) is None


def test_original_headers_drop_every_deadletter_header_and_keep_the_rest_in_order() -> None:
    stored = [
        *DeadLetter("t", 0, 1, "X", "m").headers([("traceparent", b"00-a-b-01"), ("n", None)]),
        (STAGE, b"trading"),
        ("custom", "v"),
    ]

    assert original_headers(stored) == [("traceparent", b"00-a-b-01"), ("n", b""), ("custom", b"v")]


def test_the_stage_header_is_the_one_the_runtime_writes() -> None:
    from streams.runtime import STAGE_HEADER

    assert STAGE == STAGE_HEADER

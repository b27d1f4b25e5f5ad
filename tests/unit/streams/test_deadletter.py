from streams.deadletter import DeadLetter, reason_of


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

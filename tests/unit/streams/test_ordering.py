import pytest

from streams.ordering import ReorderBuffer


def test_without_grace_records_are_released_as_they_arrive() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer()

    assert buffer.push(10, "a") == (["a"], None)
    assert buffer.push(20, "b") == (["b"], None)


def test_a_record_behind_what_was_released_is_late_with_a_reason() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer()
    buffer.push(20_000, "b")

    released, late = buffer.push(15_000, "a")

    assert released == []
    assert late is not None
    assert late.item == "a"
    assert late.reason == "late: 5 ms behind event time already processed (grace 0 ms)"


def test_grace_window_puts_out_of_order_records_back_in_event_time_order() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(grace_us=5)
    out: list[str] = []

    for ts, item in [(10, "t10"), (13, "t13"), (11, "t11"), (16, "t16"), (22, "t22")]:
        released, late = buffer.push(ts, item)
        assert late is None
        out += released

    # newest 22 - grace 5 = 17: everything up to 16 is out, t22 is held
    assert out == ["t10", "t11", "t13", "t16"]
    assert buffer.flush() == ["t22"]


def test_ties_keep_arrival_order() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(grace_us=1)
    for item in ("x", "y", "z"):
        buffer.push(5, item)

    assert buffer.flush() == ["x", "y", "z"]


@pytest.mark.parametrize("grace", [0, 3])
def test_a_record_equal_to_the_released_time_is_not_late(grace: int) -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(grace_us=grace)
    buffer.push(10, "a")
    buffer.flush()

    _, late = buffer.push(10, "b")

    assert late is None

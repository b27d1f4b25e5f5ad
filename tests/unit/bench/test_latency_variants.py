"""`bench_latency --variant`: how a worker configuration to compare is named and given."""

from __future__ import annotations

import argparse

import pytest

from tests.bench.bench_latency import Variant


def test_a_variant_is_a_name_and_the_settings_it_gives_the_worker() -> None:
    variant = Variant.parse(
        "three:PRIMESTREAM_TRANSACTION_LANES=3,PRIMESTREAM_PRODUCER_LINGER_MS=1"
    )

    assert variant == Variant(
        "three",
        {"PRIMESTREAM_TRANSACTION_LANES": "3", "PRIMESTREAM_PRODUCER_LINGER_MS": "1"},
    )


def test_a_variant_may_change_nothing() -> None:
    assert Variant.parse("defaults:") == Variant("defaults", {}, "thread")


def test_a_variant_may_run_the_readers_in_a_process_of_their_own() -> None:
    variant = Variant.parse("own:readers=process,PRIMESTREAM_TRANSACTION_LANES=3")

    assert variant == Variant("own", {"PRIMESTREAM_TRANSACTION_LANES": "3"}, "process")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lanes:TRANSACTION_LANES=3", "expected PRIMESTREAM_KEY=VALUE"),
        ("lanes:PRIMESTREAM_TRANSACTION_LANES", "expected PRIMESTREAM_KEY=VALUE"),
        (":PRIMESTREAM_TRANSACTION_LANES=3", "needs a name"),
        ("r:readers=fibers", "expected PRIMESTREAM_KEY=VALUE or readers=thread|process"),
    ],
)
def test_a_setting_the_worker_would_not_read_is_refused(text: str, reason: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=reason):
        Variant.parse(text)

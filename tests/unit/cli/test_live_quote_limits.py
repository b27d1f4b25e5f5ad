"""E*TRADE's "too many requests" skips a poll; other refusals still end the quote source."""

from __future__ import annotations

import itertools

import pytest

from cli.live_sources import etrade_quote_source
from infra.settings import Settings
from producers.exceptions import SourceError
from tests.kit.etrade_server import FakeETrade, api_error

T0_SECS = 1_704_205_800  # 2024-01-02 14:30 UTC


def _settings(fake: FakeETrade, tmp_path: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        home=tmp_path,
        etrade_consumer_key="limits-consumer-key",
        etrade_consumer_secret="limits-consumer-secret",
        etrade_access_token="limits-access-token",
        etrade_access_token_secret="limits-access-secret",
        etrade_base_url=fake.url,
    )


def test_a_rate_limited_poll_is_skipped_and_the_next_one_publishes(tmp_path: object) -> None:
    with FakeETrade() as fake:
        fake.set_quote("AAPL", bid=185.0, ask=185.1, bidSize=100, askSize=200,
                       lastTrade=185.05, dateTimeUTC=T0_SECS)  # fmt: skip
        fake.script("quote", api_error("429", "Too many requests", status=429))
        source = etrade_quote_source("etrade:AAPL,poll_secs=0.25", _settings(fake, tmp_path))
        (row,) = itertools.islice(source.records(), 1)
        polls = sum(r.endpoint == "quote" for r in fake.requests)

    assert row.record is not None
    assert row.record["bid"] == 185.0
    assert polls == 2  # the refused one, then the one that published


def test_another_refusal_still_ends_the_source_with_its_reason(tmp_path: object) -> None:
    with FakeETrade() as fake:
        fake.script("quote", api_error("100", "Bad request", status=400))
        source = etrade_quote_source("etrade:AAPL,poll_secs=0.25", _settings(fake, tmp_path))
        with pytest.raises(SourceError, match="E\\*TRADE error 100: Bad request"):
            next(iter(source.records()))

"""The live E*TRADE quote source, wired to the adapter's OAuth session.

Producers do not import the execution layer (the layers are independent), so the CLI,
which may import both, hands the session's `quotes` call to the producer's source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from infra.clock import wall_clock_us
from infra.settings import Settings
from producers.exceptions import FeedUnavailableError, SourceError
from producers.market.etrade import ETradeQuoteSource, parse_symbols_spec
from producers.polling import PollSchedule
from streams.execution.broker import BrokerError, TokenExpiredError
from streams.execution.etrade import config_from_settings
from streams.execution.etrade_auth import session_expired
from streams.execution.etrade_session import ETradeApiError, ETradeSession, VenueServerError

__all__ = ["etrade_quote_source"]


def etrade_quote_source(spec: str, settings: Settings) -> ETradeQuoteSource:
    """Return the `etrade:SYMBOLS[,poll_secs=S]` source; SourceError if SPEC or config is bad."""
    symbols, poll_secs = parse_symbols_spec(spec, spec.partition(":")[2])
    # Quotes need no account: a placeholder key satisfies the adapter's config.
    quote_settings = settings.model_copy(
        update={"etrade_account_id_key": settings.etrade_account_id_key or "-"}
    )
    try:
        session = ETradeSession(config_from_settings(quote_settings), clock=wall_clock_us)
    except BrokerError as err:
        raise SourceError(spec, str(err)) from None

    def fetch(batch: Sequence[str]) -> Mapping[str, Any]:
        try:
            return session.quotes(batch)
        except (requests.RequestException, VenueServerError) as err:
            raise FeedUnavailableError(f"{type(err).__name__}: {err}") from None
        except TokenExpiredError as err:
            raise SourceError(spec, session_expired(str(err))) from None
        except ETradeApiError as err:
            if err.status == 429:  # too many requests: skip to the next poll, not the end
                raise FeedUnavailableError(f"rate limited: {err}") from None
            raise SourceError(spec, str(err)) from None
        except BrokerError as err:  # E*TRADE refused the request itself: it will again
            raise SourceError(spec, str(err)) from None

    return ETradeQuoteSource(fetch, symbols, clock=wall_clock_us, schedule=PollSchedule(poll_secs))

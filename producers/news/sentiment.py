"""VADER sentiment of news text; the analyzer (and its lexicon) is loaded once, on first use.

A company's name is not sentiment, but VADER's general-purpose lexicon scores "amazon"
+0.7, which would make every neutral Amazon headline mildly positive; such names are
taken out of the lexicon.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypedDict

__all__ = ["Sentiment", "score", "score_news"]

_NAMES_WITHOUT_SENTIMENT = ("amazon",)


class Sentiment(TypedDict):
    """VADER scores: `compound` in [-1, 1]; the valence shares in [0, 1], summing to ~1."""

    compound: float
    positive: float
    neutral: float
    negative: float


@cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    for name in _NAMES_WITHOUT_SENTIMENT:
        analyzer.lexicon.pop(name, None)
    return analyzer


def score(text: str) -> Sentiment:
    """Return the VADER sentiment of TEXT."""
    scores = _analyzer().polarity_scores(text)
    return {
        "compound": float(scores["compound"]),
        "positive": float(scores["pos"]),
        "neutral": float(scores["neu"]),
        "negative": float(scores["neg"]),
    }


def score_news(headline: str, body: str | None = None) -> Sentiment:
    """Return the sentiment of a news item: its HEADLINE, followed by its BODY if any."""
    return score(headline if not body else f"{headline}\n{body}")

"""The backtest report's page as headless Chromium renders it: chart, tables, pixels.

No broker: this builds a report from synthetic fills and prices and opens its HTML file.
Skips without Chromium, except in CI (CI=true), where it fails (see tests.kit.browser).
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from consumers.backtest_metrics import BacktestMetrics
from consumers.backtest_report import BacktestInput, BacktestReport, write_report
from tests.kit import stubs
from tests.kit.browser import RenderedReport, render_report, require_browser

_DAY = 86_400_000_000


@pytest.fixture(scope="module")
def browser() -> None:
    require_browser()


def _synthetic_input() -> BacktestInput:
    """Sixty daily closes on a wave with a drift, and five round trips of 10 shares."""
    closes = [100.0 + 8.0 * math.sin(day / 4) + 0.25 * day for day in range(60)]
    prices = [(stubs.T0_US + day * _DAY, "ACME", close) for day, close in enumerate(closes)]
    fills: list[dict[str, Any]] = []
    for trip, (opened, closed) in enumerate([(2, 8), (14, 20), (27, 33), (39, 46), (51, 57)]):
        for leg, (side, day) in enumerate((("BUY", opened), ("SELL", closed))):
            fill_id = f"f-{trip}-{leg}"
            fills.append(
                stubs.fill(
                    "ACME",
                    id=fill_id,
                    order_id=f"o-{fill_id}",
                    side=side,
                    qty=10.0,
                    price=Decimal(f"{closes[day]:.2f}"),
                    fee=Decimal("1.00"),
                    ts_event_us=stubs.T0_US + day * _DAY,
                )
            )
    return BacktestInput(
        title="SMA cross on ACME (synthetic)",
        fills=fills,
        prices=prices,
        initial_capital=10_000.0,
        strategy_config="strategies/sma_cross.toml",
    )


@pytest.fixture(scope="module")
def rendered(
    browser: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BacktestReport, RenderedReport, Path]:
    # One browser run for both tests: starting Chromium takes seconds.
    directory = tmp_path_factory.mktemp("browser")
    report = write_report(_synthetic_input(), directory / "report")
    screenshot = directory / "screenshot.png"
    return report, render_report(report.report_html, screenshot), screenshot


def test_chromium_decodes_the_chart_and_shows_every_row(
    rendered: tuple[BacktestReport, RenderedReport, Path],
) -> None:
    report, page, _ = rendered

    assert page.chart_width > 0
    assert page.chart_height > 0
    with Image.open(report.chart_png) as chart:
        assert (page.chart_width, page.chart_height) == chart.size
    assert page.metrics_rows == len(dataclasses.fields(BacktestMetrics))
    assert page.trades_rows == report.fills == 10
    assert page.title == "SMA cross on ACME (synthetic)"


def test_the_screenshot_shows_a_drawn_page(
    rendered: tuple[BacktestReport, RenderedReport, Path],
) -> None:
    _, _, screenshot = rendered

    with Image.open(screenshot) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)

    assert width >= 1_000
    assert height >= 1_000
    assert colours is not None
    assert len(colours) > 50  # text, chart lines, fills and table bands: not a blank page

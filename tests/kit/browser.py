"""Open a report in a real headless Chromium and read back what a person would see.

Selenium drives Debian's chromium through its chromedriver, both given by path, so
Selenium Manager never looks for (or downloads) a driver, and Chromium's own background
traffic is switched off: rendering a report needs no network. Without a browser a test
skips, except in CI (CI=true), where it fails with how to install one.
"""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMEDRIVER",
    "CHROMIUM",
    "RenderedReport",
    "browser_available",
    "render_report",
    "require_browser",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
_INSTALL = "apt-get install chromium chromium-driver"
_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2000",
)
_PAGE_LOAD_SECS = 60
_READ_PAGE = """
const chart = document.getElementById("equity-chart");
return {
  complete: chart !== null && chart.complete,
  width: chart === null ? 0 : chart.naturalWidth,
  height: chart === null ? 0 : chart.naturalHeight,
  metrics: document.querySelectorAll("#metrics tbody tr").length,
  trades: document.querySelectorAll("#trades tbody tr").length,
  title: document.title,
};
"""


@dataclass(frozen=True)
class RenderedReport:
    """What Chromium made of a report page: the decoded chart's size and the row counts."""

    chart_width: int
    chart_height: int
    metrics_rows: int
    trades_rows: int
    title: str


def _missing() -> str | None:
    """Return why no browser can be driven here, or None when one can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return f"{path} is missing (install it: {_INSTALL})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def browser_available() -> bool:
    """Return True when headless Chromium, its chromedriver and selenium are all here."""
    return _missing() is None


def require_browser() -> None:
    """Skip the calling test when there is no browser, or fail it when CI=true."""
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs headless Chromium for the report tests: {reason}", pytrace=False)
    pytest.skip(f"no headless Chromium: {reason}")


def _full_page_png(driver: Any) -> bytes:
    """Return a screenshot of the whole page, beyond the window, through DevTools."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip},
    )
    return base64.b64decode(shot["data"])


def render_report(html: Path, screenshot: Path) -> RenderedReport:
    """Open HTML in headless Chromium, save a full-page SCREENSHOT (PNG), read the page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Chromium may still be flushing its profile as it exits; a leftover temp dir is harmless.
    with tempfile.TemporaryDirectory(
        prefix="primestream-chromium-", ignore_cleanup_errors=True
    ) as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (*_ARGUMENTS, f"--user-data-dir={profile}"):
            options.add_argument(argument)
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        try:
            driver.set_page_load_timeout(_PAGE_LOAD_SECS)
            driver.get(html.resolve().as_uri())  # returns after the load event: images decoded
            # selenium leaves execute_script unannotated; the script returns a plain object.
            page = driver.execute_script(_READ_PAGE)  # type: ignore[no-untyped-call]
            screenshot.write_bytes(_full_page_png(driver))
        finally:
            driver.quit()
    if not page["complete"]:
        raise AssertionError(f"the chart of {html} had not finished loading")
    return RenderedReport(
        chart_width=int(page["width"]),
        chart_height=int(page["height"]),
        metrics_rows=int(page["metrics"]),
        trades_rows=int(page["trades"]),
        title=str(page["title"]),
    )

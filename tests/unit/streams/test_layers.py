"""The trading core loads no stream framework: importing it in a fresh interpreter proves it."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORK = ("faust", "mode", "aiokafka", "confluent_kafka", "streams.runtime")


def test_importing_the_trading_core_loads_no_stream_framework_or_kafka_client() -> None:
    probe = (
        "import sys, streams.trading.core; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORK!r} "
        "or m.startswith('streams.runtime')))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"

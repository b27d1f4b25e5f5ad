"""The order-control commands' own logic: which positions flatten sends, refused arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.risk_commands import held_positions
from consumers.render import Received

CLI = str(Path(sys.executable).with_name("primestream"))


def _position(partition: int, symbol: str, qty: float, account: str = "default") -> Received:
    value = {"account": account, "symbol": symbol, "qty": qty}
    return Received("positions", partition, 0, f"{account}|{symbol}", value)


def test_held_positions_take_the_latest_record_and_sum_accounts() -> None:
    received = [
        _position(0, "ACME", 100.0),
        _position(1, "BETA", -5.0),
        _position(0, "ACME", 30.0),  # later: wins
        _position(0, "ACME", 20.0, account="hedge"),
        _position(1, "GONE", 10.0),
        _position(1, "GONE", 0.0),
        Received("positions", 1, 9, "x", None, error="undecodable"),
    ]

    assert held_positions(received) == {"ACME": (50.0, 0), "BETA": (-5.0, 1)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["orders", "cancel"], "name one order id, or --all"),
        (["orders", "cancel", "sig-1:AAPL", "--all"], "name one order id, or --all"),
        (
            ["produce", "market", "--source", "etrade:AAPL"],
            "etrade:AAPL: live trading on E*TRADE needs PRIMESTREAM_ETRADE_CONSUMER_KEY",
        ),
        (["produce", "market", "--source", "etrade:AAPL,poll_secs=0.01"], "at least 0.25"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env["PRIMESTREAM_HOME"] = str(tmp_path)
    done = subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert message in " ".join(done.stderr.split())  # rich may wrap the one line

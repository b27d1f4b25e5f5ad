"""A file no layout fits is one `error:` line and exit 2, before any broker is needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.strategies.config import EXAMPLES_DIR

_CLI = str(Path(sys.executable).with_name("primestream"))
_TOML = str(EXAMPLES_DIR / "backtest_smacross_parity.toml")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_CLI, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("header", "extra", "says"),
    [
        ("when,price", (), "(found: 'when', 'price'; expected for bars: symbol (or --symbol), "),
        ("Date,Open,High,Low,Close,Volume", ("--tz", "Mars/Olympus"), "unknown time zone"),
    ],
)
def test_backtest_refuses_an_unusable_file_in_one_line(
    tmp_path: Path, header: str, extra: tuple[str, ...], says: str
) -> None:
    data = tmp_path / "bars.csv"
    data.write_text(header + "\n2024-01-02,1,2,1,2,5\n")

    done = _run(
        "backtest", "--data", str(data), *extra, "--strategies", _TOML, "--out", str(tmp_path)
    )

    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert says in lines[0]


def test_layout_options_on_a_sample_are_refused(tmp_path: Path) -> None:
    done = _run(
        "backtest", "--data", "sample:GOOG", "--symbol", "GOOG", "--strategies", _TOML,
        "--out", str(tmp_path),
    )  # fmt: skip

    assert done.returncode == 2
    assert "are for csv: and parquet: files" in done.stderr

"""`primestream namespaces use`: the namespace commands read when PRIMESTREAM_NAMESPACE is unset."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from infra.settings import chosen_namespace, get_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PRIMESTREAM_HOME", str(tmp_path))
    monkeypatch.delenv("PRIMESTREAM_NAMESPACE", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_use_sets_the_namespace_every_command_reads(home: Path) -> None:
    result = CliRunner().invoke(app, ["namespaces", "use", "demo20261205"])

    assert result.exit_code == 0, result.output
    assert chosen_namespace(home) == "demo20261205"
    assert get_settings().namespace == "demo20261205"
    assert get_settings().topic("signals") == "demo20261205.signals"


def test_the_environment_wins_over_the_chosen_namespace(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CliRunner().invoke(app, ["namespaces", "use", "demo1"])
    monkeypatch.setenv("PRIMESTREAM_NAMESPACE", "bt7")
    get_settings.cache_clear()

    assert get_settings().namespace == "bt7"


def test_clear_goes_back_to_the_live_topics(home: Path) -> None:
    CliRunner().invoke(app, ["namespaces", "use", "demo1"])
    result = CliRunner().invoke(app, ["namespaces", "use", "--clear"])

    assert result.exit_code == 0, result.output
    assert chosen_namespace(home) is None
    assert get_settings().namespace == ""
    assert get_settings().topic("signals") == "signals"


@pytest.mark.parametrize(
    "args",
    [["namespaces", "use"], ["namespaces", "use", "a.b"], ["namespaces", "use", "x", "--clear"]],
)
def test_use_refuses_nonsense_with_one_line(home: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2
    assert chosen_namespace(home) is None


def test_a_bad_setting_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env |= {"PRIMESTREAM_HOME": str(tmp_path), "PRIMESTREAM_KAFKA_PORT": "abc"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "primestream"), "infra", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "PRIMESTREAM_KAFKA_PORT" in lines[0]
    assert "'abc'" in lines[0]
    assert "Traceback" not in done.stderr

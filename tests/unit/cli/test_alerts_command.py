"""`primestream alerts test` posts to real local receivers; bad configuration is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.kit.webhook_receiver import free_port, receiving

_CLI = str(Path(sys.executable).with_name("primestream"))


def _run(*args: str, urls: list[str] | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env["PRIMESTREAM_HOME"] = os.environ["PRIMESTREAM_HOME"]  # the test's own (conftest)
    if urls is not None:
        env["PRIMESTREAM_ALERT_WEBHOOK_URLS"] = json.dumps(urls)
    env["PRIMESTREAM_ALERT_TIMEOUT_SECS"] = "3"
    return subprocess.run(
        [_CLI, "alerts", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_test_notice_reaches_every_webhook_in_its_format() -> None:
    with receiving() as slack, receiving() as plain:
        done = _run("test", "--message", "hello", urls=[f"slack:{slack.url}", plain.url])

    assert done.returncode == 0, done.stderr
    assert slack.received() == [{"text": "[INFO] Test alert: hello"}]
    assert [(b["kind"], b["text"]) for b in plain.received()] == [("test", "hello")]


def test_a_webhook_that_does_not_answer_makes_the_test_exit_1() -> None:
    with receiving() as up:
        done = _run("test", urls=[up.url, f"http://127.0.0.1:{free_port()}/down"])

    assert done.returncode == 1
    assert "delivered" in done.stdout
    assert "failed" in done.stdout
    assert len(up.received()) == 1


def test_no_webhook_is_one_error_line() -> None:
    done = _run("run", urls=None)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: no webhook configured: set PRIMESTREAM_ALERT_WEBHOOK_URLS='[\"https://...\"]'"
    ]


def test_a_webhook_that_is_not_a_url_is_one_error_line() -> None:
    done = _run("test", urls=["hooks.example/x"])

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: alert webhook 'hooks.example/x' is not an http(s) URL"
    ]

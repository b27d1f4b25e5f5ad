"""Every shell block of the README runs, in order, as a reader would paste it.

The blocks run from a scratch directory that links the checkout's files (so `.venv/bin`,
`make` and the sample paths resolve and what the blocks write stays out of the tree),
each in its own `bash -e -o pipefail`, with a fresh PRIMESTREAM_HOME pointed at the
session's broker and registry (so `make demo` and `infra up` start only what is missing:
Zipkin). Background workers a block starts keep running for the blocks after it, as in a
reader's terminal; `infra down` stops them at the end. A block that cannot run here is
marked in the README with what it needs (tests/kit/readme.py); a unit test keeps that
honest. The demo runs shorter (DEMO_ARGS, read by the Makefile).

The live day runs against the local fake E*TRADE server (PRIMESTREAM_ETRADE_BASE_URL), with
the tokens `etrade auth --verifier` stores (the fake plays the browser step the README's
skipped block needs), in a home of its own: its `infra down` would stop the desk the
other blocks go on with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import Endpoints
from tests.kit.etrade_server import FakeETrade
from tests.kit.readme import README, CommandBlock, command_blocks
from tests.kit.webhook_receiver import WebhookReceiver, receiving

_BLOCK_TIMEOUT_SECS = 300.0
# What a block's output must show besides its exit code 0: (a line of the block, a text).
_EXPECTED = [
    ("make demo   #", "commands now read namespace demo"),
    ("primestream namespaces list", "* demo"),
    ("tail fills --from-beginning --max 5 -o json", '"side"'),
    ("primestream pnl                          #", "TOTAL"),
    ("tail alerts --from-beginning --follow --max 3 -o json", '"topic": "mydesk.alerts"'),
    ("curl -s http://127.0.0.1:6067/ready                #", '"ready":true'),
    ("worker --strategies my.toml", "research.signals"),  # its tail of signals
    ("tail orders --from-beginning --follow --max 5", "paper1.orders"),
    ("curl -s http://127.0.0.1:6067/metrics", "primestream"),
    ("etrade reconcile            #", "positions agree"),  # ours and the fake's: both flat
    ('risk kill --reason "desk halt"   # no new orders', "kill switch tripped"),
    ("orders cancel --all", "cancel of every open order sent to the live worker"),
    ("risk kill --keep-orders", "kill switch tripped"),
    ("risk flatten AAPL  ", "no open position to flatten"),
]
_LIVE_DAY = "etrade reconcile"  # the line that marks the live day's block
_CHECKOUT = README.parent
# Blocks that start a broker of another kind run as on a machine of their own: a fresh
# home, free ports, not the session's broker (`infra down` in them stops only theirs).
# They keep the session's registry (plain HTTP, in memory, no broker's: a secured broker
# shares it in test_secured_broker.py too), so their `infra up` starts only their brokers,
# as the other blocks' `infra up` finds the registry up (the session's start, infra.local.up,
# is the registry start `infra up` runs).
_OWN_INFRA = ("infra up --secure", "infra up --brokers")
_FAILED = "FAILED:"  # how _run marks the output of a block that exited non-zero
# Each command of a block, with the time it started, to block-<line>.trace beside its output.
_TRACED = "exec 19>'{trace}'; BASH_XTRACEFD=19; PS4='+ $EPOCHREALTIME '; set -x\n"


@pytest.fixture
def reader(tmp_path: Path, endpoints: Endpoints) -> Iterator[tuple[Path, dict[str, str]]]:
    """A reader's terminal: a scratch directory and the environment of the session broker."""
    cwd = tmp_path / "reader"
    cwd.mkdir()
    for entry in _CHECKOUT.iterdir():
        if entry.name not in (".git", "build"):
            (cwd / entry.name).symlink_to(entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env |= {
        "PRIMESTREAM_HOME": str(tmp_path / "home"),
        "PRIMESTREAM_BOOTSTRAP_SERVERS": endpoints.bootstrap_servers,
        "PRIMESTREAM_TRACING_PORT": "0",
        "DEMO_ARGS": "--quotes 5000",
        "COLUMNS": "200",
    }
    if endpoints.schema_registry_url:
        env["PRIMESTREAM_SCHEMA_REGISTRY_URL"] = endpoints.schema_registry_url
    try:
        yield cwd, env
    finally:
        # every home a block used (the session's, its own, one a block exported), together
        states = [*tmp_path.glob("*/run/state.json"), *tmp_path.glob("reader/*/run/state.json")]
        downs = [
            subprocess.Popen(
                [".venv/bin/primestream", "infra", "down"],
                cwd=cwd,
                env=env | {"PRIMESTREAM_HOME": str(home)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for home in {state.parent.parent for state in states}
        ]
        for down in downs:
            down.wait(180)


@pytest.fixture
def venue() -> Iterator[tuple[FakeETrade, WebhookReceiver]]:
    """The fake E*TRADE the live day trades at (quoting AAPL and MSFT), and its alerts' hook."""
    with FakeETrade() as fake, receiving() as hook:
        for symbol, mid in (("AAPL", 190.0), ("MSFT", 410.0)):
            fake.set_quote(symbol, bid=mid - 0.01, ask=mid + 0.01, bidSize=100, askSize=100,
                           lastTrade=mid, dateTimeUTC=1_704_205_800)  # fmt: skip
        yield fake, hook


def _live_day_env(
    env: dict[str, str], cwd: Path, venue: tuple[FakeETrade, WebhookReceiver]
) -> dict[str, str]:
    """The live day's terminal: the skipped morning block's exports, pointed at the fake, and
    the tokens its `etrade auth` would store (the fake answers the browser step)."""
    fake, hook = venue
    live = env | {
        "PRIMESTREAM_HOME": str(cwd.parent / "home-live"),
        "PRIMESTREAM_ETRADE_CONSUMER_KEY": "ck-readme",
        "PRIMESTREAM_ETRADE_CONSUMER_SECRET": "cs-readme",
        "PRIMESTREAM_ETRADE_ACCOUNT_ID_KEY": fake.account_id_key,
        "PRIMESTREAM_ETRADE_BASE_URL": fake.url,
        "PRIMESTREAM_ALERT_WEBHOOK_URLS": json.dumps([f"json:{hook.url}"]),
    }
    auth = subprocess.run(
        [".venv/bin/primestream", "etrade", "auth", "--verifier", fake.verifier],
        cwd=cwd, env=live, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert auth.returncode == 0, auth.stdout + auth.stderr
    return live


def _env_for(block: CommandBlock, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Return ENV, or for a block that starts its own kind of broker, a machine of its own."""
    if not any(command in block.script for command in _OWN_INFRA):
        return env
    own = {k: v for k, v in env.items() if k != "PRIMESTREAM_BOOTSTRAP_SERVERS"}
    own |= {
        "PRIMESTREAM_HOME": str(cwd.parent / f"home-{block.line}"),
        "PRIMESTREAM_KAFKA_PORT": "0",
        "PRIMESTREAM_REGISTRY_PORT": "0",  # with no session registry, theirs starts
    }
    return own


def _run(block: CommandBlock, cwd: Path, env: dict[str, str]) -> str:
    """Run BLOCK; return its output (marked _FAILED if it exited non-zero), so one run of the
    test names every block that fails. To a file, not a pipe: workers it leaves inherit it.
    """
    log, trace = cwd / f"block-{block.line}.out", cwd / f"block-{block.line}.trace"
    print(f"running {block}", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        shell = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", _TRACED.format(trace=trace) + block.script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so a block that hangs goes with what it started
        )
        try:
            code: int | str = shell.wait(_BLOCK_TIMEOUT_SECS)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
            code = f"nothing: still running after {_BLOCK_TIMEOUT_SECS:g} s"
    print(f"{block}: exit {code} after {time.monotonic() - started:.1f} s", flush=True)
    output = log.read_text(errors="replace")
    if code != 0:
        return f"{_FAILED} {block} exited {code}:\n{output[-3000:]}"
    return output


@pytest.mark.timeout(1200)
def test_every_readme_block_runs(
    reader: tuple[Path, dict[str, str]], venue: tuple[FakeETrade, WebhookReceiver]
) -> None:
    cwd, env = reader
    blocks = [b for b in command_blocks(README.read_text()) if b.skip is None]
    live = _live_day_env(env, cwd, venue)
    outputs = {
        block.line: _run(
            block, cwd, live if _LIVE_DAY in block.script else _env_for(block, env, cwd)
        )
        for block in blocks
    }

    failed = [out for out in outputs.values() if out.startswith(_FAILED)]
    assert not failed, "\n\n".join(failed)
    reached = venue[0].endpoints()
    assert reached.count("portfolio") >= 2, "`etrade reconcile`, then the live worker's own"
    assert "quote" in reached, "the etrade: feed polled the fake"

    for line, text in _EXPECTED:
        holding = [b for b in blocks if line in b.script]
        assert len(holding) == 1, f"{len(holding)} README blocks run {line!r}, expected one"
        (block,) = holding
        assert text in outputs[block.line], f"{block}: {line!r} did not show {text!r}"

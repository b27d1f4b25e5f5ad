"""The tracing backend's pure parts: Zipkin settings, its URLs, reading a trace, state file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import local
from infra.process import ServiceRecord, marker_args
from infra.settings import Settings
from infra.telemetry import setup_tracing
from infra.trace_reader import parse_zipkin_trace, path_to_root, stage_of
from infra.tracing_backend import spans_url, trace_ui_url, ui_url, zipkin_system_properties

_TRACE = "0af7651916cd43dd8448eb211c80319c"


def _span(span_id: str, parent: str | None, name: str, ts: int, **tags: str) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": _TRACE,
        "id": span_id,
        "name": name,
        "kind": "CONSUMER",
        "timestamp": ts,
        "duration": 3,
        "localEndpoint": {"serviceName": "primestream"},
        "tags": tags,
    }
    if parent is not None:
        span["parentId"] = parent
    return span


def test_zipkin_listens_on_loopback_only_and_takes_spans_over_http_only() -> None:
    properties = zipkin_system_properties(port=19411)

    assert properties["armeria.ports[0].ip"] == "127.0.0.1"
    assert properties["armeria.ports[0].port"] == "19411"
    assert properties["zipkin.storage.type"] == "mem"
    assert properties["zipkin.collector.kafka.enabled"] == "false"
    assert properties["zipkin.collector.grpc.enabled"] == "false"


def test_urls_of_the_backend() -> None:
    address = "http://127.0.0.1:9411/"

    assert ui_url(address) == "http://127.0.0.1:9411/zipkin/"
    assert trace_ui_url(address, _TRACE) == f"http://127.0.0.1:9411/zipkin/traces/{_TRACE}"
    assert spans_url(address) == "http://127.0.0.1:9411/api/v2/spans"


def test_a_zipkin_trace_parses_into_spans_by_start_time_and_walks_to_its_root() -> None:
    payload = json.loads(
        json.dumps(
            [
                _span("c", "b", "fill t.market.quotes", 30, symbol="ACME"),
                _span("a", None, "send t.market.quotes", 10),
                _span("b", "a", "order t.market.quotes", 20),
                _span("d", "c", "position t.market.quotes", 40),
            ]
        )
    )

    spans = parse_zipkin_trace(payload)

    assert [s.span_id for s in spans] == ["a", "b", "c", "d"]
    assert [stage_of(s) for s in path_to_root(spans, "c")] == ["send", "order", "fill"]
    assert spans[2].tags == {"symbol": "ACME"}
    assert spans[0].parent_id is None
    assert spans[0].service == "primestream"
    assert path_to_root(spans, "zz") == []
    assert [s.span_id for s in path_to_root(spans[1:], "c")] == ["b", "c"]  # root missing


@pytest.mark.parametrize("payload", [{"traceId": _TRACE}, [{"name": "x"}], "[]"])
def test_what_is_not_a_zipkin_trace_is_refused(payload: object) -> None:
    with pytest.raises(ValueError, match="Zipkin"):
        parse_zipkin_trace(payload)


def test_zipkin_is_an_exporter_choice() -> None:
    settings = Settings(_env_file=None, tracing_exporter="zipkin")  # type: ignore[call-arg]

    tracing = setup_tracing(settings)

    assert tracing is not None
    tracing.shutdown()


def _settings(home: Path) -> Settings:
    return Settings(_env_file=None, home=home, bootstrap_servers=None)  # type: ignore[call-arg]


def test_the_tracing_backend_is_listed_only_once_it_has_run_in_the_home(tmp_path: Path) -> None:
    assert [s.name for s in local.status(_settings(tmp_path))] == ["kafka", "registry"]
    assert local.down(_settings(tmp_path)) == ["kafka: not running", "registry: not running"]

    stale = ServiceRecord(
        name="tracing",
        pid=2**22 + 1,  # above the default pid_max: never a live process
        address="http://127.0.0.1:19411",
        ports={"http": 19411},
        started_at="2026-01-02T03:04:05+00:00",
        log_path=tmp_path / "tracing" / "tracing.log",
        version="3.6.1",
        markers=tuple(marker_args(tmp_path, "tracing")),
    )
    local.save_state(local.state_path(tmp_path), {"tracing": stale})

    statuses = local.status(_settings(tmp_path))
    lines = local.down(_settings(tmp_path))

    assert [(s.name, s.running) for s in statuses][-1] == ("tracing", False)
    assert lines[-1].startswith("tracing: not running")
    assert local.load_state(local.state_path(tmp_path)) == {}
